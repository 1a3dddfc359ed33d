package allocrunner

import (
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/orch-io/orch/client/driver"
	"github.com/orch-io/orch/client/driver/rawexec"
	"github.com/orch-io/orch/client/supervisor/supervisortest"
	"github.com/orch-io/orch/structs"
)

// Fixtures for the runner tests: real raw_exec tasks running /bin/sh.

func shellTask(name, script string) *structs.Task {
	return &structs.Task{
		Name:        name,
		Driver:      rawexec.Name,
		Config:      map[string]any{"command": "/bin/sh", "args": []any{"-c", script}},
		Resources:   &structs.Resources{CPU: 100, MemoryMB: 64},
		KillTimeout: 2 * time.Second,
		KillSignal:  "SIGTERM",
	}
}

func testJob(jobType structs.JobType, policy *structs.RestartPolicy, tasks ...*structs.Task) *structs.Job {
	return &structs.Job{
		ID: "example", Name: "example", Namespace: "default", Region: "global", Type: jobType,
		TaskGroups: []*structs.TaskGroup{{Name: "web", Count: 1, Tasks: tasks, RestartPolicy: policy}},
	}
}

func testAlloc(job *structs.Job) *structs.Allocation {
	return &structs.Allocation{
		ID: structs.GenerateUUID(), Name: structs.AllocName(job.ID, "web", 0), NodeID: "node-1",
		JobID: job.ID, Job: job, TaskGroup: "web",
		DesiredStatus: structs.AllocDesiredStatusRun, ClientStatus: structs.AllocClientStatusPending,
	}
}

// testDrivers returns raw_exec on a supervisor of the test's own.
func testDrivers(t *testing.T) map[string]driver.Driver {
	sup, _ := supervisortest.Start(t)
	return map[string]driver.Driver{rawexec.Name: rawexec.New(nil, sup)}
}

func TestMain(m *testing.M) {
	supervisortest.MaybeRun()
	os.Exit(m.Run())
}

func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("test", t.Name())
	}
	return slog.New(slog.DiscardHandler)
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func waitClosed(t *testing.T, what string, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(30 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}

// recorder collects what an alloc runner persists and sends.
type recorder struct {
	mu        sync.Mutex
	persisted []*structs.Allocation
	sent      []*structs.Allocation
}

func (r *recorder) persist(a *structs.Allocation) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.persisted = append(r.persisted, a)
	return nil
}

func (r *recorder) send(a *structs.Allocation) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent = append(r.sent, a)
}

func (r *recorder) lastSent() *structs.Allocation {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.sent) == 0 {
		return nil
	}
	return r.sent[len(r.sent)-1]
}

func (r *recorder) lastPersisted() (*structs.Allocation, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.persisted) == 0 {
		return nil, 0
	}
	return r.persisted[len(r.persisted)-1], len(r.persisted)
}

func eventTypes(ts *structs.TaskState) []string {
	var out []string
	for _, e := range ts.Events {
		out = append(out, e.Type)
	}
	return out
}
