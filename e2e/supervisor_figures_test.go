package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/orch-io/orch/client/supervisor/supervisortest"
)

// TestFigureSupervisor200Tasks measures, with 200 raw_exec tasks on a dev
// agent: the orch memory per running task (growth of the PSS of agent +
// supervisor from 0 to 200 tasks, divided by 200), the time from an agent
// restart (SIGKILL, start) to all 200 allocations reported running again by
// the restarted client, and the time from `job stop` to all 200 processes
// gone. It prints FIGURE lines; run it with ORCH_FIGURES=1.
func TestFigureSupervisor200Tasks(t *testing.T) {
	if os.Getenv("ORCH_FIGURES") == "" {
		t.Skip("set ORCH_FIGURES=1 to measure")
	}
	const n = 200
	dataDir := t.TempDir()
	ports := freePorts(t)
	a := startDevAgent(t, dataDir, ports)
	supDir := filepath.Join(dataDir, "supervisor")
	idle := pssKB(t, a.cmd.Process.Pid) + pssKB(t, supervisortest.SupervisorPIDs(supDir)...)

	if out, stderr, code := a.orch("job", "run", "-detach", writeJob(t, "sleepers", sleepersJob(n))); code != 0 {
		t.Fatalf("job run: exit %d\n%s\n%s", code, out, stderr)
	}
	before := runningPIDs(t, a, "sleepers", n)
	loaded := pssKB(t, a.cmd.Process.Pid) + pssKB(t, supervisortest.SupervisorPIDs(supDir)...)
	fmt.Printf("FIGURE name=memory_per_task value=%.1f unit=KB (PSS agent+supervisor: idle %d KB, with %d tasks %d KB)\n",
		float64(loaded-idle)/n, idle, n, loaded)

	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-a.exited
	start := time.Now()
	a = startAgent(t, dataDir, ports, "-dev", "-node", "e2e-node")
	a.waitFor("all allocations re-attached", 60*time.Second, func() (bool, error) {
		return reattachedLogLines(a.logPath) >= n, nil
	})
	fmt.Printf("FIGURE name=agent_restart_reattach_200 value=%d unit=ms\n", time.Since(start).Milliseconds())
	checkSame(t, a, before)

	start = time.Now()
	if out, stderr, code := a.orch("job", "stop", "-detach", "sleepers"); code != 0 {
		t.Fatalf("job stop: exit %d\n%s\n%s", code, out, stderr)
	}
	waitFor(t, "every task process to end", 60*time.Second, func() (bool, error) {
		for _, pid := range before {
			if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); err == nil {
				return false, nil
			}
		}
		return true, nil
	})
	fmt.Printf("FIGURE name=stop_200_tasks value=%d unit=ms\n", time.Since(start).Milliseconds())
}

// reattachedLogLines counts the agent's "reattached to the task" log lines.
func reattachedLogLines(path string) int {
	b, _ := os.ReadFile(path)
	return bytes.Count(b, []byte(`msg="reattached to the task"`))
}

// pssKB sums the proportional set size of pids (/proc/<pid>/smaps_rollup).
func pssKB(t *testing.T, pids ...int) int {
	t.Helper()
	total := 0
	for _, pid := range pids {
		f, err := os.Open(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var kb int
			if n, _ := fmt.Sscanf(sc.Text(), "Pss: %d kB", &kb); n == 1 {
				total += kb
			}
		}
		f.Close()
	}
	return total
}
