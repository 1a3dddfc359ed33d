package exec

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/orch-io/orch/client/driver"
	"github.com/orch-io/orch/client/supervisor"
	"github.com/orch-io/orch/client/supervisor/supervisortest"
	"github.com/orch-io/orch/structs"
)

func TestMain(m *testing.M) {
	supervisortest.MaybeRun()
	os.Exit(m.Run())
}

// newDriver returns exec on a supervisor of its own, with its cgroups
// under a parent of the test's, removed (with whatever runs in them) when
// the test ends. It skips where exec cannot run.
func newDriver(t *testing.T) (*Exec, *supervisor.Client, string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("exec needs root")
	}
	if _, err := detectCgroups("/sys/fs/cgroup"); err != nil {
		t.Skipf("exec needs cgroups: %v", err)
	}
	sup, dir := supervisortest.Start(t)
	parent := "orch-test-" + structs.GenerateUUID()[:8]
	d := New(PluginConfig{CgroupParent: parent}, nil, sup)
	t.Cleanup(func() { removeCgroupParent(t, d) })
	if fp := d.Fingerprint(context.Background()); !fp.Healthy {
		t.Fatalf("Fingerprint = %+v, want healthy", fp)
	}
	return d, sup, dir
}

// removeCgroupParent kills and removes every task cgroup of d's parent,
// then the parent.
func removeCgroupParent(t *testing.T, d *Exec) {
	v, _ := d.cgroups()
	var parents []string
	if v == cgroupV2 {
		parents = []string{filepath.Join(d.cfg.CgroupRoot, d.cfg.CgroupParent)}
	} else {
		for _, c := range append(v1Controllers, "cpuset") {
			parents = append(parents, filepath.Join(d.cfg.CgroupRoot, c, d.cfg.CgroupParent))
		}
	}
	for _, p := range parents {
		entries, _ := os.ReadDir(p)
		for _, e := range entries {
			if e.IsDir() {
				if err := killAndRemove(filepath.Join(p, e.Name())); err != nil {
					t.Errorf("cleanup: %v", err)
				}
			}
		}
		if err := killAndRemove(p); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	}
}

// shTask returns a TaskConfig running /bin/sh -c script in a fresh
// allocation directory laid out as the alloc runner lays it out.
func shTask(t *testing.T, script string) *driver.TaskConfig {
	t.Helper()
	allocs := t.TempDir()
	if err := os.Chmod(allocs, 0o755); err != nil {
		t.Fatal(err)
	}
	shared := filepath.Join(allocs, "alloc")
	taskDir := filepath.Join(allocs, "web")
	for _, d := range []string{"data", "logs", "tmp"} {
		mkdir(t, filepath.Join(shared, d), 0o755)
	}
	mkdir(t, filepath.Join(taskDir, "local"), 0o755)
	mkdir(t, filepath.Join(taskDir, "tmp"), 0o755)
	mkdir(t, filepath.Join(taskDir, "secrets"), 0o700)
	return &driver.TaskConfig{
		AllocID:    "alloc-" + structs.GenerateUUID()[:8],
		TaskName:   "web",
		Config:     map[string]any{"command": "/bin/sh", "args": []any{"-c", script}},
		TaskEnv:    []string{"GREETING=hi", "NOMAD_TASK_DIR=/local"},
		Dir:        taskDir,
		AllocDir:   shared,
		LocalDir:   filepath.Join(taskDir, "local"),
		SecretsDir: filepath.Join(taskDir, "secrets"),
		StdoutPath: filepath.Join(shared, "logs", "web.stdout.0"),
		StderrPath: filepath.Join(shared, "logs", "web.stderr.0"),
		Resources:  &structs.Resources{CPU: 100, MemoryMB: 64},
	}
}

func mkdir(t *testing.T, p string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(p, mode); err != nil {
		t.Fatal(err)
	}
}

func waitExit(t *testing.T, h driver.Handle) *driver.ExitResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := h.Wait(ctx)
	if err != nil {
		t.Fatalf("Wait: %v", err)
	}
	return res
}

func start(t *testing.T, d *Exec, cfg *driver.TaskConfig) driver.Handle {
	t.Helper()
	h, err := d.Start(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = h.Destroy(context.Background()) })
	return h
}

// The task runs as nobody in its own PID namespace (it is PID 1 and sees
// only its own processes), in a root of its own: chroot_env read-only, no
// /root, /local and /alloc writable, /secrets a tmpfs with what was there.
func TestTaskIsIsolated(t *testing.T) {
	d, _, _ := newDriver(t)
	cfg := shTask(t, `
exec > /local/out 2>&1
echo "pid=$$"
echo "uid=$(id -u)"
ls /proc > /tmp/procs; echo "procs=$(grep -c '^[0-9]' /tmp/procs)"
if [ -e /root ]; then echo root=visible; else echo root=hidden; fi
if touch /usr/x 2>/dev/null; then echo usr=writable; else echo usr=readonly; fi
echo hello > /alloc/data/f && echo alloc=writable
echo "secret=$(cat /secrets/token)"
echo "greeting=$GREETING"
echo done`)
	if err := os.WriteFile(filepath.Join(cfg.SecretsDir, "token"), []byte("s3cret"), 0o600); err != nil {
		t.Fatal(err)
	}
	h := start(t, d, cfg)
	res := waitExit(t, h)
	out, _ := os.ReadFile(filepath.Join(cfg.LocalDir, "out"))
	if !res.Successful() {
		stderr, _ := os.ReadFile(cfg.StderrPath)
		t.Fatalf("exit %v; output:\n%s\nstderr: %s", res, out, stderr)
	}
	for _, want := range []string{"pid=1", "uid=65534", "procs=2", "root=hidden", "usr=readonly", "alloc=writable", "secret=s3cret", "greeting=hi", "done"} {
		if !strings.Contains(string(out), want+"\n") {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if got, _ := os.ReadFile(filepath.Join(cfg.AllocDir, "data", "f")); string(got) != "hello\n" {
		t.Errorf("/alloc/data/f on the host = %q", got)
	}
	// Nothing of the task's mounts is left on the host.
	mounts, _ := os.ReadFile("/proc/self/mountinfo")
	if strings.Contains(string(mounts), cfg.Dir) {
		t.Errorf("host mounts name the task dir:\n%s", mounts)
	}
}

// A task allocating 4× its memory is OOM-killed, and the exit says so with
// the limit.
func TestMemoryLimitOOMKills(t *testing.T) {
	d, _, _ := newDriver(t)
	cfg := shTask(t, `head -c 134217728 /dev/zero | tail; echo survived > /local/out`)
	cfg.Resources = &structs.Resources{CPU: 100, MemoryMB: 32}
	h := start(t, d, cfg)
	res := waitExit(t, h)
	if !res.OOMKilled || !strings.Contains(res.Err, "32 MiB") {
		t.Fatalf("exit %+v, want OOM killed at the 32 MiB limit", res)
	}
}

// A task given cores runs on them only (its cpuset cgroup), and its cpu
// shares are their MHz.
func TestCoresPinTheTask(t *testing.T) {
	d, _, _ := newDriver(t)
	core := 0
	if n := len(onlineCores(t)); n > 1 {
		core = n - 1
	}
	cfg := shTask(t, `grep Cpus_allowed_list /proc/self/status > /local/out`)
	cfg.Resources = &structs.Resources{CPU: 1000, Cores: 1, MemoryMB: 64, ReservedCores: []int{core}}
	h := start(t, d, cfg)
	if res := waitExit(t, h); !res.Successful() {
		t.Fatalf("exit %+v", res)
	}
	out, _ := os.ReadFile(filepath.Join(cfg.LocalDir, "out"))
	if got := strings.Fields(string(out)); len(got) != 2 || got[1] != fmt.Sprint(core) {
		t.Fatalf("task's %q, want Cpus_allowed_list %d", out, core)
	}
}

// onlineCores are the machine's cores, as the fingerprint reads them.
func onlineCores(t *testing.T) []int {
	b, err := os.ReadFile("/sys/devices/system/cpu/online")
	if err != nil {
		t.Skipf("no cpu list: %v", err)
	}
	cores, err := structs.ParseCoreList(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return cores
}

// With memory oversubscription (memory_max allocated), the task may use up
// to memory_max: memory is only its soft limit.
func TestMemoryMaxIsTheHardLimit(t *testing.T) {
	d, _, _ := newDriver(t)
	cfg := shTask(t, `head -c 67108864 /dev/zero | tail | wc -c > /local/out`)
	cfg.Resources = &structs.Resources{CPU: 100, MemoryMB: 32, MemoryMaxMB: 160}
	h := start(t, d, cfg)
	if res := waitExit(t, h); !res.Successful() || res.OOMKilled {
		t.Fatalf("exit %+v: a task using 2× memory and less than memory_max is killed", res)
	}
	if out, _ := os.ReadFile(filepath.Join(cfg.LocalDir, "out")); strings.TrimSpace(string(out)) != "67108864" {
		t.Fatalf("output %q", out)
	}
	lim := d.limits(cfg, taskConfig{})
	if lim.hardMemory() != 160<<20 || lim.softMemory() != 32<<20 {
		t.Fatalf("limits %+v, want hard 160 MiB, soft 32 MiB", lim)
	}
}

// orch alloc exec into an exec task: the command runs in the task's PID
// namespace (it sees the task's processes only), its root (no /root), its
// cgroup and as its user.
func TestExecEntersTheTask(t *testing.T) {
	d, _, _ := newDriver(t)
	cfg := shTask(t, `echo ready > /local/ready; exec sleep 1000`)
	h := start(t, d, cfg)
	waitFor(t, "task ready", func() bool { _, err := os.Stat(filepath.Join(cfg.LocalDir, "ready")); return err == nil })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	res, err := h.Exec(ctx, []string{"ps", "-eo", "pid,user,comm"})
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("ps: %+v, %v", res, err)
	}
	lines := strings.Split(strings.TrimSpace(string(res.Stdout)), "\n")
	if len(lines) != 3 || !strings.Contains(lines[1], "1 nobody   sleep") || !strings.Contains(lines[2], "nobody   ps") {
		t.Fatalf("ps in the task sees:\n%s\nwant its PID 1 (sleep) and itself, as nobody", res.Stdout)
	}
	res, err = h.Exec(ctx, []string{"ls", "/root"})
	if err != nil || res.ExitCode == 0 {
		t.Fatalf("ls /root: %+v, %v; want it to fail", res, err)
	}
	res, err = h.Exec(ctx, []string{"sh", "-c", "cat /local/ready; cat /proc/self/cgroup; echo $GREETING"})
	if err != nil || res.ExitCode != 0 || !strings.HasPrefix(string(res.Stdout), "ready\n") ||
		!strings.Contains(string(res.Stdout), taskID(cfg)) || !strings.HasSuffix(string(res.Stdout), "hi\n") {
		t.Fatalf("the command does not see the task's files, cgroup and environment: %+v, %v (stdout %s)", res, err, res.Stdout)
	}
	if _, err := h.Exec(ctx, []string{"no-such-command"}); err != nil {
		t.Fatalf("a missing command is an exit code, not an error: %v", err)
	}
}

func TestCommandNotFoundFailsTheStart(t *testing.T) {
	d, _, _ := newDriver(t)
	cfg := shTask(t, "")
	cfg.Config = map[string]any{"command": "no-such-command"}
	_, err := d.Start(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "no-such-command") {
		t.Fatalf("Start = %v, want an error naming the command", err)
	}
	if _, err := os.Stat(d.cgroupOf(d.version, taskID(cfg), limits{}).dirs()[0]); err == nil {
		t.Error("the failed start left its cgroup")
	}
}

// A second agent (supervisor client) recovers the task; stats come from its
// cgroup; Destroy removes the cgroup.
func TestRecoverStatsDestroy(t *testing.T) {
	d, _, dir := newDriver(t)
	cfg := shTask(t, `echo ready > /local/ready; exec sleep 1000`)
	h := start(t, d, cfg)
	th := h.TaskHandle()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sup2, err := supervisor.Dial(ctx, supervisor.ClientConfig{Dir: dir, Command: supervisortest.Command(dir)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sup2.Close)
	d2 := New(d.cfg, nil, sup2)
	h2, err := d2.Recover(ctx, cfg, th.Copy())
	if err != nil {
		t.Fatalf("Recover: %v", err)
	}
	waitFor(t, "task ready", func() bool { _, err := os.Stat(filepath.Join(cfg.LocalDir, "ready")); return err == nil })
	st, err := h2.Stats(ctx)
	if err != nil || st.MemoryUsageBytes == 0 {
		t.Errorf("Stats = %+v, %v; want the cgroup's memory", st, err)
	}
	stale := th.Copy()
	stale.Data[nonceKey] = "another-run"
	if _, err := d2.Recover(ctx, cfg, stale); !errors.Is(err, driver.ErrTaskNotFound) {
		t.Errorf("Recover of another run: %v, want ErrTaskNotFound", err)
	}
	// sleep is PID 1 without a SIGINT handler: the kernel drops the
	// signal, and the stop kills it after the timeout. (Once the shell has
	// exec'd it: "ready" is written before, and the shell exits on SIGINT.)
	pid := h2.(*handle).pid
	waitFor(t, "the task's shell to exec sleep", func() bool {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		return strings.TrimSpace(string(b)) == "sleep"
	})
	if err := h2.Stop("SIGINT", 100*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if res := waitExit(t, h2); res.Signal != 9 || res.OOMKilled {
		t.Errorf("exit %+v, want SIGKILL", res)
	}
	if err := h2.Destroy(ctx); err != nil {
		t.Fatal(err)
	}
	for _, p := range d2.cgroupOf(d2.version, th.ID, limits{}).dirs() {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("cgroup %s still exists after Destroy", p)
		}
	}
}

func TestFingerprintNotRoot(t *testing.T) {
	d := New(PluginConfig{}, nil, nil)
	d.geteuid = func() int { return 1000 }
	fp := d.Fingerprint(context.Background())
	if fp.Detected || fp.Healthy || !strings.Contains(fp.HealthDescription, "root") {
		t.Errorf("Fingerprint = %+v, want undetected: needs root", fp)
	}
}

func TestConfigErrors(t *testing.T) {
	_, err := parseConfig("web", map[string]any{"args": "x", "pid_mode": "shared", "bogus": 1})
	for _, want := range []string{"config.command: required", "config.args", `config.pid_mode: "shared"`, "config.bogus: unknown key"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %q", err, want)
		}
	}
	if !errors.Is(err, driver.ErrInvalidConfig) {
		t.Error("not ErrInvalidConfig")
	}
}

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

var _ = fmt.Sprintf
