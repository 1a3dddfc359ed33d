package docker

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/orch-io/orch/internal/dockertest"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/client"

	"github.com/orch-io/orch/client/driver"
	"github.com/orch-io/orch/structs"
)

// testImage is built once per test run FROM scratch with the static binary
// of testdata/app: no image can be pulled on the machines tests run on.
const testImage = dockertest.Image

var (
	imageOnce sync.Once
	imageErr  error
)

// newDriver returns a driver for the local daemon, skipping the test when
// none answers, and builds the test image.
func newDriver(t *testing.T, cfg PluginConfig) *Docker {
	t.Helper()
	d, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if fp := d.Fingerprint(ctx); !fp.Healthy {
		t.Skipf("skipping: no Docker engine answers (%s)", fp.HealthDescription)
	}
	imageOnce.Do(func() { imageErr = buildTestImage(d.api) })
	if imageErr != nil {
		t.Fatalf("building the test image: %v", imageErr)
	}
	return d
}

func buildTestImage(api *client.Client) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	return dockertest.BuildImage(ctx, api, "testdata/app")
}

func newTaskConfig(t *testing.T, config map[string]any) *driver.TaskConfig {
	t.Helper()
	dir := t.TempDir()
	for _, sub := range []string{"alloc", "local", "secrets"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o777); err != nil {
			t.Fatal(err)
		}
	}
	return &driver.TaskConfig{
		AllocID: structs.GenerateUUID(), JobID: "example", TaskName: "web", Config: config,
		TaskEnv: []string{"GREETING=hi"}, Dir: dir,
		AllocDir: filepath.Join(dir, "alloc"), LocalDir: filepath.Join(dir, "local"), SecretsDir: filepath.Join(dir, "secrets"),
		StdoutPath: filepath.Join(dir, "web.stdout.0"), StderrPath: filepath.Join(dir, "web.stderr.0"),
		Resources: &structs.Resources{CPU: 100, MemoryMB: 64},
	}
}

func start(t *testing.T, d *Docker, cfg *driver.TaskConfig) driver.Handle {
	t.Helper()
	h, err := d.Start(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = h.Destroy(ctx)
	})
	return h
}

func waitExit(t *testing.T, h driver.Handle) *driver.ExitResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := h.Wait(ctx)
	if err != nil {
		t.Fatalf("Wait: %v", err)
	}
	return res
}

func waitFile(t *testing.T, path, want string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		b, _ := os.ReadFile(path)
		if strings.Contains(string(b), want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s = %q, want it to contain %q", path, b, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestRunsLocalImageWithLogsLimitsAndExitCode(t *testing.T) {
	d := newDriver(t, DefaultPluginConfig())
	cfg := newTaskConfig(t, map[string]any{"image": testImage, "args": []any{"echo", "to-stdout", "to-stderr"}, "labels": map[string]any{"team": "core"}})
	h := start(t, d, cfg)
	if res := waitExit(t, h); !res.Successful() {
		t.Fatalf("result = %v", res)
	}
	if got := readFile(t, cfg.StdoutPath); got != "to-stdout\n" {
		t.Errorf("stdout = %q", got)
	}
	if got := readFile(t, cfg.StderrPath); got != "to-stderr\n" {
		t.Errorf("stderr = %q", got)
	}
	ins, err := d.api.ContainerInspect(context.Background(), h.TaskHandle().ID, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c := ins.Container
	if c.HostConfig.Memory != 64<<20 || c.HostConfig.CPUShares != 100 {
		t.Errorf("memory = %d, cpu shares = %d; want 64 MiB and 100", c.HostConfig.Memory, c.HostConfig.CPUShares)
	}
	if l := c.Config.Labels; l[labelAllocID] != cfg.AllocID || l[labelTask] != "web" || l[labelJobID] != "example" || l["team"] != "core" {
		t.Errorf("labels = %v", l)
	}
	if c.Name != "/web-"+cfg.AllocID {
		t.Errorf("name = %q", c.Name)
	}

	cfg2 := newTaskConfig(t, map[string]any{"image": testImage, "args": []any{"exit", "3"}})
	if res := waitExit(t, start(t, d, cfg2)); res.ExitCode != 3 || res.Signal != 0 {
		t.Errorf("result = %v, want exit code 3", res)
	}
	cfg4 := newTaskConfig(t, map[string]any{"image": testImage, "args": []any{"exit", "0"}})
	cfg4.Resources = &structs.Resources{CPU: 1000, Cores: 1, MemoryMB: 32, MemoryMaxMB: 96, ReservedCores: []int{0}}
	h4 := start(t, d, cfg4)
	ins4, err := d.api.ContainerInspect(context.Background(), h4.TaskHandle().ID, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if hc := ins4.Container.HostConfig; hc.CpusetCpus != "0" || hc.Memory != 96<<20 || hc.MemoryReservation != 32<<20 {
		t.Errorf("cores and memory_max: cpuset %q, memory %d, reservation %d; want 0, 96 MiB, 32 MiB", hc.CpusetCpus, hc.Memory, hc.MemoryReservation)
	}
	cfg3 := newTaskConfig(t, map[string]any{"image": testImage, "args": []any{"env", "GREETING"}})
	waitExit(t, start(t, d, cfg3))
	if got := readFile(t, cfg3.StdoutPath); got != "hi\n" {
		t.Errorf("the task's environment: GREETING = %q", got)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func TestMappedPortAnswersOnTheNodeAndStopSendsKillSignal(t *testing.T) {
	d := newDriver(t, DefaultPluginConfig())
	cfg := newTaskConfig(t, map[string]any{"image": testImage, "args": []any{"serve", "8080"}, "ports": []any{"http"}})
	port := freePort(t)
	cfg.Ports = structs.AllocatedPorts{{Label: "http", Value: port, To: 8080, HostIP: "127.0.0.1"}}
	h := start(t, d, cfg)
	waitFile(t, cfg.StdoutPath, "serving")

	var body []byte
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://127.0.0.1:" + itoa(port) + "/")
		if err == nil {
			body, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("port %d does not answer: %v", port, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if string(body) != "hello from orch\n" {
		t.Errorf("body = %q", body)
	}
	if err := h.Stop("SIGTERM", 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if res := waitExit(t, h); !res.Successful() {
		t.Errorf("result = %v: the app exits 0 on SIGTERM", res)
	}
	waitFile(t, cfg.StdoutPath, "got terminated")
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestStopEscalatesToSIGKILL(t *testing.T) {
	d := newDriver(t, DefaultPluginConfig())
	cfg := newTaskConfig(t, map[string]any{"image": testImage, "args": []any{"wait"}})
	h := start(t, d, cfg)
	waitFile(t, cfg.StdoutPath, "waiting")
	if err := h.Stop("SIGINT", 200*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if res := waitExit(t, h); res.Signal != int(syscall.SIGKILL) || res.ExitCode != 137 {
		t.Errorf("result = %v, want SIGKILL", res)
	}
}

func TestRecoverReattachesToTheContainer(t *testing.T) {
	d := newDriver(t, DefaultPluginConfig())
	cfg := newTaskConfig(t, map[string]any{"image": testImage, "args": []any{"wait"}})
	h := start(t, d, cfg)
	waitFile(t, cfg.StdoutPath, "waiting")
	th := h.TaskHandle()

	// A new agent: a new driver value and client connection.
	d2 := newDriver(t, DefaultPluginConfig())
	h2, err := d2.Recover(context.Background(), cfg, th.Copy())
	if err != nil {
		t.Fatalf("Recover: %v", err)
	}
	if err := h2.Signal("SIGTERM"); err != nil {
		t.Fatal(err)
	}
	if res := waitExit(t, h2); !res.Successful() {
		t.Errorf("result = %v", res)
	}
	// The exited container is still recoverable, and reports its exit.
	h3, err := d2.Recover(context.Background(), cfg, th.Copy())
	if err != nil {
		t.Fatalf("Recover of the exited container: %v", err)
	}
	if res := waitExit(t, h3); !res.Successful() {
		t.Errorf("result = %v", res)
	}
	if err := h3.Destroy(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := d2.Recover(context.Background(), cfg, th.Copy()); !errors.Is(err, driver.ErrTaskNotFound) {
		t.Errorf("Recover of a removed container: %v, want ErrTaskNotFound", err)
	}
	other := *cfg
	other.AllocID = structs.GenerateUUID()
	h4 := start(t, d, newTaskConfig(t, map[string]any{"image": testImage, "args": []any{"wait"}}))
	if _, err := d2.Recover(context.Background(), &other, h4.TaskHandle()); !errors.Is(err, driver.ErrTaskNotFound) {
		t.Errorf("Recover of another task's container: %v, want ErrTaskNotFound", err)
	}
}

func TestExecRunsInTheContainer(t *testing.T) {
	d := newDriver(t, DefaultPluginConfig())
	cfg := newTaskConfig(t, map[string]any{"image": testImage, "args": []any{"wait"}})
	h := start(t, d, cfg)
	waitFile(t, cfg.StdoutPath, "waiting")
	res, err := h.Exec(context.Background(), []string{"/app", "echo", "out", "err"})
	if err != nil {
		t.Fatal(err)
	}
	if string(res.Stdout) != "out\n" || string(res.Stderr) != "err\n" || res.ExitCode != 0 {
		t.Errorf("Exec = %q %q %d", res.Stdout, res.Stderr, res.ExitCode)
	}
	st, err := h.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.MemoryUsageBytes == 0 {
		t.Errorf("Stats = %+v, want some memory in use", st)
	}
}

func TestMissingImageAndForcePullFailClearly(t *testing.T) {
	d := newDriver(t, DefaultPluginConfig())
	for _, tc := range []struct {
		config map[string]any
		image  string
	}{
		{map[string]any{"image": "orch-test-no-such-image:v0"}, "orch-test-no-such-image:v0"},
		{map[string]any{"image": testImage, "force_pull": true}, testImage},
	} {
		_, err := d.Start(context.Background(), newTaskConfig(t, tc.config))
		if err == nil {
			t.Fatalf("%v: Start succeeded", tc.config)
		}
		if msg := err.Error(); !strings.Contains(msg, `pulling image "`+tc.image+`": the Docker daemon answered: `) {
			t.Errorf("error %q does not name the image and the daemon's answer", msg)
		}
		if errors.Is(err, driver.ErrInvalidConfig) {
			t.Errorf("error %v: a pull failure is not a config error", err)
		}
	}
}

func TestReconcileRemovesDanglingContainers(t *testing.T) {
	cfg := DefaultPluginConfig()
	cfg.Dangling.CreationGrace = 0
	d := newDriver(t, cfg)
	kept := start(t, d, newTaskConfig(t, map[string]any{"image": testImage, "args": []any{"wait"}}))
	dangling := newTaskConfig(t, map[string]any{"image": testImage, "args": []any{"wait"}})
	h := start(t, d, dangling)

	// Only this test's dangling container is unowned: containers of other
	// tests (and of other engineers' runs) must stay.
	owned := func(alloc string) bool { return alloc != dangling.AllocID }
	n, err := d.ReconcileDangling(context.Background(), owned)
	if err != nil || n != 1 {
		t.Fatalf("ReconcileDangling = %d, %v; want 1 removed", n, err)
	}
	waitExit(t, h)
	if _, err := d.api.ContainerInspect(context.Background(), h.TaskHandle().ID, client.ContainerInspectOptions{}); !errdefs.IsNotFound(err) {
		t.Errorf("the dangling container is still there: %v", err)
	}
	if _, err := d.api.ContainerInspect(context.Background(), kept.TaskHandle().ID, client.ContainerInspectOptions{}); err != nil {
		t.Errorf("the owned container is gone: %v", err)
	}
}

func TestBadConfigNamesEveryProblem(t *testing.T) {
	cfg := newTaskConfig(t, map[string]any{
		"args": "x", "ports": []any{"db"}, "volumes": []any{"/etc:/etc"},
		"labels": map[string]any{"io.orch.alloc_id": "x"}, "auth": map[string]any{"token": "t"}, "privileged": true,
	})
	_, err := parseConfig(cfg, false)
	if !errors.Is(err, driver.ErrInvalidConfig) {
		t.Fatalf("error = %v", err)
	}
	for _, want := range []string{
		`task "web": config.image: required`,
		`task "web": config.args: must be a list of strings, got string`,
		`task "web": config.ports: "db": the group's network block has no port with this label`,
		`task "web": config.volumes: bind mounts are disabled on this node`,
		`task "web": config.labels: "io.orch.alloc_id": the "io.orch." prefix is orch's own`,
		`task "web": config.auth: "token": unknown key`,
		`task "web": config.privileged: unknown key (docker takes image, command`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error\n%v\ndoes not contain\n%s", err, want)
		}
	}
	cfg.Config = map[string]any{"image": "x", "volumes": []any{"data", "/a:/b:rw"}}
	if _, err := parseConfig(cfg, true); err == nil || !strings.Contains(err.Error(), `config.volumes: "data": must be "host_path:/container_path"`) {
		t.Errorf("error = %v", err)
	}
}

// An interactive exec: stdin reaches the command in the container, output
// and exit code come back; on a terminal too.
func TestExecStreamingInTheContainer(t *testing.T) {
	d := newDriver(t, DefaultPluginConfig())
	cfg := newTaskConfig(t, map[string]any{"image": testImage, "args": []any{"wait"}})
	h := start(t, d, cfg)
	waitFile(t, cfg.StdoutPath, "waiting")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, tty := range []bool{false, true} {
		var out, errOut bytes.Buffer
		code, err := driver.ExecStreaming(ctx, h, &driver.ExecOptions{
			Cmd: []string{"/app", "upper"}, Tty: tty, Size: driver.TerminalSize{Height: 24, Width: 80},
			Stdin: strings.NewReader("hello\n"), Stdout: &out, Stderr: &errOut,
		})
		if err != nil || code != 3 || !strings.Contains(out.String(), "HELLO") {
			t.Errorf("tty %v: exec = %d, %v, stdout %q, stderr %q; want 3 and HELLO", tty, code, err, out.String(), errOut.String())
		}
	}
}
