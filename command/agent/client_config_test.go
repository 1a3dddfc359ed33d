package agent_test

import (
	"testing"
	"time"

	"github.com/orch-io/orch/command/agent"
	"github.com/orch-io/orch/internal/agenttest"
	"github.com/orch-io/orch/internal/structstest"
	"github.com/orch-io/orch/structs"
)

// The client block's node_class, meta and reserved reach the registered
// node: a ${meta.rack} constraint is met by the node whose meta says so and
// not otherwise, and the reserved resources are held back.
func TestClientConfigReachesTheNode(t *testing.T) {
	a := agenttest.Start(t, agenttest.Options{Client: true, Configure: func(c *agent.Config) {
		c.Client.NodeClass = "edge"
		c.Client.Meta = map[string]string{"rack": "r7"}
		c.Client.ReservedCPU, c.Client.ReservedMemoryMB, c.Client.ReservedDiskMB = 300, 200, 100
	}})
	n, _, err := a.API.Nodes().Info(a.NodeID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n.NodeClass != "edge" || n.Meta["rack"] != "r7" {
		t.Errorf("node class %q, meta %v", n.NodeClass, n.Meta)
	}
	if r := n.ReservedResources; r == nil || r.CPU != 300 || r.MemoryMB != 200 || r.DiskMB != 100 {
		t.Errorf("reserved = %+v", r)
	}

	job := structstest.Job("on-r7")
	job.Constraints = []*structs.Constraint{{LTarget: "${meta.rack}", RTarget: "r7", Operand: "="},
		{LTarget: "${node.class}", RTarget: "edge", Operand: "="}}
	if _, err := a.API.Jobs().Register(job); err != nil {
		t.Fatal(err)
	}
	waitRunning(t, a, "on-r7")

	job = structstest.Job("on-r8")
	job.Constraints = []*structs.Constraint{{LTarget: "${meta.rack}", RTarget: "r8", Operand: "="}}
	if _, err := a.API.Jobs().Register(job); err != nil {
		t.Fatal(err)
	}
	waitFiltered(t, a, "on-r8", "${meta.rack} = r8")
}

// waitFiltered waits for an evaluation of jobID whose group "web" failed
// placement with its one node filtered for reason.
func waitFiltered(t *testing.T, a *agenttest.Agent, jobID, reason string) {
	t.Helper()
	err := agenttest.WaitFor(30*time.Second, func() (bool, string) {
		evals, _, err := a.API.Jobs().Evaluations(jobID, nil)
		if err != nil {
			return false, err.Error()
		}
		for _, e := range evals {
			if f := e.FailedTGAllocs["web"]; f != nil && f.ConstraintFiltered[reason] == 1 {
				return true, ""
			}
		}
		return false, "no evaluation of " + jobID + " that failed placement for " + reason
	})
	if err != nil {
		t.Fatal(err)
	}
}

// raw_exec disabled (the default outside -dev): a job that needs it is not
// placed, for missing drivers; the node does not offer the driver.
func TestRawExecDisabledIsAMissingDriver(t *testing.T) {
	a := agenttest.Start(t, agenttest.Options{Client: true, Configure: func(c *agent.Config) {
		c.Plugins.RawExec = false
	}})
	n, _, err := a.API.Nodes().Info(a.NodeID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := n.Drivers["raw_exec"]; ok || n.Attributes["driver.raw_exec"] != "" {
		t.Errorf("a node with raw_exec disabled offers it: %v", n.Drivers)
	}
	if _, err := a.API.Jobs().Register(structstest.Job("needs-raw-exec")); err != nil {
		t.Fatal(err)
	}
	waitFiltered(t, a, "needs-raw-exec", "missing drivers")
}
