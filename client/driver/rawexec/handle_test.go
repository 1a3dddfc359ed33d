package rawexec

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/orch-io/orch/client/driver"
	"github.com/orch-io/orch/client/supervisor"
	"github.com/orch-io/orch/client/supervisor/supervisortest"
)

func TestCapabilitiesReattach(t *testing.T) {
	if c := New(nil, nil).Capabilities(); !c.Reattach || !c.Exec || c.Isolated {
		t.Errorf("Capabilities = %+v, want Reattach and Exec", c)
	}
}

// A second agent process (a second supervisor client) recovers the running
// task from its persisted handle, and only the run the handle names.
func TestRecoverFromTaskHandle(t *testing.T) {
	sup, dir := supervisortest.Start(t)
	cfg := shTask(t, `echo ready > ready; exec sleep 1000`)
	h, err := New(nil, sup).Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	th := h.TaskHandle()
	if th.Driver != Name || th.ID != "alloc-1.web" || th.Data[nonceKey] == "" {
		t.Fatalf("TaskHandle = %+v, want the supervisor's task ID and a nonce", th)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sup2, err := supervisor.Dial(ctx, supervisor.ClientConfig{Dir: dir, Command: supervisortest.Command(dir)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sup2.Close)
	d2 := New(nil, sup2)
	h2, err := d2.Recover(ctx, cfg, th.Copy())
	if err != nil {
		t.Fatalf("Recover: %v", err)
	}
	if h2.(*handle).pid != h.(*handle).pid {
		t.Errorf("recovered pid %d, want %d", h2.(*handle).pid, h.(*handle).pid)
	}
	stale := th.Copy()
	stale.Data[nonceKey] = "another-run"
	if _, err := d2.Recover(ctx, cfg, stale); !errors.Is(err, driver.ErrTaskNotFound) {
		t.Errorf("Recover of another run: %v, want ErrTaskNotFound", err)
	}
	gone := th.Copy()
	gone.ID = "alloc-2.web"
	if _, err := d2.Recover(ctx, cfg, gone); !errors.Is(err, driver.ErrTaskNotFound) {
		t.Errorf("Recover of an unknown task: %v, want ErrTaskNotFound", err)
	}

	// The stats show the process's resident memory (polled: right after
	// the shell's exec of sleep, the new image has no pages yet).
	var st *driver.TaskStats
	waitFor(t, "Stats to show the process's memory", func() bool {
		st, err = h2.Stats(ctx)
		return err == nil && st.MemoryRSSBytes > 0
	})
	if st.CPUTotal < 0 || st.Time.IsZero() {
		t.Errorf("Stats = %+v", st)
	}
	// Exec runs in the task's environment and directory (the recovered
	// handle's too), with its exit code and output.
	res, err := h2.Exec(ctx, []string{"/bin/sh", "-c", `cat ready; echo "$GREETING" >&2; exit 3`})
	if err != nil {
		t.Fatalf("Exec: %v", err)
	}
	if res.ExitCode != 3 || string(res.Stdout) != "ready\n" || string(res.Stderr) != "hi\n" {
		t.Errorf("Exec = exit %d (%q, %q); want exit 3, the task directory's file and its environment", res.ExitCode, res.Stdout, res.Stderr)
	}
	short, cancelShort := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancelShort()
	start := time.Now()
	if _, err := h2.Exec(short, []string{"/bin/sh", "-c", "sleep 30 & sleep 30"}); !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Errorf("Exec past its context: %v after %v, want DeadlineExceeded at once (the process group killed)", err, time.Since(start))
	}
	// A recovered handle still execs in the task's directory.
	if res, err := h2.Exec(ctx, []string{"pwd"}); err != nil || strings.TrimSpace(string(res.Stdout)) != cfg.Dir {
		t.Errorf("Exec pwd = %+v, %v; want the task's directory %s", res, err, cfg.Dir)
	}

	// Destroy kills the task and the supervisor forgets it.
	if err := h2.Destroy(ctx); err != nil {
		t.Fatalf("Destroy: %v", err)
	}
	if res := waitExit(t, h); res.Signal != int(syscall.SIGKILL) {
		t.Errorf("after Destroy the task's exit is %+v, want SIGKILL", res)
	}
	if _, ok := sup2.Task(th.ID); ok {
		t.Error("the supervisor still knows the destroyed task")
	}
	if _, err := d2.Recover(ctx, cfg, th.Copy()); !errors.Is(err, driver.ErrTaskNotFound) {
		t.Errorf("Recover after Destroy: %v, want ErrTaskNotFound", err)
	}
}

func TestSignalReachesTheTask(t *testing.T) {
	cfg := shTask(t, `trap 'echo got-hup > hup; exit 0' HUP; echo ready > ready; while :; do sleep 0.05; done`)
	h, err := newDriver(t).Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "task ready", func() bool { _, err := os.Stat(filepath.Join(cfg.Dir, "ready")); return err == nil })
	if err := h.Signal("SIGBOGUS"); err == nil || !strings.Contains(err.Error(), "SIGBOGUS") {
		t.Errorf("Signal(SIGBOGUS) = %v, want an error naming it", err)
	}
	if err := h.Signal("SIGHUP"); err != nil {
		t.Fatal(err)
	}
	if res := waitExit(t, h); !res.Successful() {
		t.Errorf("exit %+v, want the trap's exit 0", res)
	}
	if got := readFile(t, filepath.Join(cfg.Dir, "hup")); got != "got-hup\n" {
		t.Errorf("hup = %q", got)
	}
	if _, err := h.Stats(context.Background()); err == nil {
		t.Error("Stats of an exited task: want an error")
	}
}
