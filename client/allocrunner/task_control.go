package allocrunner

import (
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
		ev := tr.event(structs.TaskRestartSignal, "User requested task to restart")
		ev.RestartReason = "User requested restart"
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
