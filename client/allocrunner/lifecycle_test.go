package allocrunner

import (
	"slices"
	"testing"
	"time"

	"github.com/orch-io/orch/structs"
)

func TestDecideLifecycle(t *testing.T) {
	pending := &structs.TaskState{State: structs.TaskStatePending}
	running := &structs.TaskState{State: structs.TaskStateRunning, StartedAt: 1}
	restarting := &structs.TaskState{State: structs.TaskStatePending, StartedAt: 1, Restarts: 1}
	completed := &structs.TaskState{State: structs.TaskStateDead, StartedAt: 1, FinishedAt: 2}
	failed := &structs.TaskState{State: structs.TaskStateDead, StartedAt: 1, FinishedAt: 2, Failed: true}
	task := func(r lifecycleRole, st *structs.TaskState) lifecycleTask { return lifecycleTask{Role: r, State: st} }
	for _, tc := range []struct {
		name  string
		tasks []lifecycleTask
		want  lifecycleDecision
	}{
		{"nothing started: prestart tasks only", []lifecycleTask{
			task(rolePrestart, nil), task(rolePrestartSidecar, nil), task(roleMain, nil), task(rolePoststart, nil), task(rolePoststop, nil),
		}, lifecycleDecision{Open: [numGates]bool{true, false, false, false}}},
		{"prestart still running", []lifecycleTask{
			task(rolePrestart, running), task(rolePrestartSidecar, running), task(roleMain, pending),
		}, lifecycleDecision{Open: [numGates]bool{true, false, false, false}}},
		{"prestart restarting after a failure", []lifecycleTask{
			task(rolePrestart, restarting), task(roleMain, pending),
		}, lifecycleDecision{Open: [numGates]bool{true, false, false, false}}},
		{"prestart failed for good: main never starts", []lifecycleTask{
			task(rolePrestart, failed), task(roleMain, pending),
		}, lifecycleDecision{Open: [numGates]bool{true, false, false, false}}},
		{"sidecar not yet running", []lifecycleTask{
			task(rolePrestart, completed), task(rolePrestartSidecar, pending), task(roleMain, pending),
		}, lifecycleDecision{Open: [numGates]bool{true, false, false, false}}},
		{"prestart done, sidecar runs: mains start", []lifecycleTask{
			task(rolePrestart, completed), task(rolePrestartSidecar, running), task(roleMain, pending), task(roleMain, nil), task(rolePoststart, nil),
		}, lifecycleDecision{Open: [numGates]bool{true, true, false, false}}},
		{"one main started: poststart waits for all", []lifecycleTask{
			task(roleMain, running), task(roleMain, pending), task(rolePoststart, nil),
		}, lifecycleDecision{Open: [numGates]bool{true, true, false, false}}},
		{"every main started: poststart", []lifecycleTask{
			task(rolePrestartSidecar, restarting), task(roleMain, running), task(roleMain, completed), task(rolePoststart, nil),
		}, lifecycleDecision{Open: [numGates]bool{true, true, true, false}}},
		{"mains dead: poststop, sidecars stop", []lifecycleTask{
			task(rolePrestartSidecar, running), task(roleMain, completed), task(roleMain, failed), task(rolePoststartSidecar, running), task(rolePoststop, nil),
		}, lifecycleDecision{Open: [numGates]bool{true, true, true, true}, StopSidecars: true}},
		{"mains killed before they started", []lifecycleTask{
			task(rolePrestart, failed), task(roleMain, &structs.TaskState{State: structs.TaskStateDead}), task(rolePoststop, nil),
		}, lifecycleDecision{Open: [numGates]bool{true, false, false, true}, StopSidecars: true}},
	} {
		if got := decideLifecycle(tc.tasks); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func withLifecycle(t *structs.Task, hook string, sidecar bool) *structs.Task {
	t.Lifecycle = &structs.TaskLifecycle{Hook: hook, Sidecar: sidecar}
	return t
}

// The order of a batch allocation with every kind of task, read from the
// times the runners recorded (each is taken after what it waited for).
func TestAllocRunnerLifecycleOrder(t *testing.T) {
	job := testJob(structs.JobTypeBatch, nil,
		withLifecycle(shellTask("init", `sleep 0.2`), structs.TaskLifecycleHookPrestart, false),
		withLifecycle(shellTask("side", `exec sleep 1000`), structs.TaskLifecycleHookPrestart, true),
		shellTask("main", `sleep 0.3`),
		withLifecycle(shellTask("post", `true`), structs.TaskLifecycleHookPoststart, false),
		withLifecycle(shellTask("cleanup", `true`), structs.TaskLifecycleHookPoststop, false))
	ar, rec, _ := newTestAllocRunner(t, testAlloc(job))
	ar.Run()
	waitClosed(t, "tasks to finish", ar.WaitCh())
	done := waitStatus(t, rec, structs.AllocClientStatusComplete)
	ts := done.TaskStates
	for name, st := range ts {
		if st.State != structs.TaskStateDead || st.Failed || st.StartedAt == 0 {
			t.Errorf("task %s: %s failed=%v started=%d events %v", name, st.State, st.Failed, st.StartedAt, eventTypes(st))
		}
		if name != "side" && st.Restarts != 0 {
			t.Errorf("task %s restarted %d times: an ephemeral task's success ends it", name, st.Restarts)
		}
	}
	before := func(a string, at int64, b string, bt int64) {
		if at > bt {
			t.Errorf("%s (%d) after %s (%d)", a, at, b, bt)
		}
	}
	before("init finished", ts["init"].FinishedAt, "main started", ts["main"].StartedAt)
	before("side started", ts["side"].StartedAt, "main started", ts["main"].StartedAt)
	before("main started", ts["main"].StartedAt, "post started", ts["post"].StartedAt)
	before("main finished", ts["main"].FinishedAt, "cleanup started", ts["cleanup"].StartedAt)
	before("main finished", ts["main"].FinishedAt, "side finished", ts["side"].FinishedAt)
	if !slices.Contains(eventTypes(ts["side"]), structs.TaskMainDead) {
		t.Errorf("sidecar events %v: want %q", eventTypes(ts["side"]), structs.TaskMainDead)
	}
}

// A prestart task that fails past its restart policy fails the allocation,
// and the main task never starts.
func TestAllocRunnerPrestartFailureFailsAlloc(t *testing.T) {
	policy := &structs.RestartPolicy{Attempts: 1, Interval: time.Hour, Delay: 10 * time.Millisecond, Mode: structs.RestartPolicyModeFail}
	job := testJob(structs.JobTypeService, policy,
		withLifecycle(shellTask("init", `exit 1`), structs.TaskLifecycleHookPrestart, false),
		shellTask("main", `exec sleep 1000`))
	ar, rec, _ := newTestAllocRunner(t, testAlloc(job))
	ar.Run()
	waitClosed(t, "tasks to finish", ar.WaitCh())
	failed := waitStatus(t, rec, structs.AllocClientStatusFailed)
	if st := failed.TaskStates["init"]; !st.Failed || st.Restarts != 1 {
		t.Errorf("init: failed=%v restarts=%d, want failed after 1 restart", st.Failed, st.Restarts)
	}
	waitFor(t, "the main task's final state", func() bool { return rec.lastSent().TaskStates["main"].State == structs.TaskStateDead })
	if st := rec.lastSent().TaskStates["main"]; st.StartedAt != 0 || st.Failed {
		t.Errorf("main: started=%d failed=%v events %v, want never started", st.StartedAt, st.Failed, eventTypes(st))
	}
}

// The servers stopping an allocation stop its main tasks first, then run
// its poststop tasks; a service's successful prestart task is not run again.
func TestAllocRunnerServerStopRunsPoststop(t *testing.T) {
	job := testJob(structs.JobTypeService, nil,
		withLifecycle(shellTask("init", `true`), structs.TaskLifecycleHookPrestart, false),
		shellTask("main", `exec sleep 1000`),
		withLifecycle(shellTask("cleanup", `echo cleaned > "$NOMAD_ALLOC_DIR/cleaned"`), structs.TaskLifecycleHookPoststop, false))
	alloc := testAlloc(job)
	ar, rec, _ := newTestAllocRunner(t, alloc.Copy())
	ar.Run()
	waitFor(t, "the main task to run", func() bool {
		a := rec.lastSent()
		return a != nil && a.TaskStates["main"] != nil && a.TaskStates["main"].State == structs.TaskStateRunning
	})
	if st := ar.Alloc().TaskStates["cleanup"]; st.StartedAt != 0 {
		t.Fatalf("poststop task started while the main task runs: %+v", st)
	}
	stopped := alloc.Copy()
	stopped.DesiredStatus = structs.AllocDesiredStatusStop
	stopped.AllocModifyIndex = 10
	ar.Update(stopped)
	waitClosed(t, "tasks to finish", ar.WaitCh())
	done := waitStatus(t, rec, structs.AllocClientStatusComplete)
	ts := done.TaskStates
	if st := ts["cleanup"]; st.StartedAt == 0 || st.Failed || st.StartedAt < ts["main"].FinishedAt {
		t.Errorf("cleanup: %+v; want run after main stopped (%d)", st, ts["main"].FinishedAt)
	}
	if st := ts["init"]; st.Restarts != 0 {
		t.Errorf("init restarted %d times", st.Restarts)
	}
}
