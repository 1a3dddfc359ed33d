package command

import (
	"testing"

	"github.com/orch-io/orch/internal/structstest"
	"github.com/orch-io/orch/structs"
)

// TestNodeMetaApplyMeetsAConstraint: a job constrained on ${meta.rack} =
// r8 waits (no node has it) until `orch node meta apply rack=r8`, then
// runs; read shows the three views; -unset removes the key.
func TestNodeMetaApplyMeetsAConstraint(t *testing.T) {
	a := startClientAgent(t)
	job := structstest.Job("on-r8")
	job.Constraints = []*structs.Constraint{{LTarget: "${meta.rack}", RTarget: "r8", Operand: "="}}
	a.register(t, job)
	running := func() bool {
		allocs, _, err := a.API.Jobs().Allocations("on-r8", nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, al := range allocs {
			if al.ClientStatus == structs.AllocClientStatusRunning {
				return true
			}
		}
		return false
	}
	waitFor(t, "the job's evaluation to block", func() bool {
		evals, _, err := a.API.Jobs().Evaluations("on-r8", nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evals {
			if e.Status == structs.EvalStatusBlocked {
				return true
			}
		}
		return false
	})
	if running() {
		t.Fatal("the job runs before any node has rack r8")
	}

	r := runCLI(t, "node", "meta", "apply", "-address", a.addr, "rack=r8", "zone=a")
	if r.code != 0 {
		t.Fatalf("apply: exit %d: %s", r.code, r.stderr)
	}
	waitFor(t, "the job to run on the node with rack r8", running)

	r = runCLI(t, "node", "meta", "read", "-address", a.addr, "-node-id", a.NodeID[:8])
	if r.code != 0 {
		t.Fatalf("read: exit %d: %s", r.code, r.stderr)
	}
	mustContain(t, "read", r.stdout, "All Meta\n", "rack = r8\n", "Dynamic Meta\n", "Static Meta\n")

	if r := runCLI(t, "node", "meta", "apply", "-address", a.addr, "-unset", "zone"); r.code != 0 {
		t.Fatalf("unset: exit %d: %s", r.code, r.stderr)
	}
	n, _, err := a.API.Nodes().Info(a.NodeID, nil)
	if err != nil || n.Meta["zone"] != "" || n.Meta["rack"] != "r8" {
		t.Errorf("node meta on the servers after unset: %v %v", n.Meta, err)
	}
	for _, args := range [][]string{{"novalue"}, {"bad key=x"}, {}} {
		if r := runCLI(t, append([]string{"node", "meta", "apply", "-address", a.addr}, args...)...); r.code == 0 {
			t.Errorf("apply %v: exit 0", args)
		}
	}
}
