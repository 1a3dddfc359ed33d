package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/orch-io/orch/api"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/orch-io/orch/client/supervisor/supervisortest"
	"github.com/orch-io/orch/internal/freeport"
	"github.com/orch-io/orch/internal/testbin"
	"github.com/orch-io/orch/structs"
)

// orchBin is the binary under test, built once by TestMain.
var orchBin string

func TestMain(m *testing.M) {
	bin, remove, err := testbin.Build(repoRoot())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	orchBin = bin
	code := m.Run()
	remove()
	os.Exit(code)
}

func repoRoot() string {
	if root := os.Getenv("ORCH_REPO_ROOT"); root != "" {
		return root
	}
	wd, _ := os.Getwd()
	return filepath.Dir(wd) // tests run in e2e/
}

// agentProc is one `orch agent` process.
type agentProc struct {
	t       testing.TB
	cmd     *exec.Cmd
	dataDir string
	ports   [3]int // http, rpc, gossip
	logPath string
	exited  chan struct{}
	waitErr error
}

func (a *agentProc) addr() string { return fmt.Sprintf("http://127.0.0.1:%d", a.ports[0]) }

// startDevAgent starts `orch agent -dev` on the given data dir and ports and
// waits until its client node is ready.
func startDevAgent(t testing.TB, dataDir string, ports [3]int) *agentProc {
	t.Helper()
	return startDevAgentBin(t, orchBin, dataDir, ports)
}

// startDevAgentBin is startDevAgent running the orch binary bin.
func startDevAgentBin(t testing.TB, bin, dataDir string, ports [3]int) *agentProc {
	t.Helper()
	a := startAgentBin(t, bin, dataDir, ports, "-dev", "-node", "e2e-node")
	a.waitFor("the client node to be ready", 30*time.Second, func() (bool, error) {
		var nodes []*structs.NodeListStub
		if err := a.get("/v1/nodes", &nodes); err != nil {
			return false, nil // not listening yet
		}
		return len(nodes) == 1 && nodes[0].Status == structs.NodeStatusReady, nil
	})
	return a
}

// rawExecConfig is the agent file that enables raw_exec.
const rawExecConfig = `plugin "raw_exec" {
  config { enabled = true }
}
`

// startAgent starts `orch agent` with args on the given data dir and ports.
// The agent is stopped (SIGTERM, then SIGKILL) when the test ends.
func startAgent(t testing.TB, dataDir string, ports [3]int, args ...string) *agentProc {
	t.Helper()
	return startAgentBin(t, orchBin, dataDir, ports, args...)
}

// startAgentBin is startAgent running the orch binary bin.
func startAgentBin(t testing.TB, bin, dataDir string, ports [3]int, args ...string) *agentProc {
	t.Helper()
	a := &agentProc{t: t, dataDir: dataDir, ports: ports, exited: make(chan struct{})}
	// Tasks outlive the agent under its supervisor: whatever happens, both
	// go when the test ends (registered first, so it runs after the agent's stop).
	supervisortest.Cleanup(t, filepath.Join(dataDir, "supervisor"))
	a.logPath = filepath.Join(t.TempDir(), "agent.log")
	logf, err := os.Create(a.logPath)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(args, "-client") && !slices.Contains(args, "-config") {
		// raw_exec is off outside -dev: client agents of the tests run it.
		cfg := filepath.Join(t.TempDir(), "raw_exec.hcl")
		if err := os.WriteFile(cfg, []byte(rawExecConfig), 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, "-config", cfg)
	}
	args = append([]string{"agent", "-data-dir", dataDir,
		"-http-port", strconv.Itoa(ports[0]), "-rpc-port", strconv.Itoa(ports[1]), "-gossip-port", strconv.Itoa(ports[2]),
		"-log-level", "debug"}, args...)
	a.cmd = exec.Command(bin, args...)
	a.cmd.Stdout, a.cmd.Stderr = logf, logf
	if err := a.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		a.waitErr = a.cmd.Wait()
		logf.Close()
		close(a.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-a.exited:
		default:
			a.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-a.exited:
			case <-time.After(30 * time.Second):
				a.cmd.Process.Kill()
				<-a.exited
			}
		}
		if t.Failed() {
			a.dumpLog()
		}
	})
	return a
}

func (a *agentProc) dumpLog() {
	b, _ := os.ReadFile(a.logPath)
	if len(b) > 20000 {
		b = b[len(b)-20000:]
	}
	a.t.Logf("agent log (tail):\n%s", b)
}

// stop sends SIGTERM and waits for a graceful exit with status 0.
func (a *agentProc) stop() {
	a.t.Helper()
	if err := a.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		a.t.Fatal(err)
	}
	select {
	case <-a.exited:
	case <-time.After(60 * time.Second):
		a.t.Fatal("agent did not stop within 60s of SIGTERM")
	}
	if a.waitErr != nil {
		a.dumpLog()
		a.t.Fatalf("agent did not exit cleanly after SIGTERM: %v", a.waitErr)
	}
}

// waitFor polls cond until it holds or the deadline passes.
func (a *agentProc) waitFor(what string, timeout time.Duration, cond func() (bool, error)) {
	a.t.Helper()
	waitFor(a.t, what, timeout, cond)
}

// waitForDriver waits until the agent's only node is ready and runs
// driver (healthy).
func (a *agentProc) waitForDriver(driver string, timeout time.Duration) {
	a.t.Helper()
	a.waitFor("the client node to run "+driver, timeout, func() (bool, error) {
		var nodes []*structs.NodeListStub
		if err := a.get("/v1/nodes", &nodes); err != nil || len(nodes) != 1 {
			return false, err
		}
		var n structs.Node
		if err := a.get("/v1/node/"+nodes[0].ID, &n); err != nil {
			return false, err
		}
		d := n.Drivers[driver]
		return n.Status == structs.NodeStatusReady && d != nil && d.Healthy, nil
	})
}

func waitFor(t testing.TB, what string, timeout time.Duration, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var lastErr error
	for time.Now().Before(deadline) {
		ok, err := cond()
		if ok {
			return
		}
		lastErr = err
		time.Sleep(50 * time.Millisecond) // poll interval, not a wait for an event
	}
	t.Fatalf("timed out after %s waiting for %s (last error: %v)", timeout, what, lastErr)
}

// get decodes a JSON GET of the agent's HTTP API into out.
func (a *agentProc) get(path string, out any) error {
	resp, err := http.Get(a.addr() + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		return fmt.Errorf("GET %s: %s: %s", path, resp.Status, b.String())
	}
	// The API speaks Nomad's JSON; the tests read orch's own types.
	return api.DecodeStructs(resp.Body, out)
}

// orch runs the CLI against the agent and returns its stdout, stderr and exit code.
func (a *agentProc) orch(args ...string) (string, string, int) {
	a.t.Helper()
	cmd := exec.Command(orchBin, args...)
	cmd.Dir = repoRoot()
	cmd.Env = append(os.Environ(), "ORCH_ADDR="+a.addr())
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		code = exitErr.ExitCode()
	} else if err != nil {
		a.t.Fatalf("running orch %v: %v", args, err)
	}
	return stdout.String(), stderr.String(), code
}

// freePorts returns three ports free on 127.0.0.1 for TCP (and UDP for gossip).
func freePorts(t testing.TB) [3]int {
	t.Helper()
	ports, err := freeport.Three()
	if err != nil {
		t.Fatal(err)
	}
	return ports
}

// allocPIDs returns the PIDs of the processes whose environment names allocID:
// the tasks of that allocation, as the machine sees them.
func allocPIDs(allocID string) []int {
	needle := []byte("ORCH_ALLOC_ID=" + allocID + "\x00")
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil || !bytes.Contains(append(env, 0), needle) {
			continue
		}
		if stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat")); err == nil && isZombie(stat) {
			continue
		}
		pids = append(pids, pid)
	}
	return pids
}

func isZombie(stat []byte) bool {
	i := bytes.LastIndexByte(stat, ')')
	return i >= 0 && len(stat) > i+2 && stat[i+2] == 'Z'
}

func runningAllocs(allocs []*structs.AllocListStub) []*structs.AllocListStub {
	var out []*structs.AllocListStub
	for _, a := range allocs {
		if a.ClientStatus == structs.AllocClientStatusRunning && a.DesiredStatus == structs.AllocDesiredStatusRun {
			out = append(out, a)
		}
	}
	return out
}

func mustContain(t testing.TB, what, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Fatalf("%s does not contain %q:\n%s", what, sub, s)
		}
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
