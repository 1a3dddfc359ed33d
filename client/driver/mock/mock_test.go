package mock

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/orch-io/orch/client/driver"
)

func task(t *testing.T, config map[string]any) *driver.TaskConfig {
	t.Helper()
	dir := t.TempDir()
	return &driver.TaskConfig{
		AllocID: "alloc-1", TaskName: "web", Config: config, Dir: dir,
		StdoutPath: filepath.Join(dir, "web.stdout.0"), StderrPath: filepath.Join(dir, "web.stderr.0"),
	}
}

func start(t *testing.T, m *Mock, config map[string]any) (driver.Handle, *driver.TaskConfig) {
	t.Helper()
	cfg := task(t, config)
	h, err := m.Start(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = h.Destroy(context.Background()) })
	return h, cfg
}

func wait(t *testing.T, h driver.Handle) *driver.ExitResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := h.Wait(ctx)
	if err != nil {
		t.Fatalf("Wait: %v", err)
	}
	return res
}

func TestRunsForThenExitsAsConfigured(t *testing.T) {
	m := New(nil)
	h, cfg := start(t, m, map[string]any{
		"run_for": "20ms", "exit_code": 3,
		"stdout_string": "hello\n", "stdout_repeat": 2, "stdout_repeat_duration": "1ms",
	})
	res := wait(t, h)
	if res.ExitCode != 3 || res.Signal != 0 || res.Successful() {
		t.Fatalf("result = %v, want exit code 3", res)
	}
	// The output is printed 1+repeat times unless the task ends first.
	out, err := os.ReadFile(cfg.StdoutPath)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(out), "hello\n"); n < 1 || n > 3 {
		t.Errorf("stdout %q: printed %d times, want 1 to 3", out, n)
	}
	if m.Running() != 0 {
		t.Errorf("Running = %d after exit", m.Running())
	}
}

func TestPrintsEveryRepeatWhileRunning(t *testing.T) {
	h, cfg := start(t, New(nil), map[string]any{
		"stdout_string": "x", "stdout_repeat": 4, "stdout_repeat_duration": "1ms",
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		out, _ := os.ReadFile(cfg.StdoutPath)
		if string(out) == "xxxxx" {
			break
		}
		if len(out) > 5 || time.Now().After(deadline) {
			t.Fatalf("stdout = %q, want 5 x", out)
		}
		time.Sleep(time.Millisecond)
	}
	if err := h.Stop("SIGTERM", time.Minute); err != nil {
		t.Fatal(err)
	}
	if res := wait(t, h); res.Signal != int(syscall.SIGTERM) || res.ExitCode != 128+int(syscall.SIGTERM) {
		t.Errorf("result = %v, want SIGTERM", res)
	}
}

func TestExitSignal(t *testing.T) {
	h, _ := start(t, New(nil), map[string]any{"run_for": "1ms", "exit_signal": "SIGABRT"})
	if res := wait(t, h); res.Signal != int(syscall.SIGABRT) || res.ExitCode != 128+int(syscall.SIGABRT) {
		t.Errorf("result = %v, want SIGABRT", res)
	}
}

func TestKillAfterLongerThanTimeoutIsKilled(t *testing.T) {
	h, _ := start(t, New(nil), map[string]any{"kill_after": "1h"})
	if err := h.Stop("SIGINT", 10*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if res := wait(t, h); res.Signal != int(syscall.SIGKILL) {
		t.Errorf("result = %v, want SIGKILL after the kill timeout", res)
	}
}

func TestKillAfterShorterThanTimeoutHonoursSignal(t *testing.T) {
	h, _ := start(t, New(nil), map[string]any{"kill_after": "5ms"})
	if err := h.Stop("SIGINT", time.Hour); err != nil {
		t.Fatal(err)
	}
	if res := wait(t, h); res.Signal != int(syscall.SIGINT) {
		t.Errorf("result = %v, want SIGINT", res)
	}
	// Stopping again does nothing.
	if err := h.Stop("SIGINT", time.Hour); err != nil {
		t.Fatal(err)
	}
}

func TestStartErrors(t *testing.T) {
	m := New(nil)
	_, err := m.Start(context.Background(), task(t, map[string]any{"start_error": "no luck"}))
	if err == nil || !errors.Is(err, driver.ErrUnrecoverable) || !strings.Contains(err.Error(), "no luck") {
		t.Errorf("error = %v, want an unrecoverable one saying no luck", err)
	}
	_, err = m.Start(context.Background(), task(t, map[string]any{"start_error": "later", "start_error_recoverable": true}))
	if err == nil || errors.Is(err, driver.ErrUnrecoverable) {
		t.Errorf("error = %v, want a recoverable one", err)
	}
}

func TestBadConfigNamesEveryProblem(t *testing.T) {
	_, err := New(nil).Start(context.Background(), task(t, map[string]any{
		"run_for": "soon", "exit_code": "3", "exit_signal": "SIGNOPE", "stdout_repeat": -1, "image": "redis",
	}))
	if !errors.Is(err, driver.ErrInvalidConfig) {
		t.Fatalf("error = %v, want ErrInvalidConfig", err)
	}
	for _, want := range []string{
		`task "web": config.run_for: "soon": must be a duration`,
		`task "web": config.exit_code: must be a whole number, got string`,
		`task "web": config.exit_signal: "SIGNOPE": not a known signal`,
		`task "web": config.stdout_repeat: -1: must be >= 0`,
		`task "web": config.image: unknown key (mock takes run_for, exit_code`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}

func TestRecoverFindsRunningTaskAndDestroyForgetsIt(t *testing.T) {
	m := New(nil)
	h, cfg := start(t, m, map[string]any{})
	th := h.TaskHandle()
	if th.Driver != Name || th.ID == "" {
		t.Fatalf("TaskHandle = %+v", th)
	}
	again, err := m.Recover(context.Background(), cfg, th)
	if err != nil || again != h {
		t.Fatalf("Recover = %v, %v; want the same handle", again, err)
	}
	if err := again.Signal("SIGHUP"); err != nil {
		t.Fatal(err)
	}
	if got := h.(*handle).Signals(); len(got) != 1 || got[0] != "SIGHUP" {
		t.Errorf("Signals = %v", got)
	}
	if st, err := h.Stats(context.Background()); err != nil || st.Time.IsZero() {
		t.Errorf("Stats = %+v, %v", st, err)
	}
	if r, err := h.Exec(context.Background(), []string{"echo", "hi"}); err != nil || string(r.Stdout) != "echo hi\n" {
		t.Errorf("Exec = %+v, %v", r, err)
	}
	// An interactive exec falls back to Exec: the output once it exits.
	var out strings.Builder
	if code, err := driver.ExecStreaming(context.Background(), h, &driver.ExecOptions{
		Cmd: []string{"echo", "hi"}, Stdin: strings.NewReader(""), Stdout: &out, Stderr: io.Discard,
	}); err != nil || code != 0 || out.String() != "echo hi\n" {
		t.Errorf("ExecStreaming = %d, %v, %q", code, err, out.String())
	}
	if err := h.Destroy(context.Background()); err != nil {
		t.Fatal(err)
	}
	if res := wait(t, h); res.Signal != int(syscall.SIGKILL) {
		t.Errorf("result after Destroy = %v, want SIGKILL", res)
	}
	if _, err := m.Recover(context.Background(), cfg, th); !errors.Is(err, driver.ErrTaskNotFound) {
		t.Errorf("Recover after Destroy: %v, want ErrTaskNotFound", err)
	}
	if _, err := New(nil).Recover(context.Background(), cfg, th); !errors.Is(err, driver.ErrTaskNotFound) {
		t.Errorf("Recover in another driver: %v, want ErrTaskNotFound", err)
	}
}
