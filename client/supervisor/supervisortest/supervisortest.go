// Package supervisortest starts real supervisor processes for tests: the test
// binary runs itself as the supervisor. A test package calls MaybeRun first
// thing in its TestMain, then Start in its tests.
package supervisortest

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/orch-io/orch/client/supervisor"
)

const runEnv = "ORCH_TEST_RUN_SUPERVISOR"

// MaybeRun runs the supervisor and exits when this process was started as
// one: by Command, or as `<test binary> supervisor -dir DIR` by a client with
// the default command (an agent in a test); otherwise it returns at once.
func MaybeRun() {
	dir := os.Getenv(runEnv)
	if len(os.Args) == 4 && os.Args[1] == "supervisor" && os.Args[2] == "-dir" {
		dir = os.Args[3]
	}
	if dir == "" {
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	if err := supervisor.Run(ctx, dir, slog.New(slog.NewTextHandler(os.Stderr, nil))); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// Command returns the ClientConfig.Command that starts the test binary as the
// supervisor of dir. Cleanup(t, dir) must be registered by the caller.
func Command(dir string) func() *exec.Cmd {
	return func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), runEnv+"="+dir)
		return cmd
	}
}

// Start connects to a supervisor of a fresh directory (starting it) and
// registers Cleanup.
func Start(t testing.TB) (*supervisor.Client, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "sv")
	Cleanup(t, dir)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := supervisor.Dial(ctx, supervisor.ClientConfig{Dir: dir, Command: Command(dir)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c, dir
}

// Cleanup makes sure that when t ends, pass or fail, every task recorded
// running in dir and every supervisor of dir is killed.
func Cleanup(t testing.TB, dir string) {
	t.Cleanup(func() { KillAll(dir) })
}

// KillAll kills the process group of every task dir's records say runs (if
// the PID is still the task's), and every supervisor process of dir.
func KillAll(dir string) {
	for _, pid := range SupervisorPIDs(dir) {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "tasks"))
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, "tasks", e.Name()))
		if err != nil {
			continue
		}
		var st supervisor.TaskStatus
		if json.Unmarshal(b, &st) != nil || st.State != supervisor.TaskRunning || st.PID <= 1 {
			continue
		}
		if ticks, err := supervisor.StartTicks(st.PID); err == nil && ticks == st.StartTicks {
			syscall.Kill(-st.PID, syscall.SIGKILL)
		}
	}
}

// SupervisorPIDs are the processes running as the supervisor of dir, started
// by Command or as `orch supervisor -dir dir`.
func SupervisorPIDs(dir string) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		env, _ := os.ReadFile("/proc/" + e.Name() + "/environ")
		cmdline, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if strings.Contains(string(env)+"\x00", runEnv+"="+dir+"\x00") ||
			strings.HasSuffix(string(cmdline), "\x00supervisor\x00-dir\x00"+dir+"\x00") {
			pids = append(pids, pid)
		}
	}
	return pids
}
