package allocrunner

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/orch-io/orch/client/driver"
	"github.com/orch-io/orch/client/driver/mock"
	"github.com/orch-io/orch/client/state"
	"github.com/orch-io/orch/structs"
)

// Runner tests with the mock driver, whose tasks outlive a runner (as
// containers outlive the agent), and the client's real state database as the
// handle store.

func mockTask(name string, config map[string]any) *structs.Task {
	return &structs.Task{Name: name, Driver: mock.Name, Config: config, KillTimeout: time.Second, KillSignal: "SIGTERM"}
}

type mockNode struct {
	driver  *mock.Mock
	db      *state.DB
	allocs  string
	drivers map[string]driver.Driver
}

func newMockNode(t *testing.T) *mockNode {
	t.Helper()
	dir := t.TempDir()
	db, err := state.Open(filepath.Join(dir, "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	m := mock.New(testLogger(t))
	return &mockNode{driver: m, db: db, allocs: filepath.Join(dir, "allocs"), drivers: map[string]driver.Driver{mock.Name: m}}
}

// runner returns a runner of alloc on the node (an agent process, as far as
// the alloc is concerned).
func (n *mockNode) runner(t *testing.T, alloc *structs.Allocation) (*AllocRunner, *recorder) {
	t.Helper()
	rec := &recorder{}
	ar := New(Config{
		Alloc: alloc, Node: &structs.Node{ID: "node-1"}, AllocsDir: n.allocs,
		Drivers: n.drivers, Handles: n.db, Persist: rec.persist, Send: rec.send, Logger: testLogger(t),
	})
	t.Cleanup(func() { _ = ar.Destroy() })
	return ar, rec
}

// runThenShutdown runs a mock service task on the node until it runs, shuts
// its runner down (the agent stops) and returns the allocation as persisted.
func (n *mockNode) runThenShutdown(t *testing.T) *structs.Allocation {
	t.Helper()
	job := testJob(structs.JobTypeService, nil, mockTask("web", map[string]any{}))
	ar, rec := n.runner(t, testAlloc(job))
	ar.Run()
	waitStatus(t, rec, structs.AllocClientStatusRunning)
	ar.Shutdown()
	persisted, _ := rec.lastPersisted()
	return persisted
}

func TestMockTaskExitsFollowTheRestartPolicy(t *testing.T) {
	n := newMockNode(t)
	policy := &structs.RestartPolicy{Attempts: 2, Interval: time.Hour, Delay: time.Millisecond, Mode: structs.RestartPolicyModeFail}
	job := testJob(structs.JobTypeService, policy, mockTask("web", map[string]any{"run_for": "1ms", "exit_code": 7}))
	alloc := testAlloc(job)
	ar, rec := n.runner(t, alloc)
	ar.Run()
	a := waitStatus(t, rec, structs.AllocClientStatusFailed)
	ts := a.TaskStates["web"]
	if ts.Restarts != 2 || !ts.Failed {
		t.Fatalf("restarts = %d failed = %v, want 2 and failed", ts.Restarts, ts.Failed)
	}
	var codes []int
	for _, e := range ts.Events {
		if e.Type == structs.TaskTerminated {
			codes = append(codes, e.ExitCode)
		}
	}
	if !slices.Equal(codes, []int{7, 7, 7}) {
		t.Errorf("exit codes %v, want three 7s", codes)
	}
	if th, err := n.db.TaskHandle(alloc.ID, "web"); err != nil || th != nil {
		t.Errorf("handle after the task ended = %+v, %v; want none", th, err)
	}
}

func TestMockUnrecoverableStartErrorFailsAtOnce(t *testing.T) {
	n := newMockNode(t)
	job := testJob(structs.JobTypeService, nil, mockTask("web", map[string]any{"start_error": "broken image"}))
	ar, rec := n.runner(t, testAlloc(job))
	ar.Run()
	a := waitStatus(t, rec, structs.AllocClientStatusFailed)
	if ts := a.TaskStates["web"]; ts.Restarts != 0 || ts.Events[len(ts.Events)-1].DriverError == "" {
		t.Errorf("task state %+v: want failed at once with the driver's error", ts)
	}
}

func TestShutdownLeavesReattachableTaskAndNextRunnerReattaches(t *testing.T) {
	n := newMockNode(t)
	job := testJob(structs.JobTypeService, nil, mockTask("web", map[string]any{}))
	alloc := testAlloc(job)
	ar, rec := n.runner(t, alloc)
	ar.Run()
	waitStatus(t, rec, structs.AllocClientStatusRunning)
	th, err := n.db.TaskHandle(alloc.ID, "web")
	if err != nil || th == nil || th.Driver != mock.Name {
		t.Fatalf("persisted handle = %+v, %v", th, err)
	}

	ar.Shutdown()
	if n.driver.Running() != 1 {
		t.Fatalf("%d mock tasks run after Shutdown, want the task left running", n.driver.Running())
	}

	// The "restarted agent": a new runner of what was persisted.
	persisted, _ := rec.lastPersisted()
	ar2, rec2 := n.runner(t, persisted.Copy())
	ar2.Run()
	a := waitStatus(t, rec2, structs.AllocClientStatusRunning)
	if n.driver.Running() != 1 {
		t.Errorf("%d mock tasks run after the restart, want the same one", n.driver.Running())
	}
	if got := eventTypes(a.TaskStates["web"]); slices.Contains(got, structs.TaskRestarting) || slices.Index(got, structs.TaskStarted) != len(got)-1 {
		t.Errorf("events %v: a reattached task must not be restarted", got)
	}

	// The servers stop it: the reattached handle is the one killed.
	stopped := persisted.Copy()
	stopped.DesiredStatus = structs.AllocDesiredStatusStop
	ar2.Update(stopped)
	waitStatus(t, rec2, structs.AllocClientStatusComplete)
	if n.driver.Running() != 0 {
		t.Errorf("%d mock tasks run after the stop", n.driver.Running())
	}
	if th, _ := n.db.TaskHandle(alloc.ID, "web"); th != nil {
		t.Errorf("handle %+v kept after the task was killed", th)
	}
}

func TestTaskGoneAfterRestartIsLostAndRestartPolicyApplies(t *testing.T) {
	n := newMockNode(t)
	persisted := n.runThenShutdown(t)

	// A new agent process: a new mock driver, which knows no task (the node
	// rebooted). The lost run is an unknown exit, which the restart policy
	// judges: here, a restart.
	n.driver = mock.New(nil)
	n.drivers = map[string]driver.Driver{mock.Name: n.driver}
	restored := persisted.Copy()
	restored.Job.TaskGroups[0].RestartPolicy = &structs.RestartPolicy{Attempts: 1, Interval: time.Hour, Delay: time.Millisecond, Mode: structs.RestartPolicyModeFail}
	ar2, rec2 := n.runner(t, restored)
	ar2.Run()
	waitFor(t, "task started again", func() bool { return n.driver.Running() == 1 })
	a := waitStatus(t, rec2, structs.AllocClientStatusRunning)
	ts := a.TaskStates["web"]
	if got := eventTypes(ts); !slices.Contains(got, structs.TaskRestarting) || ts.Restarts != 1 {
		t.Errorf("events %v, restarts %d: want the lost run to count as a restart", got, ts.Restarts)
	}
	var lost *structs.TaskEvent
	for _, e := range ts.Events {
		if e.Type == structs.TaskTerminated {
			lost = e
		}
	}
	if lost == nil || lost.ExitCode != -1 || !strings.HasPrefix(lost.DisplayMessage, "Unknown exit: ") {
		t.Errorf("terminated event %+v, want an unknown exit", lost)
	}

	// A policy without restarts fails the task at the next loss.
	ar2.Shutdown()
	persisted2, _ := rec2.lastPersisted()
	n.driver = mock.New(nil)
	n.drivers = map[string]driver.Driver{mock.Name: n.driver}
	restored2 := persisted2.Copy()
	restored2.Job.TaskGroups[0].RestartPolicy = &structs.RestartPolicy{Attempts: 0, Interval: time.Hour, Mode: structs.RestartPolicyModeFail}
	ar3, rec3 := n.runner(t, restored2)
	ar3.Run()
	a = waitStatus(t, rec3, structs.AllocClientStatusFailed)
	if ts := a.TaskStates["web"]; !ts.Failed || n.driver.Running() != 0 {
		t.Errorf("task state %+v, %d running: want failed, not started again", ts, n.driver.Running())
	}
}

func TestRestoredStoppedAllocDestroysTaskLeftRunning(t *testing.T) {
	n := newMockNode(t)
	persisted := n.runThenShutdown(t)
	if n.driver.Running() != 1 {
		t.Fatalf("%d mock tasks run after Shutdown, want 1", n.driver.Running())
	}

	stopped := persisted.Copy()
	stopped.DesiredStatus = structs.AllocDesiredStatusStop
	ar2, rec2 := n.runner(t, stopped)
	ar2.Run()
	waitStatus(t, rec2, structs.AllocClientStatusComplete)
	if n.driver.Running() != 0 {
		t.Errorf("%d mock tasks still run", n.driver.Running())
	}
}

func TestDestroyKillsReattachableTasks(t *testing.T) {
	n := newMockNode(t)
	job := testJob(structs.JobTypeService, nil, mockTask("web", map[string]any{}))
	ar, rec := n.runner(t, testAlloc(job))
	ar.Run()
	waitStatus(t, rec, structs.AllocClientStatusRunning)
	if err := ar.Destroy(); err != nil {
		t.Fatal(err)
	}
	if n.driver.Running() != 0 {
		t.Errorf("%d mock tasks run after Destroy", n.driver.Running())
	}
}
