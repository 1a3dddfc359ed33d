package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/orch-io/orch/structs"
)

// TestBlockedJobPlacedWhenNodeJoins: a job whose group does not fit on the
// only node stays blocked, with the reason in `orch job status`, and is placed
// on a second client agent within seconds of it joining.
func TestBlockedJobPlacedWhenNodeJoins(t *testing.T) {
	a := startDevAgent(t, t.TempDir(), freePorts(t))
	var nodes []*structs.NodeListStub
	if err := a.get("/v1/nodes", &nodes); err != nil {
		t.Fatal(err)
	}
	first := nodes[0].ID
	// Two jobs that each take 60% of the node's memory: the second cannot fit.
	memory := nodes[0].NodeResources.MemoryMB * 6 / 10
	for _, name := range []string{"filler", "big"} {
		path := writeSleepJob(t, name, memory)
		out, stderr, code := a.orch("job", "run", path)
		want := 0
		if name == "big" {
			want = 2 // placement failure, as Nomad
		}
		if code != want {
			t.Fatalf("orch job run %s: exit %d, want %d\n%s\n%s", name, code, want, out, stderr)
		}
	}
	status, _, _ := a.orch("job", "status", "big")
	mustContain(t, "job status big", status, "Placement Failure",
		"could not place 1 of 1 allocation of group main: memory exhausted on 1 node")
	var evals []*structs.Evaluation
	if err := a.get("/v1/job/big/evaluations", &evals); err != nil {
		t.Fatal(err)
	}
	if !hasBlockedEval(evals) {
		t.Fatalf("big has no blocked evaluation: %+v", evals)
	}

	// A second node joins: a client-only agent talking to the dev agent's RPC port.
	joined := time.Now()
	startAgent(t, t.TempDir(), freePorts(t), "-client", "-servers", fmt.Sprintf("127.0.0.1:%d", a.ports[1]), "-node", "e2e-second")
	var placed *structs.AllocListStub
	a.waitFor("big to run on the new node", 30*time.Second, func() (bool, error) {
		var allocs []*structs.AllocListStub
		if err := a.get("/v1/job/big/allocations", &allocs); err != nil {
			return false, err
		}
		running := runningAllocs(allocs)
		if len(running) != 1 {
			return false, nil
		}
		placed = running[0]
		return len(allocPIDs(placed.ID)) > 0, nil
	})
	t.Logf("big running on the new node %s after it joined", time.Since(joined).Round(time.Millisecond))
	if placed.NodeID == first {
		t.Fatalf("big placed on the full node %s", first)
	}
}

func hasBlockedEval(evals []*structs.Evaluation) bool {
	for _, e := range evals {
		if e.Status == structs.EvalStatusBlocked {
			return true
		}
	}
	return false
}

// writeSleepJob writes a service job named name whose one task sleeps and asks
// for memoryMB of memory.
func writeSleepJob(t *testing.T, name string, memoryMB int) string {
	t.Helper()
	src := strings.NewReplacer("NAME", name, "MEMORY", strconv.Itoa(memoryMB)).Replace(`
job "NAME" {
  group "main" {
    task "sleep" {
      driver = "raw_exec"
      config {
        command = "/bin/sleep"
        args    = ["3600"]
      }
      resources {
        cpu    = 100
        memory = MEMORY
      }
    }
  }
}
`)
	path := filepath.Join(t.TempDir(), name+".hcl")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
