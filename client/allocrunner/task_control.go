package allocrunner

import (
	"context"
	"errors"
	"fmt"

	"github.com/orch-io/orch/client/driver"
	"github.com/orch-io/orch/structs"
)

// Control of running tasks from outside the runner: script checks run
// commands in a task, and check_restart restarts it (client/checks).

// ErrTaskNotRunning is returned (wrapped) by ExecTask and RestartTask for a
// task that has no running instance.
var ErrTaskNotRunning = errors.New("allocrunner: task not running")

// TaskRestartSignaled is the event of a restart asked from outside the task
// runner (a failing check), as in Nomad.
const TaskRestartSignaled = "Restart Signaled"

func (tr *taskRunner) setHandle(h driver.Handle) {
	tr.mu.Lock()
	tr.mu.handle = h
	tr.mu.Unlock()
}

func (tr *taskRunner) handle() driver.Handle {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.mu.handle
}

func (ar *AllocRunner) taskRunner(name string) *taskRunner {
	for _, tr := range ar.taskRunners() {
		if tr.cfg.Task.Name == name {
			return tr
		}
	}
	return nil
}

// ExecTask runs cmd in the running task's context through its driver's exec
// (a script check). Safe from any goroutine.
func (ar *AllocRunner) ExecTask(ctx context.Context, task string, cmd []string) (*driver.ExecResult, error) {
	tr := ar.taskRunner(task)
	if tr == nil {
		return nil, fmt.Errorf("allocation has no task %q", task)
	}
	h := tr.handle()
	if h == nil {
		return nil, fmt.Errorf("task %q: %w", task, ErrTaskNotRunning)
	}
	return h.Exec(ctx, cmd)
}

// RestartTask restarts the running task (every running task for "") as if
// it had failed: it is stopped with its kill signal and the restart policy
// decides what follows (a delay, or failing the task once its attempts are
// used up). reason is recorded in the task's events. Returns at once.
func (ar *AllocRunner) RestartTask(task, reason string) error {
	var trs []*taskRunner
	if task == "" {
		trs = ar.taskRunners()
	} else if tr := ar.taskRunner(task); tr != nil {
		trs = []*taskRunner{tr}
	} else {
		return fmt.Errorf("allocation has no task %q", task)
	}
	restarted := 0
	for _, tr := range trs {
		h := tr.handle()
		if h == nil {
			continue
		}
		restarted++
		tr.update(func(st *structs.TaskState) {
			ev := tr.event(TaskRestartSignaled, reason)
			ev.RestartReason = reason
			st.AppendEvent(ev)
		})
		sig, timeout, err := tr.killSettings()
		if err != nil {
			return err
		}
		go func() {
			if err := h.Stop(sig, timeout); err != nil {
				tr.logger.Warn("stopping the task to restart it", "error", err)
			}
		}()
	}
	if restarted == 0 {
		return fmt.Errorf("task %q: %w", task, ErrTaskNotRunning)
	}
	return nil
}
