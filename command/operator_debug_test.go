package command

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/command/agent"
	"github.com/orch-io/orch/internal/agenttest"
)

func TestOperatorDebugArchive(t *testing.T) {
	a := agenttest.Start(t, agenttest.Options{Client: true, NodeName: "debug-1",
		Configure: func(c *agent.Config) { c.EnableDebug = true }})
	out := t.TempDir()
	start := time.Now()
	r := runCLI(t, "operator", "debug", "-address", a.URL, "-duration", "2s", "-interval", "1s",
		"-output", out, "-node-id", "all")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	t.Logf("operator debug took %s", time.Since(start))
	mustContain(t, "stdout", r.stdout, "Capturing for 2s: 2 agents", "Created debug archive: ")
	files := readArchive(t, out)
	short := a.NodeID[:8]
	want := []string{
		"cluster/agent-self.json", "cluster/members.json", "cluster/raft-configuration.json",
		"cluster/nodes.json", "cluster/jobs.json", "cluster/leader.json",
		"metrics/0000-", "metrics/0001-",
		"server/debug-1/monitor.log", "server/debug-1/goroutine.txt", "server/debug-1/heap.prof", "server/debug-1/profile.prof",
		"client/debug-1-" + short + "/monitor.log", "client/debug-1-" + short + "/heap.prof",
	}
	for _, w := range want {
		found := false
		for name := range files {
			found = found || strings.HasPrefix(name, w)
		}
		if !found {
			t.Errorf("archive lacks %s; it has %v", w, keys(files))
		}
	}
	if len(files["server/debug-1/monitor.log"]) == 0 || !strings.Contains(files["server/debug-1/goroutine.txt"], "goroutine") {
		t.Errorf("empty monitor log or goroutine dump")
	}
	if e, ok := files["errors.txt"]; ok {
		t.Errorf("errors.txt: %s", e)
	}
}

func TestOperatorDebugFlagsAndDisabledProfiles(t *testing.T) {
	out := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-duration", "0s"}, "-duration 0s: must be > 0"},
		{[]string{"-duration", "1s", "-interval", "2s"}, "-interval 2s: must be > 0 and at most -duration (1s)"},
		{[]string{"-output", filepath.Join(out, "nope")}, "must be an existing directory"},
		{[]string{"-log-level", "loud"}, `-log-level "loud": must be one of`},
	} {
		r := runCLI(t, append([]string{"operator", "debug", "-address", "http://127.0.0.1:1", "-output", out}, tc.args...)...)
		if r.code == 0 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %q", tc.args, r.code, r.stderr, tc.want)
		}
	}

	// Without enable_debug the profiles are refused, saying how to enable
	// them, and the bundle says so.
	a := agenttest.Start(t, agenttest.Options{NodeName: "debug-2"})
	if _, err := a.API.Agent().Pprof(context.Background(), "heap", api.PprofOptions{}); !api.IsNotFound(err) || !strings.Contains(err.Error(), "enable_debug = true") {
		t.Errorf("pprof without enable_debug: %v", err)
	}
	r := runCLI(t, "operator", "debug", "-address", a.URL, "-duration", "1s", "-interval", "1s", "-output", out)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if e := readArchive(t, out)["errors.txt"]; !strings.Contains(e, "enable_debug = true") {
		t.Errorf("errors.txt = %q", e)
	}
}

func TestMonitorCLI(t *testing.T) {
	a := agenttest.Start(t, agenttest.Options{NodeName: "monitor-1"})
	if r := runCLI(t, "monitor", "-address", a.URL, "-log-level", "loud"); r.code == 0 || !strings.Contains(r.stderr, `-log-level "loud"`) {
		t.Errorf("bad level: exit %d %q", r.code, r.stderr)
	}
	if r := runCLI(t, "monitor", "-address", a.URL, "-node-id", "x", "-server-id", "y"); r.code == 0 || !strings.Contains(r.stderr, "not both") {
		t.Errorf("both targets: exit %d %q", r.code, r.stderr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- monitorLogs(ctx, a.API, api.MonitorOptions{LogLevel: "debug", JSON: true, AgentTarget: api.AgentTarget{ServerID: "leader"}}, pw)
		pw.Close()
	}()
	// A line logged before the monitor subscribed never reaches it: the
	// first read would then wait for the next line, on a quiet agent the
	// monitor's heartbeat frame 10 s later. So the request whose line the
	// test looks for is made only once the monitor is subscribed.
	waitSubscribed(t, a)
	buf := make([]byte, 64<<10)
	var got []byte
	for !bytes.Contains(got, []byte(`"msg":"http request"`)) {
		if _, err := a.API.Agent().Self(); err != nil {
			t.Fatal(err)
		}
		n, err := pr.Read(buf)
		if err != nil {
			t.Fatalf("reading the monitor: %v (got %q)", err, got)
		}
		got = append(got, buf[:n]...)
	}
	cancel()
	go io.Copy(io.Discard, pr)
	if err := <-done; err != nil {
		t.Errorf("monitor after cancel: %v", err)
	}
}

// waitSubscribed waits until a monitor follows a's log.
func waitSubscribed(t *testing.T, a *agenttest.Agent) {
	t.Helper()
	logs := a.Agent.Backend().Logs()
	err := agenttest.WaitFor(10*time.Second, func() (bool, string) {
		return logs.Subscribers() > 0, "no monitor subscribed to the agent's log"
	})
	if err != nil {
		t.Fatal(err)
	}
}

// readArchive reads the one archive in dir (removing it), name → contents,
// names without the archive's top directory.
func readArchive(t *testing.T, dir string) map[string]string {
	t.Helper()
	matches, _ := filepath.Glob(filepath.Join(dir, "orch-debug-*.tar.gz"))
	if len(matches) != 1 {
		t.Fatalf("archives in %s: %v", dir, matches)
	}
	f, err := os.Open(matches[0])
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(matches[0])
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	files := map[string]string{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		_, rest, _ := strings.Cut(h.Name, "/")
		files[rest] = string(b)
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
