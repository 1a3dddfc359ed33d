package allocrunner

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/orch-io/orch/client/driver"
	"github.com/orch-io/orch/client/template"
	"github.com/orch-io/orch/internal/tracing"
	"github.com/orch-io/orch/structs"
	"go.opentelemetry.io/otel/attribute"
)

// Config is what an AllocRunner needs.
type Config struct {
	// Alloc is the allocation to run, as the servers sent it (with its Job) or as
	// the client restored it (with its last TaskStates). The runner owns it from
	// now on: pass a copy. Its Job is shared and never modified.
	Alloc *structs.Allocation
	// Node is this node, for the tasks' environment. Read-only.
	Node *structs.Node
	// AllocsDir is the directory allocation directories are made in
	// (<data_dir>/client/allocs).
	AllocsDir string
	// Drivers are the task drivers of this node, by name. Read-only.
	Drivers map[string]driver.Driver
	// Handles persists the handles of running tasks, so that a restarted
	// agent reattaches to them; nil keeps them nowhere (tests).
	Handles HandleStore
	// StopTasksOnShutdown makes Shutdown stop every task, even those whose
	// driver could reattach to them (an agent nothing will restart on the
	// same data dir: -dev).
	StopTasksOnShutdown bool
	// Persist saves the allocation with its client state (a copy the callee
	// may keep). It is called after every change, on the runner's own goroutine,
	// never after Shutdown or Destroy have begun. An error is logged.
	Persist func(alloc *structs.Allocation) error
	// Send hands the allocation with its client state (a copy the callee may
	// keep) to whoever reports to the servers, right after Persist. Must not
	// block.
	Send func(alloc *structs.Allocation)
	// AgentEnv is the environment tasks inherit (raw_exec passes the agent's);
	// nil means os.Environ().
	AgentEnv []string
	// Services reads the service registry for the tasks' templates; nil
	// when there is none (a template that reads it fails to render).
	Services template.ServiceSource
	// Checks returns the latest results of the allocation's checks (the
	// client's check runner's), for its health in health_check "checks"
	// mode; nil when there are none. Whoever runs the checks calls
	// ChecksChanged when one changes.
	Checks func() []*structs.CheckQueryResult
	// Now is the clock; nil means time.Now. The health tracker's timers run
	// on real time; Now only stamps.
	Now    func() time.Time
	Logger *slog.Logger
	// Metrics are the client's task metrics; nil records nothing.
	Metrics *Metrics
	// Tracer records the allocation's start (and its tasks') as spans of
	// the trace that placed it (Allocation.TraceParent); nil records nothing.
	Tracer *tracing.Tracer
}

// AllocRunner runs one allocation: it builds its directory, runs a task runner
// per task and folds their states into the allocation's client status, which it
// persists and sends on every change.
//
// The client calls Run once, then Update, Shutdown or Destroy, from any
// goroutine. The runner's own goroutines are: one per task, one that persists
// and sends state (the sync loop), one that waits for the tasks to finish.
type AllocRunner struct {
	cfg    Config
	logger *slog.Logger
	dir    *allocDir

	// syncCh asks the sync loop to persist and send (capacity 1: requests
	// coalesce, and every sync reads the latest state).
	syncCh chan struct{}
	// healthCh tells the health watcher a task state or a check changed
	// (capacity 1).
	healthCh chan struct{}
	// lifecycleCh wakes lifecycleLoop on a task change (lifecycle.go).
	lifecycleCh chan struct{}
	frozenCh    chan struct{} // closed by freeze
	loopDone    chan struct{} // closed when the sync loop returns
	waitCh      chan struct{} // closed when every task runner has returned

	mu struct {
		sync.Mutex
		alloc *structs.Allocation
		// tasks are set once by Run, in the group's order.
		tasks   []*taskRunner
		started bool
		// frozen: Shutdown or Destroy began; the client state is no longer
		// persisted nor sent, so what the agent shut down with is what it
		// restores.
		frozen bool
		// failure, when set, makes the allocation failed with this description
		// whatever its tasks (it could not be set up).
		failure string
		// siblingsKilled: a task failed and the others were told to stop.
		siblingsKilled bool
	}
}

// New returns a runner for cfg.Alloc. It does nothing until Run.
func New(cfg Config) *AllocRunner {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.AgentEnv == nil {
		cfg.AgentEnv = os.Environ()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Handles == nil {
		cfg.Handles = noHandles{}
	}
	a := cfg.Alloc
	ar := &AllocRunner{
		cfg:         cfg,
		logger:      cfg.Logger.With("alloc_id", a.ID, "job_id", a.JobID, "eval_id", a.EvalID, "request_id", a.RequestID),
		syncCh:      make(chan struct{}, 1),
		healthCh:    make(chan struct{}, 1),
		lifecycleCh: make(chan struct{}, 1),
		frozenCh:    make(chan struct{}),
		loopDone:    make(chan struct{}),
		waitCh:      make(chan struct{}),
	}
	ar.mu.alloc = a
	return ar
}

// ID is the allocation's ID.
func (ar *AllocRunner) ID() string { return ar.cfg.Alloc.ID }

// Alloc returns a copy of the allocation with its current client state.
func (ar *AllocRunner) Alloc() *structs.Allocation {
	ar.mu.Lock()
	defer ar.mu.Unlock()
	return ar.mu.alloc.Copy()
}

// WaitCh is closed once no task of the allocation runs any more, and none will
// (every task dead for good, or the runner shut down).
func (ar *AllocRunner) WaitCh() <-chan struct{} { return ar.waitCh }

// Run starts the allocation's tasks and returns at once. A new allocation the
// servers want stopped, or one that already finished, starts nothing. Called
// once.
func (ar *AllocRunner) Run() {
	ar.mu.Lock()
	if ar.mu.started || ar.mu.frozen {
		ar.mu.Unlock()
		return
	}
	ar.mu.started = true
	alloc := ar.mu.alloc.Copy() // the sync loop writes to ar.mu.alloc
	ar.mu.Unlock()

	go ar.syncLoop()

	if alloc.ClientTerminal() {
		close(ar.waitCh)
		return
	}
	if alloc.ServerTerminal() {
		go func() {
			ar.stoppedWhileDown()
			close(ar.waitCh)
		}()
		return
	}

	traceCtx, span := ar.cfg.Tracer.StartFrom(context.Background(), alloc.TraceParent, "client alloc run")
	defer span.End() // at once: the task starts are its children, timed on their own
	if span.IsRecording() {
		span.SetAttributes(attribute.String("orch.alloc_id", alloc.ID), attribute.String("orch.node_id", alloc.NodeID))
	}
	tg, err := ar.setup(alloc)
	if err != nil {
		ar.logger.Error("allocation cannot run", "error", err)
		ar.mu.Lock()
		ar.mu.failure = err.Error()
		ar.mu.Unlock()
		ar.requestSync()
		close(ar.waitCh)
		return
	}

	var gates [numGates]chan struct{}
	lifecycle := hasLifecycle(tg)
	if lifecycle {
		for g := gateNone + 1; g < numGates; g++ { // gateNone stays nil: no wait
			gates[g] = make(chan struct{})
		}
	}
	trs := ar.newTaskRunners(traceCtx, alloc, tg, gates)
	ar.mu.Lock()
	if ar.mu.frozen { // shut down while setting up: nothing was started
		ar.mu.Unlock()
		close(ar.waitCh)
		return
	}
	ar.mu.tasks = trs
	stop := ar.mu.alloc.ServerTerminal() // an Update during setup
	ar.mu.Unlock()

	for _, tr := range trs {
		go tr.run()
		if stop && roleOf(tr.cfg.Task) != rolePoststop {
			tr.kill(nil)
		}
	}
	if lifecycle {
		go ar.lifecycleLoop(trs, gates)
	}
	if cfg, ok := healthToTrack(alloc, tg); ok {
		go ar.watchHealth(cfg, tg, ar.cfg.Now())
	}
	go func() {
		for _, tr := range trs {
			<-tr.doneCh()
		}
		close(ar.waitCh)
	}()
	ar.requestSync()
}

// taskRunners returns the task runners (nil before Run); the slice is the
// caller's.
func (ar *AllocRunner) taskRunners() []*taskRunner {
	ar.mu.Lock()
	defer ar.mu.Unlock()
	return append([]*taskRunner(nil), ar.mu.tasks...)
}

// setup checks what the allocation needs and builds its directories.
func (ar *AllocRunner) setup(alloc *structs.Allocation) (*structs.TaskGroup, error) {
	if alloc.Job == nil {
		return nil, fmt.Errorf("allocation %s has no job", alloc.ID)
	}
	tg := alloc.Job.LookupTaskGroup(alloc.TaskGroup)
	if tg == nil {
		return nil, fmt.Errorf("job %q has no task group %q", alloc.Job.ID, alloc.TaskGroup)
	}
	if len(tg.Tasks) == 0 {
		return nil, fmt.Errorf("job %q: group %q has no tasks", alloc.Job.ID, tg.Name)
	}
	dir, err := newAllocDir(ar.cfg.AllocsDir, alloc.ID)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(tg.Tasks))
	for i, t := range tg.Tasks {
		names[i] = t.Name
	}
	if err := dir.build(names); err != nil {
		return nil, fmt.Errorf("building the allocation directory: %w", err)
	}
	if err := dir.writeDispatchPayloads(alloc.Job, tg); err != nil {
		return nil, err
	}
	ar.dir = dir
	return tg, nil
}

// newTaskRunners makes the runners of tg's tasks; gates are the lifecycle
// gates their roles wait at (all nil: no task has a lifecycle).
func (ar *AllocRunner) newTaskRunners(traceCtx context.Context, alloc *structs.Allocation, tg *structs.TaskGroup, gates [numGates]chan struct{}) []*taskRunner {
	trs := make([]*taskRunner, len(tg.Tasks))
	for i, task := range tg.Tasks {
		env := buildTaskEnv(taskEnvInput{
			Alloc:    alloc,
			Task:     task,
			Node:     ar.cfg.Node,
			AllocDir: ar.dir.sharedDir(),
			TaskDir:  ar.dir.localDir(task.Name),
			Secrets:  ar.dir.secretsDir(task.Name),
			AgentEnv: ar.cfg.AgentEnv,
		})
		// Isolating drivers: the directories as mounted in the task, and
		// nothing of the agent's environment.
		taskEnv := buildTaskEnv(taskEnvInput{
			Alloc:    alloc,
			Task:     task,
			Node:     ar.cfg.Node,
			AllocDir: "/alloc",
			TaskDir:  "/local",
			Secrets:  "/secrets",
			AgentEnv: []string{},
		})
		trs[i] = newTaskRunner(taskRunnerConfig{
			Templates:     ar.newTemplates(alloc, task, env, func() *taskRunner { return trs[i] }),
			Alloc:         alloc,
			Task:          task,
			JobType:       alloc.Job.Type,
			RestartPolicy: tg.RestartPolicy,
			Driver:        ar.cfg.Drivers[task.Driver],
			Handles:       ar.cfg.Handles,
			Metrics:       ar.cfg.Metrics,
			Tracer:        ar.cfg.Tracer,
			TraceCtx:      traceCtx,
			TaskConfig:    ar.taskConfig(alloc, task, env, taskEnv),
			State:         alloc.TaskStates[task.Name],
			Notify:        ar.taskChanged,
			Now:           ar.cfg.Now,
			Logger:        ar.logger,
			Gate:          gates[roleOf(task).gate()],
			Ephemeral:     roleOf(task).ephemeral(),
		})
	}
	return trs
}

// taskConfig is what task's driver starts it with.
//
// ${...} in the task's config is interpolated with the variables of the
// environment the driver gives the task (taskEnv for an isolating driver) and
// the node's.
func (ar *AllocRunner) taskConfig(alloc *structs.Allocation, task *structs.Task, env, taskEnv []string) *driver.TaskConfig {
	seen := env
	if d := ar.cfg.Drivers[task.Driver]; d != nil && d.Capabilities().Isolated {
		seen = taskEnv
	}
	tc := &driver.TaskConfig{
		AllocID:    alloc.ID,
		JobID:      alloc.JobID,
		TaskName:   task.Name,
		User:       task.User,
		Config:     interpolateConfig(task.Config, interpolationVars(seen, nodeVars(ar.cfg.Node, jobRegion(alloc)))),
		Env:        env,
		TaskEnv:    taskEnv,
		Dir:        ar.dir.taskDir(task.Name),
		AllocDir:   ar.dir.sharedDir(),
		LocalDir:   ar.dir.localDir(task.Name),
		SecretsDir: ar.dir.secretsDir(task.Name),
		StdoutPath: ar.dir.stdoutPath(task.Name),
		StderrPath: ar.dir.stderrPath(task.Name),
		Resources:  task.Resources,
		Logs:       task.LogConfig,
	}
	if r := alloc.AllocatedResources; r != nil {
		if tr := r.Tasks[task.Name]; tr != nil {
			tc.Resources = tr
		}
		tc.Ports = r.Shared.Ports
	}
	return tc
}

// stoppedWhileDown handles an allocation restored from local state that the
// servers had told to stop but whose tasks had not finished when the agent
// shut down: tasks left running for this agent to reattach to are stopped
// and destroyed, and every unfinished task is recorded killed. It runs on a
// goroutine of its own: stopping takes up to the tasks' kill timeouts.
func (ar *AllocRunner) stoppedWhileDown() {
	ar.destroyLeftRunning()
	ar.mu.Lock()
	a := ar.mu.alloc
	now := ar.cfg.Now().UnixNano()
	for _, ts := range a.TaskStates {
		if ts.State == structs.TaskStateDead {
			continue
		}
		ts.State = structs.TaskStateDead
		ts.FinishedAt = now
		ts.AppendEvent(&structs.TaskEvent{Type: structs.TaskKilled, Time: now, DisplayMessage: "Task killed: the servers stopped the allocation while the client agent was down"})
	}
	ar.mu.Unlock()
	ar.requestSync()
}

// Update takes the servers' new version of the allocation (a copy the runner
// keeps): the server-side fields replace the runner's, the client state stays.
// When the servers want the allocation stopped, its tasks are killed.
func (ar *AllocRunner) Update(alloc *structs.Allocation) {
	ar.mu.Lock()
	if ar.mu.frozen {
		ar.mu.Unlock()
		return
	}
	cur := ar.mu.alloc
	alloc.ClientStatus = cur.ClientStatus
	alloc.ClientDescription = cur.ClientDescription
	alloc.TaskStates = cur.TaskStates
	if alloc.Job == nil {
		alloc.Job = cur.Job
	}
	alloc.DeploymentStatus = keepLocalHealth(alloc.DeploymentStatus, cur.DeploymentStatus)
	ar.mu.alloc = alloc
	stop := alloc.ServerTerminal()
	ar.mu.Unlock()

	if stop {
		ar.logger.Info("servers stopped the allocation", "reason", alloc.DesiredDescription)
		for _, tr := range ar.taskRunners() {
			if roleOf(tr.cfg.Task) != rolePoststop { // they run once the others stopped
				tr.kill(nil)
			}
		}
	}
	ar.requestSync()
}

// Shutdown ends the runner because the agent is shutting down, and returns
// once its task runners have returned. Tasks whose driver reattaches are left
// running (unless StopTasksOnShutdown); the others are stopped (kill signal,
// then SIGKILL after the kill timeout). The client state is frozen first: the allocation stays persisted
// as it was (e.g. running), so that the agent, when it comes back, reattaches
// to its tasks or runs them again, and the servers are not told it ended.
func (ar *AllocRunner) Shutdown() {
	ar.freeze()
	for _, tr := range ar.taskRunners() {
		if ar.cfg.StopTasksOnShutdown {
			tr.kill(nil)
		} else {
			tr.shutdown()
		}
	}
	<-ar.waitCh
	<-ar.loopDone
}

// Destroy stops the allocation's tasks for good (every driver's, whatever it
// can reattach to), then removes the allocation's directory. The client calls
// it when the servers no longer list the allocation (they garbage-collected
// it).
func (ar *AllocRunner) Destroy() error {
	ar.freeze()
	for _, tr := range ar.taskRunners() {
		tr.kill(nil)
	}
	<-ar.waitCh
	<-ar.loopDone
	dir, err := newAllocDir(ar.cfg.AllocsDir, ar.cfg.Alloc.ID)
	if err != nil {
		return nil // no directory was ever made
	}
	return dir.destroy()
}

// freeze stops persisting and sending client state. If Run was never called,
// it closes what Run would have.
func (ar *AllocRunner) freeze() {
	ar.mu.Lock()
	defer ar.mu.Unlock()
	if ar.mu.frozen {
		return
	}
	ar.mu.frozen = true
	close(ar.frozenCh)
	if !ar.mu.started {
		ar.mu.started = true
		close(ar.waitCh)
		close(ar.loopDone)
	}
}

// requestSync asks the sync loop to persist and send; it never blocks.
func (ar *AllocRunner) requestSync() {
	select {
	case ar.syncCh <- struct{}{}:
	default:
	}
}

// syncLoop is the one goroutine that persists and sends the client state, so
// that what is persisted is never older than what was persisted before.
func (ar *AllocRunner) syncLoop() {
	defer close(ar.loopDone)
	for {
		select {
		case <-ar.syncCh:
			ar.sync()
		case <-ar.frozenCh:
			return
		}
	}
}

// sync folds the task states into the allocation, then persists and sends it.
func (ar *AllocRunner) sync() {
	ar.mu.Lock()
	if ar.mu.frozen {
		ar.mu.Unlock()
		return
	}
	a := ar.mu.alloc
	if len(ar.mu.tasks) > 0 {
		if a.TaskStates == nil {
			a.TaskStates = make(map[string]*structs.TaskState, len(ar.mu.tasks))
		}
		for _, tr := range ar.mu.tasks {
			a.TaskStates[tr.cfg.Task.Name] = tr.state()
		}
	}
	if ar.mu.failure != "" {
		a.ClientStatus, a.ClientDescription = structs.AllocClientStatusFailed, ar.mu.failure
	} else {
		a.ClientStatus, a.ClientDescription = clientStatus(a.TaskStates)
	}
	var failedTask string
	var siblings []*taskRunner
	if a.ClientStatus == structs.AllocClientStatusFailed && !ar.mu.siblingsKilled {
		ar.mu.siblingsKilled = true
		for _, tr := range ar.mu.tasks {
			if ts := a.TaskStates[tr.cfg.Task.Name]; ts != nil && ts.Failed && failedTask == "" {
				failedTask = tr.cfg.Task.Name
			} else if roleOf(tr.cfg.Task) != rolePoststop { // they run once the others stopped
				siblings = append(siblings, tr)
			}
		}
	}
	snapshot := a.Copy()
	ar.mu.Unlock()

	if failedTask != "" {
		ar.killSiblings(failedTask, siblings)
	}
	if err := ar.cfg.Persist(snapshot); err != nil {
		ar.logger.Error("persisting allocation state", "error", err)
	}
	ar.cfg.Send(snapshot.Copy())
}

// killSiblings stops the other tasks after task failed failed: the allocation
// has failed as a whole, as in Nomad.
func (ar *AllocRunner) killSiblings(failed string, siblings []*taskRunner) {
	ar.logger.Info("task failed; stopping the other tasks", "task", failed)
	for _, tr := range siblings {
		ev := &structs.TaskEvent{
			Type:           structs.TaskSiblingFailed,
			Time:           ar.cfg.Now().UnixNano(),
			DisplayMessage: fmt.Sprintf("Task's sibling %q failed", failed),
		}
		tr.kill(ev)
	}
}
