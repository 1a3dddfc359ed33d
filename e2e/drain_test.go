package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/orch-io/orch/structs"
)

// sleepTask is a small raw_exec task that sleeps for an hour.
const sleepTask = `    task "sleep" {
      driver = "raw_exec"
      config {
        command = "/bin/sleep"
        args    = ["3600"]
      }
      resources {
        cpu    = 50
        memory = 32
      }
    }`

// A 2-client cluster: `node drain -enable -yes -deadline 1m` on the first
// client moves a count-4 service (migrate max_parallel 2) to the second,
// stops the system job's allocation there last, and reports complete only
// once every process of the drained node is gone.
func TestDrainMovesServiceAndStopsSystemLast(t *testing.T) {
	a := startDevAgent(t, t.TempDir(), freePorts(t))
	startAgent(t, t.TempDir(), freePorts(t), "-client", "-servers", fmt.Sprintf("127.0.0.1:%d", a.ports[1]), "-node", "e2e-second")
	var nodes []*structs.NodeListStub
	a.waitFor("two ready nodes", 30*time.Second, func() (bool, error) {
		if err := a.get("/v1/nodes", &nodes); err != nil {
			return false, err
		}
		ready := 0
		for _, n := range nodes {
			if n.Status == structs.NodeStatusReady {
				ready++
			}
		}
		return ready == 2, nil
	})
	drained := nodes[0].ID
	if nodes[0].Name != "e2e-node" {
		drained = nodes[1].ID
	}

	dir := t.TempDir()
	write := func(name, src string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	web := write("web.hcl", `job "web" {
  group "web" {
    count = 4
    migrate {
      max_parallel     = 2
      min_healthy_time = "1s"
    }
`+sleepTask+`
  }
}`)
	sys := write("agent.hcl", `job "agent" {
  type = "system"
  group "agent" {
`+sleepTask+`
  }
}`)
	for _, p := range []string{web, sys} {
		if out, stderr, code := a.orch("job", "run", p); code != 0 {
			t.Fatalf("job run %s: exit %d\n%s\n%s", p, code, out, stderr)
		}
	}
	a.waitFor("4 web and 2 agent allocations running", 30*time.Second, func() (bool, error) {
		var w, s []*structs.AllocListStub
		if err := a.get("/v1/job/web/allocations", &w); err != nil {
			return false, err
		}
		if err := a.get("/v1/job/agent/allocations", &s); err != nil {
			return false, err
		}
		return len(runningAllocs(w)) == 4 && len(runningAllocs(s)) == 2, nil
	})
	var before []*structs.AllocListStub
	if err := a.get("/v1/allocations", &before); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, orchBin, "node", "drain", "-enable", "-yes", "-deadline", "1m", drained)
	cmd.Env = append(os.Environ(), "ORCH_ADDR="+a.addr())
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("node drain: %v\n%s", err, out.String())
	}
	monitor := out.String()
	t.Logf("drain monitor:\n%s", monitor)
	mustContain(t, "drain monitor", monitor, "Drain enabled for node", "marked for migration", "replaced by",
		fmt.Sprintf("Drain complete for node %q", structs.ShortID(drained)))

	// Every process of the drained node's allocations is gone, and the
	// system allocation's task ended after every service task there (the
	// client's own times).
	var lastServiceEnd, systemEnd int64
	for _, al := range before {
		if al.NodeID != drained {
			continue
		}
		if pids := allocPIDs(al.ID); len(pids) > 0 {
			t.Errorf("allocation %s of the drained node still has processes %v", al.ID, pids)
		}
		var full structs.Allocation
		if err := a.get("/v1/allocation/"+al.ID, &full); err != nil {
			t.Fatal(err)
		}
		if !full.ClientTerminal() {
			t.Errorf("allocation %s of the drained node is %s after the drain completed", al.ID, full.ClientStatus)
		}
		for _, ts := range full.TaskStates {
			if al.JobID == "agent" {
				systemEnd = ts.FinishedAt
			} else {
				lastServiceEnd = max(lastServiceEnd, ts.FinishedAt)
			}
		}
	}
	if systemEnd == 0 || systemEnd < lastServiceEnd {
		t.Errorf("system task ended at %d, last service task at %d: want the system one last", systemEnd, lastServiceEnd)
	}
	var w []*structs.AllocListStub
	if err := a.get("/v1/job/web/allocations", &w); err != nil {
		t.Fatal(err)
	}
	for _, al := range runningAllocs(w) {
		if al.NodeID == drained {
			t.Errorf("web allocation %s still runs on the drained node", al.ID)
		}
	}
	if n := len(runningAllocs(w)); n != 4 {
		t.Errorf("%d web allocations running after the drain, want 4", n)
	}
	status, _, _ := a.orch("node", "status", "-verbose", drained)
	mustContain(t, "node status", status, "Eligibility = ineligible", "Node drain complete", "Node drain strategy set")
}
