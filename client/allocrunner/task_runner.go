package allocrunner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/orch-io/orch/client/driver"
	"github.com/orch-io/orch/client/template"
	"github.com/orch-io/orch/internal/tracing"
	"github.com/orch-io/orch/structs"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
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
	Driver driver.Driver
	// Handles persists the handle of the task's running instance; never nil.
	Handles HandleStore
	// TaskConfig is what the driver is started with (the runner reads it
	// only).
	TaskConfig *driver.TaskConfig
	// Templates renders the task's templates before each start; nil when
	// it has none (templates.go).
	Templates *template.Manager
	// State is the task's state restored from the client's local state; nil for a
	// task never run. A restored task that is dead stays dead; one whose
	// driver reattaches to its persisted handle goes on running (or has its
	// exit while the agent was down recorded); one whose driver no longer has
	// it is lost, an exit of unknown status that the restart policy judges;
	// any other (it was stopped with the agent) is started again.
	State *structs.TaskState
	// Notify is called after every change of the task's state, on the task
	// runner's goroutine. It must not block.
	Notify func()
	Now    func() time.Time
	Logger *slog.Logger
	// Metrics records starts, restarts and driver errors; nil records nothing.
	Metrics *Metrics
	// Tracer records a span per driver start under TraceCtx's span (the
	// alloc runner's, when the allocation is traced); nil records nothing.
	Tracer   *tracing.Tracer
	TraceCtx context.Context
	// Gate, when not nil, holds the task's first start until it is closed
	// (its lifecycle role's turn: lifecycle.go). A task restored after it
	// had started does not wait.
	Gate <-chan struct{}
	// Ephemeral tasks (lifecycle hooks that are not sidecars) run to
	// completion: a successful exit ends them whatever the job's type.
	Ephemeral bool
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
	done       chan struct{} // closed when run returns
	// templatesOnce starts the watch of the task's templates once.
	templatesOnce sync.Once

	mu struct {
		sync.Mutex
		state *structs.TaskState
		// killReason, if set by kill, is recorded as an event before Killing.
		killReason *structs.TaskEvent
		// detach, set by shutdown, makes run leave a running task running
		// (its driver reattaches to it after the agent restarts).
		detach bool
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

// shutdown ends the runner because the agent is shutting down: a task whose
// driver can reattach is left running (its handle stays persisted), any other
// is killed as by kill. Returns at once; wait on doneCh.
func (tr *taskRunner) shutdown() {
	if tr.cfg.Driver == nil || !tr.cfg.Driver.Capabilities().Reattach {
		tr.kill(nil)
		return
	}
	tr.mu.Lock()
	if tr.killCtx.Err() == nil {
		tr.mu.detach = true
	}
	tr.mu.Unlock()
	tr.killCancel()
}

func (tr *taskRunner) detaching() bool {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.mu.detach
}

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

// run is the task runner's goroutine. It returns when the task is dead for
// good, or left running for the next agent (shutdown).
func (tr *taskRunner) run() {
	defer close(tr.done)

	st := tr.state()
	if st.State == structs.TaskStateDead {
		return // finished before the agent restarted
	}
	// A task restored from the local state may still run: reattach.
	var h driver.Handle
	var lost *driver.ExitResult // a restored task its driver no longer has
	if len(st.Events) > 0 {
		h, lost = tr.recover()
		if h == nil && lost == nil {
			tr.update(func(st *structs.TaskState) {
				ev := tr.event(structs.TaskRestarting, "Task restarted because the client agent restarted")
				ev.RestartReason = "Client agent restarted"
				st.AppendEvent(ev)
			})
		}
	} else {
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

	if tr.cfg.Gate != nil && h == nil && lost == nil && st.StartedAt == 0 {
		select {
		case <-tr.cfg.Gate:
		case <-tr.killCtx.Done():
			tr.killedWhileNotRunning()
			return
		}
	}
	tracker := newRestartTracker(tr.cfg.RestartPolicy, tr.cfg.JobType, tr.cfg.Now())
	tracker.runToCompletion = tracker.runToCompletion || tr.cfg.Ephemeral
	for {
		var decision restartDecision
		switch {
		case lost != nil:
			tr.recordExit(lost)
			decision = tracker.exited(tr.cfg.Now(), lost)
			lost = nil
		case h == nil:
			if tr.killCtx.Err() != nil {
				tr.killedWhileNotRunning()
				return
			}
			var err error
			h, err = tr.start()
			switch {
			case err != nil && tr.killCtx.Err() != nil:
				tr.killedWhileNotRunning()
				return
			case errors.Is(err, driver.ErrUnrecoverable):
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
			}
		}
		if h != nil {
			tr.setRunning(h)
			res, killed := tr.waitRunning(h)
			tr.setRunning(nil)
			switch {
			case killed && tr.detaching():
				tr.logger.Info("agent shutting down; task left running", "handle", h.TaskHandle().ID)
				return
			case killed:
				tr.stop(h, killSignal, killTimeout)
				return
			}
			tr.release(h)
			h = nil
			if tr.takeRestartAsked() {
				tr.restartingAsked()
				continue
			}
			decision = tracker.exited(tr.cfg.Now(), res)
		}

		if !tr.afterExit(decision) {
			return
		}
	}
}

// recover reattaches to the task instance whose handle the local state keeps,
// and returns its handle. When the driver cannot reattach to it, the
// instance is lost (it ended while the agent was down, or with the node) and
// recover returns its unknown exit instead. Both are nil if no handle was
// kept: the task was not left running.
func (tr *taskRunner) recover() (driver.Handle, *driver.ExitResult) {
	if tr.cfg.Driver == nil {
		return nil, nil
	}
	name := tr.cfg.Task.Name
	th, err := tr.cfg.Handles.TaskHandle(tr.cfg.Alloc.ID, name)
	if err != nil {
		tr.logger.Warn("reading the task's handle", "error", err)
	}
	if th == nil {
		return nil, nil
	}
	if th.Driver != tr.cfg.Driver.Name() {
		tr.logger.Warn("task handle of another driver; starting the task again", "handle_driver", th.Driver)
		tr.forgetHandle()
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(tr.killCtx, recoverTimeout)
	defer cancel()
	h, err := tr.cfg.Driver.Recover(ctx, tr.cfg.TaskConfig, th)
	if err != nil {
		tr.logger.Warn("could not reattach to the task; it is lost", "handle", th.ID, "error", err)
		tr.forgetHandle()
		return nil, driver.Lost("the client agent restarted and could not reattach to the task: " + err.Error())
	}
	tr.logger.Info("reattached to the task", "handle", th.ID)
	return h, nil
}

// recoverTimeout bounds one Recover call.
const recoverTimeout = 30 * time.Second

// start starts the task and persists its handle.
func (tr *taskRunner) start() (driver.Handle, error) {
	tc, err := tr.renderTemplates()
	if err != nil {
		return nil, err
	}
	started := time.Now()
	_, span := tr.cfg.Tracer.StartFrom(tr.cfg.TraceCtx, "", "task start")
	if span.IsRecording() {
		span.SetAttributes(attribute.String("orch.task", tr.cfg.Task.Name), attribute.String("orch.driver", tr.cfg.Task.Driver),
			attribute.String("orch.alloc_id", tr.cfg.Alloc.ID))
	}
	h, err := tr.cfg.Driver.Start(tr.killCtx, tc)
	tr.cfg.Metrics.taskStarted(tr.cfg.Task.Driver, started, err)
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
		span.End()
		return nil, err
	}
	span.End()
	if err := tr.cfg.Handles.PutTaskHandle(tr.cfg.Alloc.ID, tr.cfg.Task.Name, h.TaskHandle()); err != nil {
		// The task runs; only reattaching after an agent restart is lost.
		tr.logger.Error("persisting the task's handle", "error", err)
	}
	tr.update(func(st *structs.TaskState) {
		st.State = structs.TaskStateRunning
		st.StartedAt = tr.cfg.Now().UnixNano()
		st.FinishedAt = 0
		st.AppendEvent(tr.event(structs.TaskStarted, "Task started by client"))
	})
	tr.logger.Info("task started", "handle", h.TaskHandle().ID)
	return h, nil
}

// release has the driver release an exited task's resources and forgets its
// handle.
func (tr *taskRunner) release(h driver.Handle) {
	ctx, cancel := context.WithTimeout(context.Background(), recoverTimeout)
	defer cancel()
	if err := h.Destroy(ctx); err != nil {
		tr.logger.Warn("releasing the exited task", "error", err)
	}
	tr.forgetHandle()
}

func (tr *taskRunner) forgetHandle() {
	if err := tr.cfg.Handles.DeleteTaskHandle(tr.cfg.Alloc.ID, tr.cfg.Task.Name); err != nil {
		tr.logger.Warn("deleting the task's handle", "error", err)
	}
}

// killSettings returns the task's kill signal and timeout, defaulted.
func (tr *taskRunner) killSettings() (string, time.Duration, error) { return killSettings(tr.cfg.Task) }

// killSettings returns task's kill signal and timeout, defaulted.
func killSettings(task *structs.Task) (string, time.Duration, error) {
	sig, timeout := task.KillSignal, task.KillTimeout
	if sig == "" {
		sig = defaultKillSignal
	}
	if timeout <= 0 {
		timeout = defaultKillTimeout
	}
	if _, err := driver.ParseSignal(sig); err != nil {
		return "", 0, fmt.Errorf("task %q: %w", task.Name, err)
	}
	return sig, timeout, nil
}

// waitRunning waits for the running task h to exit and records the exit.
// killed reports that kill or shutdown was called first; the task is then
// still running.
func (tr *taskRunner) waitRunning(h driver.Handle) (res *driver.ExitResult, killed bool) {
	res, err := h.Wait(tr.killCtx)
	if err != nil {
		return nil, true
	}
	tr.recordExit(res)
	return res, false
}

// recordExit records the task's exit as a Terminated event.
func (tr *taskRunner) recordExit(res *driver.ExitResult) {
	tr.logger.Info("task exited", "result", res.String())
	tr.update(func(st *structs.TaskState) {
		msg := fmt.Sprintf("Exit Code: %d, Signal: %d", res.ExitCode, res.Signal)
		if res.OOMKilled {
			msg += ", OOM Killed"
		}
		if res.Err != "" {
			msg += ": " + res.Err
		}
		if res.Unknown != "" {
			msg = "Unknown exit: " + res.Unknown
		}
		ev := tr.event(structs.TaskTerminated, msg)
		ev.ExitCode = res.ExitCode
		ev.Signal = res.Signal
		st.AppendEvent(ev)
	})
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
	tr.release(h)
	tr.logger.Info("task killed", "exit_code", res.ExitCode, "signal", res.Signal)
	tr.update(func(st *structs.TaskState) {
		ev := tr.event(structs.TaskKilled, "Task successfully killed")
		ev.ExitCode = res.ExitCode
		ev.Signal = res.Signal
		st.AppendEvent(ev)
		if r := tr.mu.killReason; r != nil && r.FailsTask {
			st.Failed = true // killed for a failure of its own (a change_script)
		}
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
	tr.cfg.Metrics.taskRestarted(tr.cfg.Task.Driver)
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
	case <-tr.killCtx.Done():
		tr.killedWhileNotRunning()
		return false
	}
}
