package checks

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/orch-io/orch/client/driver"
	"github.com/orch-io/orch/internal/clock/clocktest"
	"github.com/orch-io/orch/internal/structstest"
	"github.com/orch-io/orch/structs"
)

// fakeTask is the allocation's tasks as the runner sees them: script
// checks exit with exitCode; restarts are counted.
type fakeTask struct {
	exitCode atomic.Int32
	mu       sync.Mutex
	restarts []string
}

func (f *fakeTask) ExecTask(_ context.Context, task string, cmd []string) (*driver.ExecResult, error) {
	return &driver.ExecResult{Stdout: []byte("ran " + cmd[0] + " in " + task), ExitCode: int(f.exitCode.Load())}, nil
}

func (f *fakeTask) RestartTask(task, reason string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.restarts = append(f.restarts, task+": "+reason)
	return nil
}

func (f *fakeTask) restartCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.restarts)
}

// allocWithChecks is a running allocation whose group service on port
// "http" (host port port) has an http check (with check_restart limit 2),
// a tcp check and a script check in task "server", each every 10s.
func allocWithChecks(port int) (*structs.Allocation, *structs.Node) {
	job := structstest.Job("shop")
	tg := job.TaskGroups[0]
	tg.Networks = []*structs.NetworkResource{{Mode: "host", DynamicPorts: []structs.Port{{Label: "http"}}}}
	every := 10 * time.Second
	tg.Services = []*structs.Service{{Name: "api", PortLabel: "http", Checks: []*structs.ServiceCheck{
		{Name: "http", Type: "http", Path: "/health", Method: "GET", Protocol: "http", Interval: every, Timeout: 2 * time.Second,
			OnUpdate: structs.OnUpdateRequireHealthy, CheckRestart: &structs.CheckRestart{Limit: 2}},
		{Name: "tcp", Type: "tcp", Interval: every, Timeout: 2 * time.Second, OnUpdate: structs.OnUpdateIgnore},
		{Name: "script", Type: "script", Command: "/bin/check", TaskName: "server", Interval: every, Timeout: 2 * time.Second,
			OnUpdate: structs.OnUpdateIgnoreWarnings},
	}}}
	node := structstest.Node(structs.GenerateUUID(), "n1")
	a := structstest.Alloc(structs.GenerateUUID(), "e1", job, node, "web", 0)
	a.AllocatedResources.Shared.Ports = structs.AllocatedPorts{{Label: "http", Value: port}}
	return a, node
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func statuses(r *Runner, allocID string) map[string]*structs.CheckQueryResult {
	out := map[string]*structs.CheckQueryResult{}
	for _, c := range r.AllocChecks(allocID) {
		out[c.Check] = c
	}
	return out
}

func TestRunnerProbesOnItsScheduleAndRestartsThroughTheTask(t *testing.T) {
	var healthy atomic.Bool
	healthy.Store(true)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if !healthy.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		w.Write([]byte("ok?"))
	}))
	t.Cleanup(srv.Close)
	_, portText, _ := net.SplitHostPort(srv.Listener.Addr().String())
	port, _ := strconv.Atoi(portText)

	clk := clocktest.NewFake()
	var changes atomic.Int32
	r := NewRunner(Config{Clock: clk, Workers: 2, OnChange: func(string) { changes.Add(1) }})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); r.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	a, node := allocWithChecks(port)
	task := &fakeTask{}
	task.exitCode.Store(1) // a warning
	r.AllocUpdated(a, node, task)

	// The first probes run at once.
	waitUntil(t, "first results", func() bool {
		s := statuses(r, a.ID)
		return len(s) == 3 && s["http"].Timestamp != 0 && s["tcp"].Timestamp != 0 && s["script"].Timestamp != 0
	})
	s := statuses(r, a.ID)
	if s["http"].Status != P || s["http"].StatusCode != 200 || s["tcp"].Status != P || s["script"].Status != W {
		t.Fatalf("first results: http %+v tcp %+v script %+v", s["http"], s["tcp"], s["script"])
	}
	if s["tcp"].Mode != structs.CheckModeReadiness || s["http"].Mode != structs.CheckModeHealthiness {
		t.Errorf("modes: %s %s", s["tcp"].Mode, s["http"].Mode)
	}
	if s["http"].HealthySince == 0 || s["script"].HealthySince == 0 || s["tcp"].HealthySince == 0 {
		t.Errorf("passing http, tcp + warning ignore_warnings script: not all healthy: %+v %+v %+v", s["http"], s["tcp"], s["script"])
	}

	// Nothing runs again before the interval.
	first := s["http"].Timestamp
	healthy.Store(false)
	clk.Advance(9 * time.Second)
	if got := statuses(r, a.ID)["http"]; got.Timestamp != first {
		t.Fatalf("probed again before its interval: %+v", got)
	}
	// Two failing rounds: critical, then check_restart's limit of 2.
	for round := 1; round <= 2; round++ {
		clk.Advance(time.Second + time.Duration(round-1)*9*time.Second)
		waitUntil(t, "a failing probe", func() bool { return statuses(r, a.ID)["http"].Timestamp > first })
		first = statuses(r, a.ID)["http"].Timestamp
		clk.Advance(0)
	}
	waitUntil(t, "the task restarted", func() bool { return task.restartCount() == 1 })
	if got := statuses(r, a.ID)["http"]; got.Status != C || got.StatusCode != 503 {
		t.Fatalf("after failures: %+v", got)
	}
	if got := statuses(r, a.ID)["http"]; got.HealthySince != 0 {
		t.Errorf("critical require_healthy check: healthy since %d", got.HealthySince)
	}

	// The allocation stops: its checks go.
	a.DesiredStatus = structs.AllocDesiredStatusStop
	r.AllocUpdated(a, node, task)
	if r.Len() != 0 || len(r.AllocChecks(a.ID)) != 0 {
		t.Fatalf("checks of a stopped allocation: %d", r.Len())
	}
	if changes.Load() == 0 {
		t.Error("OnChange never called")
	}
}
