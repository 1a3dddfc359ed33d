package allocrunner

import (
	"context"

	"github.com/orch-io/orch/client/driver"
)

// HandleStore persists the handles of running task instances (the client's
// state database implements it). Task runners call it from their own
// goroutines, concurrently.
type HandleStore interface {
	PutTaskHandle(allocID, task string, th *driver.TaskHandle) error
	// TaskHandle returns nil, nil when none is kept.
	TaskHandle(allocID, task string) (*driver.TaskHandle, error)
	DeleteTaskHandle(allocID, task string) error
}

// noHandles keeps no handles: nothing is ever reattached.
type noHandles struct{}

func (noHandles) PutTaskHandle(string, string, *driver.TaskHandle) error { return nil }
func (noHandles) TaskHandle(string, string) (*driver.TaskHandle, error)  { return nil, nil }
func (noHandles) DeleteTaskHandle(string, string) error                  { return nil }

// destroyLeftRunning destroys the task instances an earlier agent left running
// for this one to reattach to, when the allocation must not run any more.
// Called before any task runner exists.
func (ar *AllocRunner) destroyLeftRunning() {
	a := ar.cfg.Alloc
	if a.Job == nil {
		return
	}
	tg := a.Job.LookupTaskGroup(a.TaskGroup)
	if tg == nil {
		return
	}
	for _, task := range tg.Tasks {
		th, err := ar.cfg.Handles.TaskHandle(a.ID, task.Name)
		if err != nil {
			ar.logger.Warn("reading a task's handle", "task", task.Name, "error", err)
		}
		d := ar.cfg.Drivers[task.Driver]
		if th == nil || d == nil {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), recoverTimeout)
		cfg := &driver.TaskConfig{AllocID: a.ID, JobID: a.JobID, TaskName: task.Name, Config: task.Config}
		if h, err := d.Recover(ctx, cfg, th); err == nil {
			ar.logger.Info("destroying a task the servers stopped while the agent was down", "task", task.Name, "handle", th.ID)
			if err := h.Destroy(ctx); err != nil {
				ar.logger.Warn("destroying a task", "task", task.Name, "error", err)
			}
		}
		cancel()
		if err := ar.cfg.Handles.DeleteTaskHandle(a.ID, task.Name); err != nil {
			ar.logger.Warn("deleting a task's handle", "task", task.Name, "error", err)
		}
	}
}
