package allocrunner

import (
	"context"
	"errors"
	"fmt"

	"github.com/orch-io/orch/client/driver"
	"github.com/orch-io/orch/structs"
)

// Restarting and signalling a running task on a user's request (orch alloc
// restart / signal, through the client endpoints). Both act on the handle
// run is waiting for; run sees a restart it was asked for when the task
// exits and starts the task again at once, without counting the exit
// against the restart policy.

// setRunning records (or, with nil, clears) the handle run waits for.
func (tr *taskRunner) setRunning(h driver.Handle) {
	tr.mu.Lock()
	tr.mu.running = h
	tr.mu.Unlock()
}

// runningHandle returns the handle of the running task, or a conflict error
// naming the task when it does not run.
func (tr *taskRunner) runningHandle() (driver.Handle, error) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if tr.mu.running == nil || tr.killCtx.Err() != nil {
		return nil, structs.NewError(structs.CodeConflict, "task %q is not running (%s)", tr.cfg.Task.Name, tr.mu.state.State)
	}
	return tr.mu.running, nil
}

// takeRestartAsked reports, once, that restart was called for the exit run
// just saw.
func (tr *taskRunner) takeRestartAsked() bool {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	asked := tr.mu.restartAsked
	tr.mu.restartAsked = false
	return asked && tr.killCtx.Err() == nil
}

// restartingAsked records the restart run is about to do for a user.
func (tr *taskRunner) restartingAsked() {
	tr.logger.Info("task restarting on request")
	tr.cfg.Metrics.taskRestarted(tr.cfg.Task.Driver)
	tr.update(func(st *structs.TaskState) {
		ev := tr.event(structs.TaskRestarting, "Task restarting in 0s")
		ev.RestartReason = "User requested restart"
		st.AppendEvent(ev)
		st.State = structs.TaskStatePending
		st.Restarts++
		st.LastRestart = tr.cfg.Now().UnixNano()
	})
}

// restart stops the running task with its kill signal (SIGKILL after its
// kill timeout) and has run start it again. It returns once the task has
// stopped; called from any goroutine.
func (tr *taskRunner) restart() error {
	return tr.restartFor("User requested task to restart", "User requested restart")
}

// restartFor is restart with the event's description and restart reason:
// a restart asked for (by a user, or by a template whose change_mode is
// "restart"), immediate and not counted against the restart policy, as
// Nomad's.
func (tr *taskRunner) restartFor(description, reason string) error {
	h, err := tr.runningHandle()
	if err != nil {
		return err
	}
	sig, timeout, err := tr.killSettings()
	if err != nil {
		return err
	}
	tr.mu.Lock()
	tr.mu.restartAsked = true
	tr.mu.Unlock()
	tr.update(func(st *structs.TaskState) {
		ev := tr.event(structs.TaskRestartSignal, description)
		ev.RestartReason = reason
		st.AppendEvent(ev)
	})
	return h.Stop(sig, timeout)
}

// signal sends sig ("SIGHUP") to the running task.
func (tr *taskRunner) signal(sig string) error {
	if err := checkSignal(sig); err != nil {
		return err
	}
	h, err := tr.runningHandle()
	if err != nil {
		return err
	}
	tr.update(func(st *structs.TaskState) {
		st.AppendEvent(tr.event(structs.TaskSignaling, fmt.Sprintf("Task being sent signal %s", sig)))
	})
	return h.Signal(sig)
}

// checkSignal rejects a signal name the drivers do not know.
func checkSignal(sig string) error {
	if _, err := driver.ParseSignal(sig); err != nil {
		return structs.NewError(structs.CodeInvalid, "signal %q: not a known signal (use one of SIGHUP, SIGINT, SIGTERM, SIGQUIT, SIGKILL, SIGUSR1, SIGUSR2, ...)", sig)
	}
	return nil
}

// Control of running tasks from outside the runner: script checks run
// commands in a task, and check_restart restarts it (client/checks).

// ErrTaskNotRunning is returned (wrapped) by ExecTask and RestartTask for a
// task that has no running instance.
var ErrTaskNotRunning = errors.New("allocrunner: task not running")

// runningNow returns the handle of the running task, nil when it does not
// run. Safe from any goroutine.
func (tr *taskRunner) runningNow() driver.Handle {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.mu.running
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
	h := tr.runningNow()
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
		h := tr.runningNow()
		if h == nil {
			continue
		}
		restarted++
		tr.update(func(st *structs.TaskState) {
			ev := tr.event(structs.TaskRestartSignal, reason)
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

// ExecTaskStreaming runs opts.Cmd in the running task's context (orch alloc
// exec) and returns its exit code once it exits. A task that does not run
// is a conflict error naming its state; an allocation without the task is
// a not-found error. Safe from any goroutine.
func (ar *AllocRunner) ExecTaskStreaming(ctx context.Context, task string, opts *driver.ExecOptions) (int, error) {
	tr := ar.taskRunner(task)
	if tr == nil {
		return 0, structs.NewError(structs.CodeNotFound, "allocation %s has no task %q", ar.ID(), task)
	}
	h, err := tr.runningHandle()
	if err != nil {
		return 0, err
	}
	return driver.ExecStreaming(ctx, h, opts)
}

// CheckExec reports, without running anything, the error ExecTaskStreaming
// would return at once for task.
func (ar *AllocRunner) CheckExec(task string) error {
	tr := ar.taskRunner(task)
	if tr == nil {
		return structs.NewError(structs.CodeNotFound, "allocation %s has no task %q", ar.ID(), task)
	}
	_, err := tr.runningHandle()
	return err
}
