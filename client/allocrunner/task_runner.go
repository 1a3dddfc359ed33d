package allocrunner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/orch-io/orch/client/driver"
	"github.com/orch-io/orch/structs"
)

// Task defaults, as in Nomad, for jobs that were not canonicalized.
const (
	defaultKillTimeout = 5 * time.Second
	defaultKillSignal  = "SIGINT"
)

// taskRunnerConfig is everything a task runner needs. The runner only reads it.
type taskRunnerConfig struct {
	Alloc   *structs.Allocation // read-only; for IDs and logs
	Task    *structs.Task
	JobType structs.JobType
	// RestartPolicy is the group's; nil means the job type's default.
	RestartPolicy *structs.RestartPolicy
	// Driver runs the task; nil when the task's driver is not on this node.
	Driver     driver.Driver
	Dir        string // working directory
	StdoutPath string
	StderrPath string
	Env        []string
	// State is the task's state restored from the client's local state; nil for a
	// task never run. A restored task that is dead stays dead; one that was
	// running is re-attached to through the driver (a driver.Recoverer), and
	// only started again when the driver no longer has it.
	State *structs.TaskState
	// Logs is the task's logs block (nil: defaults).
	Logs *structs.LogConfig
	// Notify is called after every change of the task's state, on the task
	// runner's goroutine. It must not block.
	Notify func()
	Now    func() time.Time
	Logger *slog.Logger
}

// taskRunner drives one task through its life: start it with its driver, wait
// for it, restart it per the restart policy, kill it when told to. Its state
// (pending → running → dead, with events) is read with state().
//
// run is the runner's one goroutine; kill and state may be called from any
// goroutine.
type taskRunner struct {
	cfg    taskRunnerConfig
	logger *slog.Logger

	// killCtx is canceled by kill; every wait of run selects on it.
	killCtx    context.Context
	killCancel context.CancelFunc
	// detachCtx is canceled by detach (the agent stops, the task runs on);
	// waitCtx ends with either.
	detachCtx    context.Context
	detachCancel context.CancelFunc
	waitCtx      context.Context
	done         chan struct{} // closed when run returns

	mu struct {
		sync.Mutex
		state *structs.TaskState
		// killReason, if set by kill, is recorded as an event before Killing.
		killReason *structs.TaskEvent
		// running is the handle of the task while run waits for it (nil
		// otherwise); restartAsked is set by restart (task_control.go).
		running      driver.Handle
		restartAsked bool
	}
}

func newTaskRunner(cfg taskRunnerConfig) *taskRunner {
	tr := &taskRunner{
		cfg:    cfg,
		logger: cfg.Logger.With("task", cfg.Task.Name),
		done:   make(chan struct{}),
	}
	tr.killCtx, tr.killCancel = context.WithCancel(context.Background())
	tr.detachCtx, tr.detachCancel = context.WithCancel(context.Background())
	var stop context.CancelFunc
	tr.waitCtx, stop = context.WithCancel(tr.killCtx)
	context.AfterFunc(tr.detachCtx, stop)
	if cfg.State != nil {
		tr.mu.state = cfg.State.Copy()
	} else {
		tr.mu.state = &structs.TaskState{State: structs.TaskStatePending}
	}
	return tr
}

// state returns a copy of the task's state.
func (tr *taskRunner) state() *structs.TaskState {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.mu.state.Copy()
}

// kill stops the task for good: it is stopped with its kill signal, then
// SIGKILL after its kill timeout, and ends dead (not failed). reason, if not
// nil, is recorded first (e.g. a sibling failed). kill returns at once; wait on
// doneCh. Only the first call counts.
func (tr *taskRunner) kill(reason *structs.TaskEvent) {
	tr.mu.Lock()
	if tr.killCtx.Err() == nil {
		tr.mu.killReason = reason
	}
	tr.mu.Unlock()
	tr.killCancel()
}

// detach makes the runner return without touching the task, which runs on
// (the agent is stopping; its next run re-attaches). Returns at once; wait on
// doneCh.
func (tr *taskRunner) detach() { tr.detachCancel() }

// doneCh is closed once the task is dead for good and the runner has returned.
func (tr *taskRunner) doneCh() <-chan struct{} { return tr.done }

// update applies change to the task's state and notifies.
func (tr *taskRunner) update(change func(st *structs.TaskState)) {
	tr.mu.Lock()
	change(tr.mu.state)
	tr.mu.Unlock()
	tr.cfg.Notify()
}

func (tr *taskRunner) event(typ, msg string) *structs.TaskEvent {
	return &structs.TaskEvent{Type: typ, Time: tr.cfg.Now().UnixNano(), DisplayMessage: msg}
}

// run is the task runner's goroutine. It returns when the task is dead for good.
func (tr *taskRunner) run() {
	defer close(tr.done)

	st := tr.state()
	if st.State == structs.TaskStateDead {
		return // finished before the agent restarted
	}
	restored := len(st.Events) > 0
	if !restored {
		tr.update(func(st *structs.TaskState) {
			st.AppendEvent(tr.event(structs.TaskReceived, "Task received by client"))
			st.AppendEvent(tr.event(structs.TaskSetup, "Building Task Directory"))
		})
	}

	killSignal, killTimeout, err := tr.killSettings()
	if err != nil {
		tr.failNow(structs.TaskFailedValidate, err)
		return
	}
	if tr.cfg.Driver == nil {
		tr.failNow(structs.TaskDriverFailure, fmt.Errorf("task %q: driver %q is not available on this node", tr.cfg.Task.Name, tr.cfg.Task.Driver))
		return
	}

	tracker := newRestartTracker(tr.cfg.RestartPolicy, tr.cfg.JobType, tr.cfg.Now())
	var recovered driver.Handle
	if restored && st.State == structs.TaskStateRunning {
		recovered = tr.recover()
	} else if restored {
		tr.update(func(st *structs.TaskState) {
			ev := tr.event(structs.TaskRestarting, "Task restarted because the client agent restarted")
			ev.RestartReason = "Client agent restarted"
			st.AppendEvent(ev)
		})
	}
	for {
		if tr.detachCtx.Err() != nil {
			return
		}
		if tr.killCtx.Err() != nil && recovered == nil {
			tr.killedWhileNotRunning()
			return
		}

		var decision restartDecision
		h, err := recovered, error(nil)
		if h == nil {
			h, err = tr.cfg.Driver.Start(tr.killCtx, tr.driverConfig())
		}
		switch {
		case err != nil && tr.killCtx.Err() != nil:
			tr.killedWhileNotRunning()
			return
		case errors.Is(err, driver.ErrInvalidConfig):
			tr.failNow(structs.TaskDriverFailure, err)
			return
		case err != nil:
			tr.logger.Warn("task failed to start", "error", err)
			tr.update(func(st *structs.TaskState) {
				ev := tr.event(structs.TaskDriverFailure, err.Error())
				ev.DriverError = err.Error()
				st.AppendEvent(ev)
			})
			decision = tracker.exited(tr.cfg.Now(), nil)
		default:
			tr.setRunning(h)
			res, interrupted := tr.waitRunning(h, h == recovered)
			tr.setRunning(nil)
			if interrupted && tr.detachCtx.Err() != nil {
				return
			}
			if interrupted {
				tr.stop(h, killSignal, killTimeout)
				return
			}
			if tr.takeRestartAsked() {
				recovered = nil
				tr.restartingAsked()
				continue
			}
			decision = tracker.exited(tr.cfg.Now(), res)
		}
		recovered = nil

		if !tr.afterExit(decision) {
			return
		}
	}
}

func (tr *taskRunner) driverConfig() *driver.TaskConfig {
	return &driver.TaskConfig{
		AllocID:    tr.cfg.Alloc.ID,
		TaskName:   tr.cfg.Task.Name,
		Config:     tr.cfg.Task.Config,
		Env:        tr.cfg.Env,
		Dir:        tr.cfg.Dir,
		StdoutPath: tr.cfg.StdoutPath,
		StderrPath: tr.cfg.StderrPath,
		Logs:       tr.cfg.Logs,
	}
}

// recover re-attaches to the task a previous agent left running. It returns
// nil when the driver cannot (the task is then started again, as after an
// exit whose status is unknown: the restart policy decides).
func (tr *taskRunner) recover() driver.Handle {
	rec, ok := tr.cfg.Driver.(driver.Recoverer)
	var h driver.Handle
	err := fmt.Errorf("driver %q cannot re-attach to tasks", tr.cfg.Driver.Name())
	if ok {
		h, err = rec.Recover(tr.killCtx, tr.driverConfig())
	}
	if err == nil {
		tr.logger.Info("re-attached to task", "pid", h.Pid())
		return h
	}
	tr.logger.Warn("cannot re-attach to task; it is lost", "error", err)
	return lostHandle{reason: "the task could not be re-attached after the client agent restarted: " + err.Error()}
}

// lostHandle stands for a task a restarted agent could not find: it has
// ended, status unknown.
type lostHandle struct{ reason string }

func (lostHandle) Pid() int { return 0 }
func (l lostHandle) Wait(context.Context) (*driver.ExitResult, error) {
	return &driver.ExitResult{ExitCode: -1, Unknown: l.reason}, nil
}
func (lostHandle) Stop(string, time.Duration) error { return nil }

// killSettings returns the task's kill signal and timeout, defaulted.
func (tr *taskRunner) killSettings() (string, time.Duration, error) {
	sig, timeout := tr.cfg.Task.KillSignal, tr.cfg.Task.KillTimeout
	if sig == "" {
		sig = defaultKillSignal
	}
	if timeout <= 0 {
		timeout = defaultKillTimeout
	}
	if _, err := driver.ParseSignal(sig); err != nil {
		return "", 0, fmt.Errorf("task %q: %w", tr.cfg.Task.Name, err)
	}
	return sig, timeout, nil
}

// waitRunning records the start of h (unless it was re-attached to) and waits
// for it to exit. interrupted reports that kill or detach was called first;
// the task is then still running.
func (tr *taskRunner) waitRunning(h driver.Handle, reattached bool) (res *driver.ExitResult, interrupted bool) {
	if !reattached {
		tr.logger.Info("task started", "pid", h.Pid())
		tr.update(func(st *structs.TaskState) {
			now := tr.cfg.Now().UnixNano()
			st.State = structs.TaskStateRunning
			st.StartedAt = now
			st.FinishedAt = 0
			st.AppendEvent(tr.event(structs.TaskStarted, "Task started by client"))
		})
	}

	res, err := h.Wait(tr.waitCtx)
	if err != nil {
		return nil, true
	}
	tr.logger.Info("task exited", "exit_code", res.ExitCode, "signal", res.Signal, "unknown", res.Unknown)
	msg := fmt.Sprintf("Exit Code: %d, Signal: %d", res.ExitCode, res.Signal)
	if res.Unknown != "" {
		msg = "Unknown exit: " + res.Unknown
	}
	tr.update(func(st *structs.TaskState) {
		ev := tr.event(structs.TaskTerminated, msg)
		ev.ExitCode = res.ExitCode
		ev.Signal = res.Signal
		st.AppendEvent(ev)
	})
	return res, false
}

// stop kills the running task h after kill was called, and records it dead.
func (tr *taskRunner) stop(h driver.Handle, signal string, timeout time.Duration) {
	tr.update(func(st *structs.TaskState) {
		if r := tr.mu.killReason; r != nil {
			st.AppendEvent(r)
		}
		ev := tr.event(structs.TaskKilling, fmt.Sprintf("Sent %s. Waiting %v before force killing", signal, timeout))
		ev.KillTimeout = int64(timeout)
		st.AppendEvent(ev)
	})
	if err := h.Stop(signal, timeout); err != nil {
		tr.logger.Warn("stopping task", "error", err)
	}
	res, err := h.Wait(context.Background())
	if err != nil { // cannot happen with a background context
		res = &driver.ExitResult{ExitCode: -1}
	}
	tr.logger.Info("task killed", "exit_code", res.ExitCode, "signal", res.Signal)
	tr.update(func(st *structs.TaskState) {
		ev := tr.event(structs.TaskKilled, "Task successfully killed")
		ev.ExitCode = res.ExitCode
		ev.Signal = res.Signal
		st.AppendEvent(ev)
		st.State = structs.TaskStateDead
		st.FinishedAt = tr.cfg.Now().UnixNano()
	})
}

// killedWhileNotRunning records a kill that came while no process ran
// (before the first start or during a restart delay).
func (tr *taskRunner) killedWhileNotRunning() {
	tr.logger.Info("task killed while not running")
	tr.update(func(st *structs.TaskState) {
		if r := tr.mu.killReason; r != nil {
			st.AppendEvent(r)
		}
		st.AppendEvent(tr.event(structs.TaskKilled, "Task successfully killed"))
		st.State = structs.TaskStateDead
		st.FinishedAt = tr.cfg.Now().UnixNano()
	})
}

// failNow fails the task without any restart: the problem is the job's.
func (tr *taskRunner) failNow(eventType string, err error) {
	tr.logger.Error("task failed", "error", err)
	tr.update(func(st *structs.TaskState) {
		ev := tr.event(eventType, err.Error())
		ev.FailsTask = true
		if eventType == structs.TaskDriverFailure {
			ev.DriverError = err.Error()
		}
		st.AppendEvent(ev)
		st.State = structs.TaskStateDead
		st.Failed = true
		st.FinishedAt = tr.cfg.Now().UnixNano()
	})
}

// afterExit carries out the restart decision that followed an exit (or a failed
// start). It reports whether to start the task again.
func (tr *taskRunner) afterExit(d restartDecision) bool {
	now := tr.cfg.Now()
	switch d.Action {
	case actionComplete:
		tr.update(func(st *structs.TaskState) {
			st.State = structs.TaskStateDead
			st.FinishedAt = now.UnixNano()
		})
		return false
	case actionFail:
		tr.logger.Info("task not restarted", "reason", d.Reason)
		tr.update(func(st *structs.TaskState) {
			ev := tr.event(structs.TaskNotRestarting, d.Reason)
			ev.RestartReason = d.Reason
			ev.FailsTask = true
			st.AppendEvent(ev)
			st.State = structs.TaskStateDead
			st.Failed = true
			st.FinishedAt = now.UnixNano()
		})
		return false
	}

	tr.logger.Info("task restarting", "delay", d.Delay, "reason", d.Reason)
	tr.update(func(st *structs.TaskState) {
		ev := tr.event(structs.TaskRestarting, fmt.Sprintf("Task restarting in %v", d.Delay))
		ev.RestartReason = d.Reason
		st.AppendEvent(ev)
		st.State = structs.TaskStatePending
		st.Restarts++
		st.LastRestart = now.UnixNano()
	})
	t := time.NewTimer(d.Delay)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-tr.detachCtx.Done():
		return false
	case <-tr.killCtx.Done():
		tr.killedWhileNotRunning()
		return false
	}
}
