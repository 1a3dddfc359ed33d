package allocrunner

import (
	"context"
	"sync"

	"github.com/orch-io/orch/client/driver"
	"github.com/orch-io/orch/structs"
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

// destroyLeftRunning stops and destroys the task instances an earlier agent
// left running for this one to reattach to, when the allocation must not run
// any more: each is reattached to, sent its kill signal and killed after its
// kill timeout, all at once. Called before any task runner exists.
func (ar *AllocRunner) destroyLeftRunning() {
	a := ar.cfg.Alloc
	if a.Job == nil {
		return
	}
	tg := a.Job.LookupTaskGroup(a.TaskGroup)
	if tg == nil {
		return
	}
	var wg sync.WaitGroup
	for _, task := range tg.Tasks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ar.destroyTaskLeftRunning(task)
		}()
	}
	wg.Wait()
}

func (ar *AllocRunner) destroyTaskLeftRunning(task *structs.Task) {
	a := ar.cfg.Alloc
	th, err := ar.cfg.Handles.TaskHandle(a.ID, task.Name)
	if err != nil {
		ar.logger.Warn("reading a task's handle", "task", task.Name, "error", err)
	}
	d := ar.cfg.Drivers[task.Driver]
	if th == nil || d == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), recoverTimeout)
	defer cancel()
	cfg := &driver.TaskConfig{AllocID: a.ID, JobID: a.JobID, TaskName: task.Name, Config: task.Config}
	if h, err := d.Recover(ctx, cfg, th); err == nil {
		ar.logger.Info("stopping a task the servers stopped while the agent was down", "task", task.Name, "handle", th.ID)
		signal, timeout, err := killSettings(task)
		if err != nil {
			signal = "SIGKILL" // the task could never have been started with it
		}
		if err := h.Stop(signal, timeout); err != nil {
			ar.logger.Warn("stopping a task", "task", task.Name, "error", err)
		}
		if err := h.Destroy(ctx); err != nil {
			ar.logger.Warn("destroying a task", "task", task.Name, "error", err)
		}
	}
	if err := ar.cfg.Handles.DeleteTaskHandle(a.ID, task.Name); err != nil {
		ar.logger.Warn("deleting a task's handle", "task", task.Name, "error", err)
	}
}
