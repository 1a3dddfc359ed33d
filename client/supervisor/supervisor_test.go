package supervisor_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	. "github.com/orch-io/orch/client/supervisor"
	"github.com/orch-io/orch/client/supervisor/launch"
	"github.com/orch-io/orch/client/supervisor/supervisortest"
)

func TestMain(m *testing.M) {
	supervisortest.MaybeRun()
	os.Exit(m.Run())
}

// node is a supervisor directory and the task log directory of a test.
type node struct {
	t   *testing.T
	dir string // supervisor dir
	log string // task log dir
}

func newNode(t *testing.T) *node {
	t.Helper()
	root := t.TempDir()
	n := &node{t: t, dir: filepath.Join(root, "sv"), log: filepath.Join(root, "logs")}
	if err := os.MkdirAll(n.log, 0o755); err != nil {
		t.Fatal(err)
	}
	supervisortest.Cleanup(t, n.dir)
	return n
}

func (n *node) dial() *Client {
	n.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := Dial(ctx, ClientConfig{Dir: n.dir, Command: supervisortest.Command(n.dir)})
	if err != nil {
		n.t.Fatal(err)
	}
	n.t.Cleanup(c.Close)
	return c
}

func (n *node) spec(id, script string) *TaskSpec {
	return &TaskSpec{
		ID: id, Nonce: id + "-1", Path: "/bin/sh", Args: []string{"sh", "-c", script},
		Env: []string{"PATH=/usr/bin:/bin", "GREETING=hi"}, Dir: n.log,
		Logs: LogSpec{Dir: n.log, Name: id, MaxFiles: 3, MaxFileSizeMB: 1},
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond) // poll interval
	}
}

func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && i+2 < len(s) && s[i+2] != 'Z'
}

func bootID(t *testing.T) string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func readLog(t *testing.T, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	return string(b)
}

func TestRunsTaskWithLogsAndExitCode(t *testing.T) {
	n := newNode(t)
	c := n.dial()
	st, err := c.Start(ctxT(t), n.spec("t1", `echo "$GREETING"; echo oops >&2; exit 3`))
	if err != nil {
		t.Fatal(err)
	}
	if st.PID <= 0 || st.State != TaskRunning {
		t.Fatalf("start = %+v", st)
	}
	done, err := c.Wait(ctxT(t), "t1", st.Nonce)
	if err != nil {
		t.Fatal(err)
	}
	if done.ExitCode != 3 || done.Signal != 0 || done.ExitUnknown {
		t.Fatalf("exit = %+v, want code 3", done)
	}
	waitFor(t, "the logs", func() bool {
		return readLog(t, n.log, "t1.stdout.0") == "hi\n" && readLog(t, n.log, "t1.stderr.0") == "oops\n"
	})
	// A second start of a running ID with another nonce conflicts; the same
	// nonce returns the running task.
	spec := n.spec("t2", `exec sleep 1000`)
	first, err := c.Start(ctxT(t), spec)
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.Start(ctxT(t), spec)
	if err != nil || again.PID != first.PID {
		t.Fatalf("retried start = %+v, %v; want pid %d", again, err, first.PID)
	}
	spec2 := *spec
	spec2.Nonce = "other"
	if _, err := c.Start(ctxT(t), &spec2); !errors.Is(err, ErrConflict) {
		t.Fatalf("second start = %v, want ErrConflict", err)
	}
	if err := c.Forget(ctxT(t), "t2"); !errors.Is(err, ErrConflict) {
		t.Fatalf("forget of a running task = %v, want ErrConflict", err)
	}
	res, err := c.Stop(ctxT(t), "t2", "SIGTERM", time.Minute)
	if err != nil || res.Signal != int(syscall.SIGTERM) {
		t.Fatalf("stop = %+v, %v", res, err)
	}
	if err := c.Forget(ctxT(t), "t2"); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Task("t2"); ok {
		t.Fatal("a forgotten task is still listed")
	}
}

func TestStopEscalatesAndKillsTheGroup(t *testing.T) {
	n := newNode(t)
	c := n.dial()
	child := filepath.Join(n.log, "child")
	st, err := c.Start(ctxT(t), n.spec("t", `trap 'echo got-int' INT; (trap '' INT TERM; exec sleep 1000) & echo $! > `+child+`; while :; do sleep 0.05; done`))
	if err != nil {
		t.Fatal(err)
	}
	var childPID int
	waitFor(t, "the child", func() bool {
		b, err := os.ReadFile(child)
		if err != nil || !strings.HasSuffix(string(b), "\n") {
			return false
		}
		childPID, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil
	})
	res, err := c.Stop(ctxT(t), "t", "SIGINT", 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if res.Signal != int(syscall.SIGKILL) || res.PID != st.PID {
		t.Fatalf("stop = %+v, want killed by SIGKILL after the timeout", res)
	}
	waitFor(t, "the child to go", func() bool { return !alive(childPID) })
	waitFor(t, "the trap's output", func() bool { return strings.Contains(readLog(t, n.log, "t.stdout.0"), "got-int") })
}

func TestAgentReconnectSeesRunningTasksAndExitsWhileAway(t *testing.T) {
	n := newNode(t)
	c := n.dial()
	gate := filepath.Join(n.log, "gate")
	long, err := c.Start(ctxT(t), n.spec("long", `exec sleep 1000`))
	if err != nil {
		t.Fatal(err)
	}
	short, err := c.Start(ctxT(t), n.spec("short", `while [ ! -e `+gate+` ]; do sleep 0.02; done; exit 7`))
	if err != nil {
		t.Fatal(err)
	}
	supPID := c.PID()
	c.Close() // the agent goes away

	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the short task to exit", func() bool { return !alive(short.PID) })

	c2 := n.dial()
	if c2.PID() != supPID {
		t.Fatalf("reconnected to supervisor %d, want the same %d", c2.PID(), supPID)
	}
	got, ok := c2.Task("long")
	if !ok || got.State != TaskRunning || got.PID != long.PID {
		t.Fatalf("long = %+v, want running as pid %d", got, long.PID)
	}
	done, err := c2.Wait(ctxT(t), "short", short.Nonce)
	if err != nil || done.ExitCode != 7 || done.ExitUnknown {
		t.Fatalf("short = %+v, %v; want exit code 7", done, err)
	}
}

func TestSupervisorKilledTasksAreAdopted(t *testing.T) {
	n := newNode(t)
	c := n.dial()
	marker := filepath.Join(n.log, "after")
	st, err := c.Start(ctxT(t), n.spec("t", `echo before; while [ ! -e `+marker+` ]; do sleep 0.02; done; echo after; exec sleep 1000`))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "first output", func() bool { return readLog(t, n.log, "t.stdout.0") == "before\n" })
	old := c.PID()
	if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// The client starts a new supervisor, which adopts the task.
	waitFor(t, "a new supervisor", func() bool { p := c.PID(); return p != 0 && p != old })
	if !alive(st.PID) {
		t.Fatal("the task died with its supervisor")
	}
	got, _ := c.Task("t")
	if got.State != TaskRunning || !got.Adopted || got.PID != st.PID {
		t.Fatalf("task = %+v, want adopted and running", got)
	}
	// Its output still reaches its log through the reopened pipe.
	if err := os.WriteFile(marker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "output after adoption", func() bool { return readLog(t, n.log, "t.stdout.0") == "before\nafter\n" })

	res, err := c.Stop(ctxT(t), "t", "SIGTERM", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if !res.ExitUnknown || res.ExitCode != -1 {
		t.Fatalf("exit = %+v, want an unknown exit", res)
	}
	waitFor(t, "the task to go", func() bool { return !alive(st.PID) })
}

// TestUpgradedAgentReplacesAnOlderSupervisor: an agent of a newer protocol
// finds a supervisor of the older one running a task; the old supervisor
// refuses its hello, so the agent stops it (the task runs on) and starts one
// of its own build, which adopts the task.
func TestUpgradedAgentReplacesAnOlderSupervisor(t *testing.T) {
	n := newNode(t)
	old := n.dial()
	st, err := old.Start(ctxT(t), n.spec("t", `exec sleep 1000`))
	if err != nil {
		t.Fatal(err)
	}
	oldPID := old.PID()
	old.Close()

	t.Cleanup(SpeakNewerProtocol()) // after the newer client's Close
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	newer := supervisortest.Command(n.dir)
	c, err := Dial(ctx, ClientConfig{Dir: n.dir, Command: func() *exec.Cmd {
		cmd := newer()
		cmd.Env = append(cmd.Env, NewerEnv)
		return cmd
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	if c.PID() == oldPID {
		t.Fatalf("still connected to the old supervisor %d", oldPID)
	}
	waitFor(t, "the old supervisor to exit", func() bool { return !alive(oldPID) })
	got, ok := c.Task("t")
	if !ok || got.State != TaskRunning || !got.Adopted || got.PID != st.PID || !alive(st.PID) {
		t.Fatalf("task = %+v (found %v), want pid %d running, adopted by the new supervisor", got, ok, st.PID)
	}
	res, err := c.Stop(ctxT(t), "t", "SIGTERM", time.Minute)
	if err != nil || !res.ExitUnknown {
		t.Fatalf("stop = %+v, %v; want an unknown exit", res, err)
	}
	waitFor(t, "the task to go", func() bool { return !alive(st.PID) })
}

func TestAdoptionRejectsAReusedPID(t *testing.T) {
	n := newNode(t)
	// A record of a task "running" as this very process, started at another
	// time: a reused PID.
	self, err := StartTicks(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(n.dir, "tasks"), 0o700); err != nil {
		t.Fatal(err)
	}
	for id, rec := range map[string]TaskStatus{
		"reused":   {PID: os.Getpid(), StartTicks: self + 1, BootID: bootID(t)},
		"rebooted": {PID: os.Getpid(), StartTicks: self, BootID: "another-boot"},
	} {
		rec.ID, rec.Nonce, rec.State, rec.Logs = id, "n", TaskRunning, LogSpec{Disabled: true}
		b, _ := json.Marshal(rec)
		if err := os.WriteFile(filepath.Join(n.dir, "tasks", id+".json"), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	c := n.dial()
	for id, want := range map[string]string{"reused": "exited while no supervisor watched it", "rebooted": "the node rebooted"} {
		st, ok := c.Task(id)
		if !ok || st.State != TaskExited || !st.ExitUnknown || st.Lost != want {
			t.Errorf("%s = %+v, want lost: %q", id, st, want)
		}
	}
}

func TestSecondSupervisorRefuses(t *testing.T) {
	n := newNode(t)
	c := n.dial()
	_ = c
	err := Run(context.Background(), n.dir, slog.New(slog.DiscardHandler))
	if !errors.Is(err, ErrRunning) {
		t.Fatalf("Run = %v, want ErrRunning", err)
	}
}

func TestDialRefusesASocketPathTooLong(t *testing.T) {
	dir := filepath.Join(t.TempDir(), strings.Repeat("d", 120))
	_, err := Dial(t.Context(), ClientConfig{Dir: dir})
	if err == nil || !strings.Contains(err.Error(), "use a shorter data_dir") {
		t.Fatalf("Dial in a %d-byte directory = %v, want the socket path limit named", len(dir), err)
	}
}

// The supervisor says it isolates tasks, refuses an isolation it does not
// know, and reports a launcher's failure as the start's error (here: no
// such program, without namespaces, so the test needs no root).
func TestIsolationFeatureAndLaunchErrors(t *testing.T) {
	n := newNode(t)
	c := n.dial()
	if !c.Supports(FeatureIsolation) {
		t.Fatal("the supervisor does not announce isolation")
	}
	bad := n.spec("bad", "true")
	bad.Isolation = &launch.Isolation{Namespaces: []string{"time"}}
	if _, err := c.Start(ctxT(t), bad); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), `namespace "time"`) {
		t.Errorf("start with namespace time: %v, want invalid, naming it", err)
	}
	if os.Geteuid() != 0 {
		t.Skip("the launcher's setgroups needs root")
	}
	missing := n.spec("missing", "")
	missing.Path, missing.Args = "no-such-program", []string{"no-such-program"}
	missing.Env = []string{"PATH=/nonexistent"}
	missing.Isolation = &launch.Isolation{}
	if _, err := c.Start(ctxT(t), missing); err == nil || !strings.Contains(err.Error(), `"no-such-program": not found in PATH /nonexistent`) {
		t.Errorf("start of a missing program: %v, want the launcher's error", err)
	}
}

// An embedded supervisor's tasks cannot outlive its process: when it stops,
// it kills the tasks still running (a start that raced the agent's stop
// left one behind) and starts nothing more.
func TestEmbeddedSupervisorStopKillsItsTasks(t *testing.T) {
	n := newNode(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- RunEmbedded(ctx, n.dir, slog.New(slog.DiscardHandler)) }()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cancel()
			if err := <-done; err != nil {
				t.Errorf("RunEmbedded = %v", err)
			}
		}
	}
	t.Cleanup(stop)
	dctx, dcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer dcancel()
	c, err := Dial(dctx, ClientConfig{Dir: n.dir, Command: func() *exec.Cmd { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	st, err := c.Start(ctxT(t), n.spec("left", `exec sleep 1000`))
	if err != nil {
		t.Fatal(err)
	}
	if !alive(st.PID) {
		t.Fatalf("task %d not running after its start", st.PID)
	}
	stop()
	waitFor(t, "the embedded supervisor's task killed", func() bool { return !alive(st.PID) })
}
