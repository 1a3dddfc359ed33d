package command

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/orch-io/orch/structs"
)

// Task lifecycle through a real agent and raw_exec: the main task starts
// only after the prestart task has written what it needs, the poststart
// task after the main task, and the prestart task is not run again.
func TestLifecycleOrderOnAgent(t *testing.T) {
	a := startClientAgent(t)
	src := `job "life" {
  group "g" {
    task "init" {
      driver = "raw_exec"
      lifecycle { hook = "prestart" }
      config {
        command = "/bin/sh"
        args    = ["-c", "sleep 0.2; echo ready > \"$NOMAD_ALLOC_DIR/data/ready\""]
      }
    }
    task "main" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "test -f \"$NOMAD_ALLOC_DIR/data/ready\" || exit 3; exec sleep 3600"]
      }
    }
    task "announce" {
      driver = "raw_exec"
      lifecycle { hook = "poststart" }
      config {
        command = "/bin/sh"
        args    = ["-c", "echo up > \"$NOMAD_ALLOC_DIR/data/up\""]
      }
    }
  }
}`
	jobFile := filepath.Join(t.TempDir(), "life.hcl")
	if err := os.WriteFile(jobFile, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := runCLI(t, "job", "run", "-address", a.addr, "-detach", jobFile); r.code != 0 {
		t.Fatalf("job run: %s%s", r.stdout, r.stderr)
	}
	stub := runningAlloc(t, a, "life")
	var alloc *structs.Allocation
	waitFor(t, "init and announce to complete with main running", func() bool {
		al, _, err := a.API.Allocations().Info(stub.ID, nil)
		if err != nil {
			return false
		}
		alloc = al
		ts := al.TaskStates
		done := func(n string) bool {
			return ts[n] != nil && ts[n].State == structs.TaskStateDead && !ts[n].Failed
		}
		return done("init") && done("announce") && ts["main"] != nil && ts["main"].State == structs.TaskStateRunning
	})
	if alloc == nil {
		t.FailNow()
	}
	ts := alloc.TaskStates
	if ts["main"].Restarts != 0 || ts["init"].Restarts != 0 {
		t.Errorf("restarts: main %d, init %d; want none (main found what init wrote)", ts["main"].Restarts, ts["init"].Restarts)
	}
	if ts["init"].FinishedAt > ts["main"].StartedAt || ts["announce"].StartedAt < ts["main"].StartedAt {
		t.Errorf("order: init finished %d, main started %d, announce started %d",
			ts["init"].FinishedAt, ts["main"].StartedAt, ts["announce"].StartedAt)
	}
	if alloc.ClientStatus != structs.AllocClientStatusRunning {
		t.Errorf("allocation %s, want running", alloc.ClientStatus)
	}
	r := runCLI(t, "alloc", "status", "-address", a.addr, stub.ID[:8])
	mustContain(t, "alloc status", r.stdout, "init", "main", "announce")
}
