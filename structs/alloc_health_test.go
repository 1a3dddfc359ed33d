package structs

import (
	"testing"
	"time"
)

// The servers' stand-in health does not wait for tasks that run to
// completion (lifecycle hooks that are not sidecars).
func TestHealthyByTaskStatesSkipsEphemeralLifecycleTasks(t *testing.T) {
	now := time.Unix(1000, 0)
	started := now.Add(-time.Minute).UnixNano()
	job := &Job{TaskGroups: []*TaskGroup{{Name: "g", Tasks: []*Task{
		{Name: "init", Lifecycle: &TaskLifecycle{Hook: TaskLifecycleHookPrestart}},
		{Name: "side", Lifecycle: &TaskLifecycle{Hook: TaskLifecycleHookPrestart, Sidecar: true}},
		{Name: "main"},
	}}}}
	a := &Allocation{Job: job, TaskGroup: "g", ClientStatus: AllocClientStatusRunning, TaskStates: map[string]*TaskState{
		"init": {State: TaskStateDead, StartedAt: started, FinishedAt: started},
		"side": {State: TaskStateRunning, StartedAt: started},
		"main": {State: TaskStateRunning, StartedAt: started},
	}}
	if ok, _ := a.HealthyByTaskStates(10*time.Second, now); !ok {
		t.Error("a completed prestart task kept the allocation unhealthy")
	}
	a.TaskStates["side"] = &TaskState{State: TaskStatePending}
	if ok, _ := a.HealthyByTaskStates(10*time.Second, now); ok {
		t.Error("a sidecar not running does count")
	}
}
