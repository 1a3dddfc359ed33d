package command

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/internal/structstest"
	"github.com/orch-io/orch/structs"
)

// echoJob's task prints "ready" and then echoes whatever is written to the
// named pipe server/local/in of its allocation.
func echoJob(id string) *structs.Job {
	job := structstest.Job(id)
	job.TaskGroups[0].Tasks[0].Config = map[string]any{"command": "/bin/sh", "args": []any{"-c",
		"mkfifo local/in; echo ready; echo oops >&2; while true; do cat local/in; done"}}
	return job
}

// runningAlloc waits for the one allocation of jobID to run and returns it.
func runningAlloc(t *testing.T, a *testAgent, jobID string) *structs.AllocListStub {
	t.Helper()
	var alloc *structs.AllocListStub
	waitFor(t, "the allocation of "+jobID+" to run", func() bool {
		allocs, _, err := a.API.Jobs().Allocations(jobID, nil)
		if err != nil || len(allocs) != 1 || allocs[0].ClientStatus != structs.AllocClientStatusRunning {
			return false
		}
		alloc = allocs[0]
		return true
	})
	if alloc == nil {
		t.FailNow()
	}
	return alloc
}

// writeToTask writes s to the task's pipe (the task echoes it to stdout).
func writeToTask(t testing.TB, dataDir, allocID, s string) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(dataDir, "client", "allocs", allocID, "server", "local", "in"), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

func TestAllocLogsAndFS(t *testing.T) {
	a := startClientAgent(t)
	a.register(t, echoJob("echo"))
	alloc := runningAlloc(t, a, "echo")
	short := alloc.ID[:8]
	waitFor(t, "the task's first line", func() bool {
		return strings.Contains(runCLI(t, "alloc", "logs", "-address", a.addr, short).stdout, "ready")
	})
	dataDir := a.Agent.Agent.DataDir()
	writeToTask(t, dataDir, alloc.ID, "a\nb\nc\n")
	waitFor(t, "the echoed lines", func() bool {
		return runCLI(t, "alloc", "logs", "-address", a.addr, short, "server").stdout == "ready\na\nb\nc\n"
	})

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-tail", "-n", "2"}, "b\nc\n"},
		{[]string{"-c", "4"}, "b\nc\n"},
		{[]string{"-stderr"}, "oops\n"},
		{[]string{"-task", "server", "-tail"}, "ready\na\nb\nc\n"},
	} {
		res := runCLI(t, append(append([]string{"alloc", "logs", "-address", a.addr}, tc.args...), short)...)
		if res.code != 0 || res.stdout != tc.want {
			t.Errorf("alloc logs %v: exit %d, stdout %q, stderr %q; want %q", tc.args, res.code, res.stdout, res.stderr, tc.want)
		}
	}

	res := runCLI(t, "alloc", "fs", "-address", a.addr, short, "server/local")
	mustContain(t, "alloc fs server/local", res.stdout, "Mode", "in")
	res = runCLI(t, "alloc", "fs", "-address", a.addr, short, "alloc/logs/server.stdout.0")
	if res.stdout != "ready\na\nb\nc\n" {
		t.Errorf("alloc fs of the log file: %q (%s)", res.stdout, res.stderr)
	}
	res = runCLI(t, "alloc", "fs", "-address", a.addr, short, "server/../../x")
	if res.code != 1 {
		t.Errorf("alloc fs with ..: exit %d", res.code)
	}
	mustContain(t, "alloc fs with .. (stderr)", res.stderr, `".." is not allowed`)
	res = runCLI(t, "alloc", "logs", "-address", a.addr, short, "nope")
	mustContain(t, "alloc logs of an unknown task (stderr)", res.stderr, `has no task "nope" (tasks: server)`)

	// The HTTP API as Nomad's: JSON frames, or plain bytes.
	r := httpGet(t, a.addr+"/v1/client/fs/logs/"+alloc.ID+"?task=server&type=stdout&plain=true")
	if r != "ready\na\nb\nc\n" {
		t.Errorf("plain logs: %q", r)
	}
	if r := httpGet(t, a.addr+"/v1/client/fs/stat/"+alloc.ID+"?path=/server/local/in"); !strings.Contains(r, `"Name":"in"`) || !strings.Contains(r, `"FileMode":"prw`) {
		t.Errorf("stat: %s", r)
	}

	// restart: a new process, the old output kept; signal reaches the task.
	res = runCLI(t, "alloc", "restart", "-address", a.addr, short)
	if res.code != 0 {
		t.Fatalf("alloc restart: %d %s", res.code, res.stderr)
	}
	waitFor(t, "the restarted task's first line", func() bool {
		return runCLI(t, "alloc", "logs", "-address", a.addr, short).stdout == "ready\na\nb\nc\nready\n"
	})
	res = runCLI(t, "alloc", "signal", "-address", a.addr, "-s", "SIGNOPE", short)
	mustContain(t, "alloc signal of a bad signal (stderr)", res.stderr, `"SIGNOPE"`)
	var st *structs.TaskState
	waitFor(t, "the servers to learn of the restart", func() bool {
		got, _, err := a.API.Allocations().Info(alloc.ID, nil)
		if err != nil {
			return false
		}
		st = got.TaskStates["server"]
		return st != nil && st.Restarts > 0 && st.State == structs.TaskStateRunning
	})
	if st == nil || st.Failed || st.Restarts != 1 {
		t.Errorf("after alloc restart the task state is %+v, want 1 restart and no failure", st)
	}
}

func TestLastLines(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"a\nb\nc\n", 2, "b\nc\n"},
		{"a\nb\nc", 2, "b\nc"},
		{"a\nb\n", 5, "a\nb\n"},
		{"a\n", 0, ""},
		{"", 3, ""},
	} {
		if got := string(lastLines([]byte(tc.in), tc.n)); got != tc.want {
			t.Errorf("lastLines(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}

// TestFigureAllocLogsFollowLatency measures how long a line a task writes
// takes to come out of a followed log stream (the HTTP API of a dev agent,
// as `orch alloc logs -f` reads it): the task echoes what the test writes to
// its pipe; the supervisor copies it to the log file; the client's follower
// polls the file and streams it back.
func TestFigureAllocLogsFollowLatency(t *testing.T) {
	a := startClientAgent(t)
	a.register(t, echoJob("latency"))
	alloc := runningAlloc(t, a, "latency")
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	frames, err := a.API.AllocFS().Logs(ctx, alloc.ID, api.LogsOptions{Task: "server", Origin: structs.LogOriginEnd, Follow: true})
	if err != nil {
		t.Fatal(err)
	}
	defer frames.Close()
	const samples = 30
	var lat []time.Duration
	for i := range samples {
		line := fmt.Sprintf("ping %d\n", i)
		start := time.Now()
		writeToTask(t, a.Agent.Agent.DataDir(), alloc.ID, line)
		for {
			f, err := frames.Next()
			if err != nil {
				t.Fatalf("reading the followed logs: %v", err)
			}
			if strings.Contains(string(f.Data), line) {
				break
			}
		}
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d.Microseconds())/1000) }
	fmt.Printf("FIGURE name=alloc_logs_follow_latency_p50 value=%s unit=ms\n", ms(lat[samples/2]))
	fmt.Printf("FIGURE name=alloc_logs_follow_latency_max value=%s unit=ms\n", ms(lat[samples-1]))
}

// httpGet returns the body of a GET of url, failing the test unless it is a 200.
func httpGet(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s %v", url, resp.StatusCode, b, err)
	}
	return string(b)
}
