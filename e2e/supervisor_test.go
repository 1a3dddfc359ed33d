package e2e

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/orch-io/orch/client/supervisor/supervisortest"
	"github.com/orch-io/orch/structs"
)

// sleepersJob is a service job of count raw_exec tasks that sleep.
func sleepersJob(count int) string {
	return fmt.Sprintf(`
job "sleepers" {
  type = "service"
  datacenters = ["*"]
  group "s" {
    count = %d
    task "sleep" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "exec sleep 100000"]
      }
      kill_signal = "SIGTERM"
      resources {
        cpu    = 10
        memory = 10
      }
    }
  }
}
`, count)
}

// exiterJob is a batch task that waits for gate to exist, then exits 3.
func exiterJob(gate string) string {
	return fmt.Sprintf(`
job "exiter" {
  type = "batch"
  datacenters = ["*"]
  group "e" {
    restart {
      attempts = 0
      mode     = "fail"
    }
    task "exit" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "while [ ! -e %s ]; do sleep 0.05; done; exit 3"]
      }
      resources {
        cpu    = 10
        memory = 10
      }
    }
  }
}
`, gate)
}

func writeJob(t *testing.T, name, hcl string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name+".hcl")
	if err := os.WriteFile(p, []byte(hcl), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// runningPIDs waits until job has want running allocations with one live
// process each, and returns the process of each allocation.
func runningPIDs(t *testing.T, a *agentProc, job string, want int) map[string]int {
	t.Helper()
	var out map[string]int
	a.waitFor(fmt.Sprintf("%d running allocations of %s", want, job), 60*time.Second, func() (bool, error) {
		var allocs []*structs.AllocListStub
		if err := a.get("/v1/job/"+job+"/allocations", &allocs); err != nil {
			return false, err
		}
		running := runningAllocs(allocs)
		if len(running) != want {
			return false, nil
		}
		out = map[string]int{}
		for _, al := range running {
			pids := allocPIDs(al.ID)
			if len(pids) != 1 {
				return false, nil
			}
			out[al.ID] = pids[0]
		}
		return true, nil
	})
	return out
}

// noRestarts fails the test if any allocation of job has a task event saying
// its task restarted or ended, or that it started more than once.
func noRestarts(t *testing.T, a *agentProc, job string) {
	t.Helper()
	var allocs []*structs.Allocation
	var stubs []*structs.AllocListStub
	if err := a.get("/v1/job/"+job+"/allocations", &stubs); err != nil {
		t.Fatal(err)
	}
	for _, s := range stubs {
		var al structs.Allocation
		if err := a.get("/v1/allocation/"+s.ID, &al); err != nil {
			t.Fatal(err)
		}
		allocs = append(allocs, &al)
	}
	for _, al := range allocs {
		for task, ts := range al.TaskStates {
			if ts.Restarts != 0 {
				t.Errorf("alloc %s task %s: %d restarts", al.ID, task, ts.Restarts)
			}
			started := 0
			for _, ev := range ts.Events {
				if ev.Type == structs.TaskRestarting || ev.Type == structs.TaskTerminated {
					t.Errorf("alloc %s task %s: event %q (%s)", al.ID, task, ev.Type, ev.DisplayMessage)
				}
				if ev.Type == structs.TaskStarted {
					started++
				}
			}
			if started != 1 {
				t.Errorf("alloc %s task %s: started %d times, want once", al.ID, task, started)
			}
		}
	}
}

// TestTasksOutliveAgentAndSupervisor: 20 tasks keep their processes through
// an agent SIGKILL and restart and through a supervisor SIGKILL; none is
// restarted or duplicated; a task that exits while the agent is down has its
// exit code reported once the agent is back.
func TestTasksOutliveAgentAndSupervisor(t *testing.T) {
	const n = 20
	dataDir := t.TempDir()
	ports := freePorts(t)
	gate := filepath.Join(t.TempDir(), "gate")
	a := startDevAgent(t, dataDir, ports)
	for name, hcl := range map[string]string{"sleepers": sleepersJob(n), "exiter": exiterJob(gate)} {
		if out, stderr, code := a.orch("job", "run", "-detach", writeJob(t, name, hcl)); code != 0 {
			t.Fatalf("job run %s: exit %d\n%s\n%s", name, code, out, stderr)
		}
	}
	before := runningPIDs(t, a, "sleepers", n)
	exiter := runningPIDs(t, a, "exiter", 1)

	// The agent dies hard; the exiter exits while it is down.
	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-a.exited
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for id := range exiter {
		waitFor(t, "the exiter to exit", 30*time.Second, func() (bool, error) { return len(allocPIDs(id)) == 0, nil })
	}
	for id, pid := range before {
		if got := allocPIDs(id); !slices.Equal(got, []int{pid}) {
			t.Fatalf("while the agent is down, alloc %s has processes %v, want [%d]", id, got, pid)
		}
	}

	a = startDevAgent(t, dataDir, ports)
	checkSame(t, a, before)
	for id := range exiter {
		a.waitFor("the exiter's exit to be reported", 30*time.Second, func() (bool, error) {
			var al structs.Allocation
			if err := a.get("/v1/allocation/"+id, &al); err != nil {
				return false, err
			}
			ts := al.TaskStates["exit"]
			if al.ClientStatus != structs.AllocClientStatusFailed || ts == nil {
				return false, nil
			}
			for _, ev := range ts.Events {
				if ev.Type == structs.TaskTerminated && ev.ExitCode == 3 {
					return true, nil
				}
			}
			return false, fmt.Errorf("no Terminated event with exit code 3 in %+v", ts.Events)
		})
	}

	// The supervisor dies hard: the agent starts another, which adopts the tasks.
	supDir := filepath.Join(dataDir, "supervisor")
	old := supervisortest.SupervisorPIDs(supDir)
	if len(old) != 1 {
		t.Fatalf("supervisors of %s: %v, want one", supDir, old)
	}
	if err := syscall.Kill(old[0], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a new supervisor", 30*time.Second, func() (bool, error) {
		now := supervisortest.SupervisorPIDs(supDir)
		return len(now) == 1 && now[0] != old[0], nil
	})
	checkSame(t, a, before)

	// Stopping the job still stops every adopted task.
	if out, stderr, code := a.orch("job", "stop", "-detach", "sleepers"); code != 0 {
		t.Fatalf("job stop: exit %d\n%s\n%s", code, out, stderr)
	}
	a.waitFor("every task process to end", 60*time.Second, func() (bool, error) {
		for id := range before {
			if len(allocPIDs(id)) != 0 {
				return false, nil
			}
		}
		return true, nil
	})
}

// checkSame waits until the allocations run again as seen by the agent, then
// checks that each runs as the very process it ran as before, once, and that
// no task restarted.
func checkSame(t *testing.T, a *agentProc, before map[string]int) {
	t.Helper()
	after := runningPIDs(t, a, "sleepers", len(before))
	for id, pid := range before {
		if after[id] != pid {
			t.Errorf("alloc %s runs as pid %d, want the same %d", id, after[id], pid)
		}
	}
	noRestarts(t, a, "sleepers")
}

// TestStoppedWhileClientDownStopsAfterReattach: a client-only agent runs 3
// tasks and dies (SIGKILL); the job is stopped on the servers meanwhile, which
// nothing can pass on to the tasks; started again on its data dir, the client
// stops them and reports them stopped, and starts nothing anew.
func TestStoppedWhileClientDownStopsAfterReattach(t *testing.T) {
	const n = 3
	a := startDevAgent(t, t.TempDir(), freePorts(t))
	clientDir, clientPorts := t.TempDir(), freePorts(t)
	startClient := func() *agentProc {
		return startAgent(t, clientDir, clientPorts, "-client", "-servers", fmt.Sprintf("127.0.0.1:%d", a.ports[1]), "-node", "e2e-down")
	}
	c := startClient()
	pinned := strings.Replace(sleepersJob(n), `datacenters = ["*"]`, `datacenters = ["*"]
  constraint {
    attribute = "${node.unique.name}"
    value     = "e2e-down"
  }`, 1)
	if out, stderr, code := a.orch("job", "run", "-detach", writeJob(t, "sleepers", pinned)); code != 0 {
		t.Fatalf("job run: exit %d\n%s\n%s", code, out, stderr)
	}
	before := runningPIDs(t, a, "sleepers", n)

	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-c.exited
	if out, stderr, code := a.orch("job", "stop", "-detach", "sleepers"); code != 0 {
		t.Fatalf("job stop: exit %d\n%s\n%s", code, out, stderr)
	}
	a.waitFor("the servers to stop every allocation", 30*time.Second, func() (bool, error) {
		var allocs []*structs.AllocListStub
		if err := a.get("/v1/job/sleepers/allocations", &allocs); err != nil {
			return false, err
		}
		for _, al := range allocs {
			if al.DesiredStatus != structs.AllocDesiredStatusStop {
				return false, nil
			}
		}
		return len(allocs) == n, nil
	})
	for id, pid := range before {
		if got := allocPIDs(id); !slices.Equal(got, []int{pid}) {
			t.Fatalf("while the client is down, alloc %s has processes %v, want [%d]", id, got, pid)
		}
	}

	startClient()
	a.waitFor("the restarted client to stop the tasks and report it", 60*time.Second, func() (bool, error) {
		for id := range before {
			if len(allocPIDs(id)) != 0 {
				return false, nil
			}
			var al structs.Allocation
			if err := a.get("/v1/allocation/"+id, &al); err != nil {
				return false, err
			}
			if !al.ClientTerminal() {
				return false, nil
			}
		}
		return true, nil
	})
	var allocs []*structs.AllocListStub
	if err := a.get("/v1/job/sleepers/allocations", &allocs); err != nil {
		t.Fatal(err)
	}
	for _, al := range allocs {
		if _, ok := before[al.ID]; !ok {
			t.Errorf("allocation %s (%s/%s) appeared after the stop", al.ID, al.DesiredStatus, al.ClientStatus)
		}
	}
}

// TestTasksGoneWithAgentAndSupervisorAreRestarted plays a node reboot without
// one: the agent, the supervisor and every task die together (SIGKILL). On
// start, the client reports each run as an unknown exit and the restart
// policy applies: here, one restart in place.
func TestTasksGoneWithAgentAndSupervisorAreRestarted(t *testing.T) {
	const n = 3
	dataDir := t.TempDir()
	ports := freePorts(t)
	a := startDevAgent(t, dataDir, ports)
	job := strings.Replace(sleepersJob(n), `group "s" {`, `group "s" {
    restart {
      attempts = 1
      interval = "1h"
      delay    = "0s"
      mode     = "fail"
    }`, 1)
	if out, stderr, code := a.orch("job", "run", "-detach", writeJob(t, "sleepers", job)); code != 0 {
		t.Fatalf("job run: exit %d\n%s\n%s", code, out, stderr)
	}
	before := runningPIDs(t, a, "sleepers", n)

	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-a.exited
	sups := supervisortest.SupervisorPIDs(filepath.Join(dataDir, "supervisor"))
	if len(sups) != 1 {
		t.Fatalf("supervisors: %v, want one", sups)
	}
	for _, pid := range append(sups, slices.Collect(maps.Values(before))...) {
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "every task to be gone", 30*time.Second, func() (bool, error) {
		for id := range before {
			if len(allocPIDs(id)) != 0 {
				return false, nil
			}
		}
		return true, nil
	})

	a = startDevAgent(t, dataDir, ports)
	after := runningPIDs(t, a, "sleepers", n)
	a.waitFor("each task restarted once after an unknown exit", 30*time.Second, func() (bool, error) {
		for id := range before {
			var al structs.Allocation
			if err := a.get("/v1/allocation/"+id, &al); err != nil {
				return false, err
			}
			ts := al.TaskStates["sleep"]
			if ts == nil || ts.Restarts != 1 || ts.State != structs.TaskStateRunning {
				return false, nil
			}
			unknown := slices.ContainsFunc(ts.Events, func(ev *structs.TaskEvent) bool {
				return ev.Type == structs.TaskTerminated && ev.ExitCode == -1 && strings.HasPrefix(ev.DisplayMessage, "Unknown exit: ")
			})
			if !unknown {
				return false, fmt.Errorf("alloc %s: no unknown exit among %+v", id, ts.Events)
			}
		}
		return true, nil
	})
	for id, pid := range before {
		if after[id] == 0 || after[id] == pid {
			t.Errorf("alloc %s runs as pid %d, want a new process (was %d)", id, after[id], pid)
		}
	}
}
