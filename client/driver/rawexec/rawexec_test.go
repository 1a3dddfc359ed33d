package rawexec

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/orch-io/orch/client/driver"
	"github.com/orch-io/orch/client/supervisor/supervisortest"
)

func TestMain(m *testing.M) {
	supervisortest.MaybeRun()
	os.Exit(m.Run())
}

// newDriver returns raw_exec on a supervisor of its own, stopped with the test.
func newDriver(t *testing.T) *RawExec {
	sup, _ := supervisortest.Start(t)
	return New(nil, sup)
}

// taskConfig returns a TaskConfig running /bin/sh -c script in a fresh directory.
func shTask(t *testing.T, script string) *driver.TaskConfig {
	t.Helper()
	dir := t.TempDir()
	return &driver.TaskConfig{
		AllocID:    "alloc-1",
		TaskName:   "web",
		Config:     map[string]any{"command": "/bin/sh", "args": []any{"-c", script}},
		Env:        append(os.Environ(), "GREETING=hi"),
		Dir:        dir,
		StdoutPath: filepath.Join(dir, "web.stdout.0"),
		StderrPath: filepath.Join(dir, "web.stderr.0"),
	}
}

func waitExit(t *testing.T, h driver.Handle) *driver.ExitResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := h.Wait(ctx)
	if err != nil {
		t.Fatalf("Wait: %v", err)
	}
	return res
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func processExists(pid int) bool {
	// A zombie still answers kill(0); /proc/<pid>/stat says Z. Either way the
	// test wants "gone or a zombie of someone else" to count as gone only once reaped.
	_, err := os.Stat("/proc/" + strconv.Itoa(pid))
	return err == nil
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestRunsCommandWithOutputFilesAndExitCode(t *testing.T) {
	cfg := shTask(t, `echo hi; echo err >&2; echo "$GREETING" > greeting; exit 3`)
	h, err := newDriver(t).Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if h.(*handle).pid <= 0 {
		t.Fatalf("Pid = %d", h.(*handle).pid)
	}
	res := waitExit(t, h)
	if res.ExitCode != 3 || res.Signal != 0 || res.Successful() {
		t.Fatalf("result = %+v, want exit code 3", res)
	}
	if got := readFile(t, cfg.StdoutPath); got != "hi\n" {
		t.Errorf("stdout = %q", got)
	}
	if got := readFile(t, cfg.StderrPath); got != "err\n" {
		t.Errorf("stderr = %q", got)
	}
	// Working directory and environment.
	if got := readFile(t, filepath.Join(cfg.Dir, "greeting")); got != "hi\n" {
		t.Errorf("greeting = %q", got)
	}
	// A second Wait sees the same result; Stop after exit does nothing.
	if again := waitExit(t, h); *again != *res {
		t.Errorf("second Wait = %+v, want %+v", again, res)
	}
	if err := h.Stop("SIGINT", time.Second); err != nil {
		t.Errorf("Stop after exit: %v", err)
	}
}

func TestSuccessfulExit(t *testing.T) {
	h, err := newDriver(t).Start(context.Background(), shTask(t, `true`))
	if err != nil {
		t.Fatal(err)
	}
	if res := waitExit(t, h); !res.Successful() {
		t.Fatalf("result = %+v, want success", res)
	}
}

func TestStopSendsKillSignalThenKills(t *testing.T) {
	// The task traps SIGINT (records it and keeps running), so Stop has to
	// escalate to SIGKILL after the timeout.
	cfg := shTask(t, `trap 'echo got-int > trapped' INT; echo ready > ready; while :; do sleep 0.05; done`)
	h, err := newDriver(t).Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "task ready", func() bool { _, err := os.Stat(filepath.Join(cfg.Dir, "ready")); return err == nil })

	start := time.Now()
	if err := h.Stop("SIGINT", 300*time.Millisecond); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if took := time.Since(start); took < 300*time.Millisecond {
		t.Errorf("Stop returned after %v, before the kill timeout", took)
	}
	res := waitExit(t, h)
	if res.Signal != int(syscall.SIGKILL) || res.ExitCode != 128+int(syscall.SIGKILL) {
		t.Errorf("result = %+v, want killed by SIGKILL", res)
	}
	if got := readFile(t, filepath.Join(cfg.Dir, "trapped")); got != "got-int\n" {
		t.Errorf("the task did not see SIGINT first: %q", got)
	}
	if processExists(h.(*handle).pid) {
		t.Errorf("process %d still exists", h.(*handle).pid)
	}
}

func TestStopWithSignalTheTaskHonours(t *testing.T) {
	h, err := newDriver(t).Start(context.Background(), shTask(t, `exec sleep 1000`))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := h.Stop("SIGTERM", time.Minute); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 30*time.Second {
		t.Errorf("Stop took %v; SIGTERM should have ended the task", took)
	}
	if res := waitExit(t, h); res.Signal != int(syscall.SIGTERM) {
		t.Errorf("result = %+v, want SIGTERM", res)
	}
}

func TestStopKillsWholeProcessGroup(t *testing.T) {
	// The shell starts a child that ignores SIGINT, records its PID, and waits.
	cfg := shTask(t, `(trap '' INT; exec sleep 1000) & echo $! > child; wait`)
	h, err := newDriver(t).Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	childFile := filepath.Join(cfg.Dir, "child")
	var child int
	waitFor(t, "child pid", func() bool {
		b, err := os.ReadFile(childFile)
		if err != nil || !strings.HasSuffix(string(b), "\n") {
			return false
		}
		child, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil
	})
	if !processExists(child) {
		t.Fatalf("child %d not running", child)
	}
	if err := h.Stop("SIGINT", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	// The child is not ours to reap (init adopts it), so wait for it to vanish.
	waitFor(t, "child gone", func() bool { return !processExists(child) || isZombie(child) })
}

func TestLeftoversAreKilledWhenMainProcessExits(t *testing.T) {
	cfg := shTask(t, `sleep 1000 & echo $! > child`)
	h, err := newDriver(t).Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res := waitExit(t, h); !res.Successful() {
		t.Fatalf("result = %+v", res)
	}
	child, err := strconv.Atoi(strings.TrimSpace(readFile(t, filepath.Join(cfg.Dir, "child"))))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "leftover gone", func() bool { return !processExists(child) || isZombie(child) })
}

func isZombie(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	// pid (comm) S ...: the state follows the last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] == 'Z'
}

func TestStopWithBadSignalKillsAndReports(t *testing.T) {
	h, err := newDriver(t).Start(context.Background(), shTask(t, `exec sleep 1000`))
	if err != nil {
		t.Fatal(err)
	}
	err = h.Stop("SIGBOGUS", time.Minute)
	if err == nil || !strings.Contains(err.Error(), `"SIGBOGUS"`) {
		t.Fatalf("Stop error = %v, want one naming the signal", err)
	}
	if res := waitExit(t, h); res.Signal != int(syscall.SIGKILL) {
		t.Errorf("result = %+v, want SIGKILL", res)
	}
}

func TestBadConfig(t *testing.T) {
	cases := []struct {
		name   string
		config map[string]any
		want   []string
	}{
		{"no command", map[string]any{}, []string{`task "x": config.command: required`}},
		{"command not a string", map[string]any{"command": 3}, []string{`task "x": config.command: must be a string, got int`}},
		{"empty command", map[string]any{"command": ""}, []string{`task "x": config.command: must not be empty`}},
		{"args not a list", map[string]any{"command": "true", "args": "a b"}, []string{`task "x": config.args: must be a list of strings`}},
		{"args element", map[string]any{"command": "true", "args": []any{"a", 2}}, []string{`task "x": config.args: must be a list of strings (element 1 is int)`}},
		{"unknown key and no command", map[string]any{"image": "redis"}, []string{
			`task "x": config.image: unknown key`, `task "x": config.command: required`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := shTask(t, "true")
			cfg.TaskName = "x"
			cfg.Config = tc.config
			_, err := newDriver(t).Start(context.Background(), cfg)
			if !errors.Is(err, driver.ErrInvalidConfig) {
				t.Fatalf("error = %v, want ErrInvalidConfig", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestArgsAsStringSlice(t *testing.T) {
	tc, err := parseConfig("x", map[string]any{"command": "echo", "args": []string{"a", "b"}})
	if err != nil || tc.Command != "echo" || len(tc.Args) != 2 || tc.Args[1] != "b" {
		t.Fatalf("parseConfig = %+v, %v", tc, err)
	}
}

func TestMissingCommandIsAStartErrorNotAConfigError(t *testing.T) {
	cfg := shTask(t, "")
	cfg.Config = map[string]any{"command": "/nonexistent/orch-test-binary"}
	_, err := newDriver(t).Start(context.Background(), cfg)
	if err == nil || errors.Is(err, driver.ErrInvalidConfig) {
		t.Fatalf("error = %v, want a start error", err)
	}
	if !strings.Contains(err.Error(), `task "web"`) {
		t.Errorf("error %q does not name the task", err)
	}
}

func TestFingerprint(t *testing.T) {
	d := newDriver(t)
	if d.Name() != "raw_exec" {
		t.Errorf("Name = %q", d.Name())
	}
	fp := d.Fingerprint(context.Background())
	if !fp.Detected || !fp.Healthy {
		t.Errorf("Fingerprint = %+v", fp)
	}
}
