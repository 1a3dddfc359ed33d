package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/orch-io/orch/structs"
)

// execSleepersJob is a service job of count exec tasks that sleep.
func execSleepersJob(count int) string {
	return fmt.Sprintf(`
job "execs" {
  type = "service"
  datacenters = ["*"]
  group "s" {
    count = %d
    task "sleep" {
      driver = "exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "exec sleep 100000"]
      }
      # sleep is PID 1 of its namespace, which gets only signals it handles:
      # the stop kills it after kill_timeout.
      kill_timeout = "1s"
      resources {
        cpu    = 10
        memory = 16
      }
    }
  }
}
`, count)
}

// hogJob allocates 4× its memory under exec.
const hogJob = `
job "hog" {
  type = "batch"
  datacenters = ["*"]
  group "h" {
    restart {
      attempts = 0
      mode     = "fail"
    }
    task "hog" {
      driver = "exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "head -c 134217728 /dev/zero | tail"]
      }
      resources {
        cpu    = 10
        memory = 32
      }
    }
  }
}
`

// startExecDevAgent starts a dev agent whose exec tasks' cgroups are under a
// parent of the test's, removed when the test ends.
func startExecDevAgent(t *testing.T, dataDir string, ports [3]int, parent string) *agentProc {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "exec.hcl")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`plugin "exec" {
  config { cgroup_parent = %q }
}
`, parent)), 0o644); err != nil {
		t.Fatal(err)
	}
	a := startAgent(t, dataDir, ports, "-dev", "-node", "e2e-node", "-config", cfg)
	a.waitForDriver("exec", 30*time.Second)
	return a
}

func execPreconditions(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("exec needs root")
	}
	if _, err := os.Stat("/sys/fs/cgroup/memory/memory.limit_in_bytes"); err != nil {
		if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err != nil {
			t.Skip("exec needs cgroups")
		}
	}
	parent := "orch-e2e-" + strconv.Itoa(os.Getpid())
	t.Cleanup(func() { removeCgroups(parent) })
	return parent
}

// removeCgroups kills what runs in the cgroups below parent (every
// hierarchy) and removes them.
func removeCgroups(parent string) {
	dirs, _ := filepath.Glob("/sys/fs/cgroup/*/" + parent)
	dirs = append(dirs, "/sys/fs/cgroup/"+parent)
	for _, p := range dirs {
		subs, _ := filepath.Glob(p + "/*")
		for _, s := range append(subs, p) {
			if fi, err := os.Stat(s); err != nil || !fi.IsDir() {
				continue
			}
			for i := 0; i < 200; i++ {
				b, _ := os.ReadFile(filepath.Join(s, "cgroup.procs"))
				if len(strings.Fields(string(b))) == 0 {
					break
				}
				for _, f := range strings.Fields(string(b)) {
					if pid, err := strconv.Atoi(f); err == nil {
						syscall.Kill(pid, syscall.SIGKILL)
					}
				}
				time.Sleep(10 * time.Millisecond) // the kernel reaps them
			}
			syscall.Rmdir(s)
		}
	}
}

// TestExecTasksOutliveAgent: exec tasks keep their processes through an
// agent SIGKILL and restart, none restarted; stopping the job removes their
// cgroups. A task allocating 4× its memory is OOM-killed and its event says
// so with the limit.
func TestExecTasksOutliveAgent(t *testing.T) {
	parent := execPreconditions(t)
	const n = 3
	dataDir := t.TempDir()
	ports := freePorts(t)
	a := startExecDevAgent(t, dataDir, ports, parent)
	for name, hcl := range map[string]string{"execs": execSleepersJob(n), "hog": hogJob} {
		if out, stderr, code := a.orch("job", "run", "-detach", writeJob(t, name, hcl)); code != 0 {
			t.Fatalf("job run %s: exit %d\n%s\n%s", name, code, out, stderr)
		}
	}
	before := runningPIDs(t, a, "execs", n)

	a.waitFor("the hog's OOM kill to be reported", 60*time.Second, func() (bool, error) {
		var stubs []*structs.AllocListStub
		if err := a.get("/v1/job/hog/allocations", &stubs); err != nil || len(stubs) != 1 {
			return false, err
		}
		var al structs.Allocation
		if err := a.get("/v1/allocation/"+stubs[0].ID, &al); err != nil {
			return false, err
		}
		ts := al.TaskStates["hog"]
		if ts == nil {
			return false, nil
		}
		for _, ev := range ts.Events {
			if ev.Type == structs.TaskTerminated {
				if !strings.Contains(ev.DisplayMessage, "OOM Killed") || !strings.Contains(ev.DisplayMessage, "32 MiB") {
					return false, fmt.Errorf("terminated event %q: want OOM Killed with the 32 MiB limit", ev.DisplayMessage)
				}
				return true, nil
			}
		}
		return false, nil
	})

	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-a.exited
	a = startExecDevAgent(t, dataDir, ports, parent)
	after := runningPIDs(t, a, "execs", n)
	for id, pid := range before {
		if after[id] != pid {
			t.Errorf("alloc %s runs as pid %d, want the same %d", id, after[id], pid)
		}
	}
	noRestarts(t, a, "execs")

	// orch alloc exec enters a re-attached task: its PID tree (PID 1 is the
	// task's sleep), its root (no /root), its user.
	for id := range before {
		out, stderr, code := a.orch("alloc", "exec", "-i=false", id, "ps", "-eo", "pid,user,comm")
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if code != 0 || len(lines) != 3 || !strings.Contains(lines[1], "1 nobody   sleep") {
			t.Errorf("alloc exec ps: exit %d, output:\n%s\n%s\nwant the task's PID 1 (sleep) and ps only", code, out, stderr)
		}
		if out, _, code := a.orch("alloc", "exec", "-i=false", id, "ls", "/root"); code == 0 {
			t.Errorf("alloc exec ls /root: exit 0 (%s), want a failure: /root is not in the task's root", out)
		}
		break
	}

	if out, stderr, code := a.orch("job", "stop", "-detach", "execs"); code != 0 {
		t.Fatalf("job stop: exit %d\n%s\n%s", code, out, stderr)
	}
	a.waitFor("every task process and cgroup to go", 60*time.Second, func() (bool, error) {
		for id := range before {
			if len(allocPIDs(id)) != 0 {
				return false, nil
			}
			if left, _ := filepath.Glob("/sys/fs/cgroup/*/" + parent + "/" + id + ".*"); len(left) != 0 {
				return false, nil
			}
		}
		return true, nil
	})
}
