package e2e

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/orch-io/orch/structs"
)

// A task that always exits 1, with no restarts and `reschedule { attempts = 2
// interval = "1m" delay = "1s" }`, is replaced twice, each replacement
// pointing back at the allocation it replaces, and then stays failed; `job
// status` says no more reschedules.
func TestFailedAllocationRescheduledThenGivenUp(t *testing.T) {
	a := startDevAgent(t, t.TempDir(), freePorts(t))
	path := filepath.Join(t.TempDir(), "crash.hcl")
	src := `job "crash" {
  group "main" {
    restart {
      attempts = 0
      mode     = "fail"
    }
    reschedule {
      attempts       = 2
      interval       = "1m"
      delay          = "1s"
      delay_function = "constant"
      unlimited      = false
    }
    task "crash" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "exit 1"]
      }
    }
  }
}
`
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, stderr, code := a.orch("job", "run", "-detach", path); code != 0 {
		t.Fatalf("job run: exit %d\n%s\n%s", code, out, stderr)
	}

	var allocs []*structs.AllocListStub
	a.waitFor("three failed allocations and no follow-up pending", 60*time.Second, func() (bool, error) {
		if err := a.get("/v1/job/crash/allocations", &allocs); err != nil {
			return false, err
		}
		if len(allocs) != 3 {
			return false, nil
		}
		for _, al := range allocs {
			if al.ClientStatus != structs.AllocClientStatusFailed {
				return false, nil
			}
		}
		var evals []*structs.Evaluation
		if err := a.get("/v1/job/crash/evaluations", &evals); err != nil {
			return false, err
		}
		for _, e := range evals {
			if !e.TerminalStatus() {
				return false, nil
			}
		}
		return true, nil
	})
	// A list entry names its replacement (NextAllocation); walk the chain
	// back from the last one.
	previous := map[string]*structs.AllocListStub{}
	var last *structs.AllocListStub
	for _, al := range allocs {
		if al.NextAllocation != "" {
			previous[al.NextAllocation] = al
		}
		if al.NextAllocation == "" {
			if last != nil {
				t.Fatalf("two allocations without a replacement: %s and %s", last.ID, al.ID)
			}
			last = al
		}
	}
	chain := 0
	for cur := last; previous[cur.ID] != nil; cur = previous[cur.ID] {
		chain++
		var full structs.Allocation
		if err := a.get("/v1/allocation/"+cur.ID, &full); err != nil || full.PreviousAllocation != previous[cur.ID].ID {
			t.Fatalf("allocation %s: PreviousAllocation %q (%v), want %s, whose NextAllocation names it",
				cur.ID, full.PreviousAllocation, err, previous[cur.ID].ID)
		}
	}
	if chain != 2 || last.RescheduleTracker == nil || len(last.RescheduleTracker.Events) != 2 {
		t.Fatalf("last allocation: chain of %d replacements, tracker %+v; want 2", chain, last.RescheduleTracker)
	}
	status, _, _ := a.orch("job", "status", "crash")
	mustContain(t, "job status", status, "Reschedule Attempts = 2/2; no more reschedules (policy: 2 in 1m)")
	allocStatus, _, _ := a.orch("alloc", "status", last.ID)
	mustContain(t, "alloc status", allocStatus, "Previous Allocation", "Reschedule Attempts = 2/2; no more reschedules")
}
