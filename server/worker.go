package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"sync"
	"time"

	"github.com/hashicorp/raft"
	"github.com/orch-io/orch/internal/tracing"
	"github.com/orch-io/orch/scheduler"
	"github.com/orch-io/orch/server/state"
	"github.com/orch-io/orch/structs"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// Workers run the schedulers. Each one loops on the leader: dequeue an
// evaluation from the broker, wait until the local state has applied it, run
// the scheduler of its job type on a snapshot, and ack (or nack on error). A
// worker is the scheduler's Planner: plans go to the plan applier, evaluation
// updates go through Raft.

// workerJobTypes are the scheduler types workers dequeue.
var workerJobTypes = []structs.JobType{structs.JobTypeService, structs.JobTypeBatch, structs.JobTypeSystem, structs.JobTypeSysBatch}

// stateWaitTimeout bounds how long a worker waits for the local state to reach
// an index it needs (the evaluation's, or a plan's refresh index).
const stateWaitTimeout = 10 * time.Second

var errStateWaitTimeout = errors.New("server: timed out waiting for the state store to reach an index")

// worker is one scheduler worker. It lives for one leadership term.
type worker struct {
	srv      *Server
	id       int
	plans    *planQueue
	failures *evalFailures
	logger   *slog.Logger
	// finishing is closed once the previous evaluation's final status has
	// committed and the evaluation was acked: the worker takes the next one
	// without waiting for that commit (nil when nothing is pending).
	finishing chan struct{}
}

func newWorker(s *Server, id int, plans *planQueue, failures *evalFailures) *worker {
	return &worker{srv: s, id: id, plans: plans, failures: failures, logger: s.config.Logger.With("component", "worker", "worker", id)}
}

// run processes evaluations until ctx ends (leadership lost or shutdown).
func (w *worker) run(ctx context.Context) {
	defer w.awaitFinishing()
	for {
		eval, token, err := w.srv.broker.Dequeue(ctx, workerJobTypes)
		if err != nil {
			if ctx.Err() == nil {
				w.logger.Error("dequeue failed", "error", err)
			}
			return
		}
		w.process(ctx, eval, token)
	}
}

// awaitFinishing waits until the previous evaluation's status has committed
// and it was acked (or nacked).
func (w *worker) awaitFinishing() {
	if w.finishing != nil {
		<-w.finishing
		w.finishing = nil
	}
}

// process runs the scheduler on one evaluation and acks or nacks it. A panic
// in the scheduler is a bug, but one evaluation must not take the leader down
// with it (and every next leader, to which the evaluation would move): it is
// recovered, logged with what reproduces it (the eval and the seed), and the
// evaluation nacked like one whose scheduler failed; past the broker's
// delivery limit the reaper marks it failed with the panic as the reason.
func (w *worker) process(ctx context.Context, eval *structs.Evaluation, token string) {
	logger := w.logger.With("eval_id", eval.ID, "job_id", eval.JobID, "request_id", eval.RequestID, "eval_type", eval.Type, "triggered_by", eval.TriggeredBy)
	received := time.Now()
	var span trace.Span
	if tr := w.srv.config.Tracer; tr.Enabled() {
		ctx, span = tr.StartFrom(ctx, eval.TraceParent, "scheduler eval", trace.WithAttributes(
			attribute.String("orch.eval_id", eval.ID), attribute.String("orch.job_id", eval.JobID),
			attribute.String("orch.eval_type", string(eval.Type)), attribute.String("orch.triggered_by", eval.TriggeredBy)))
	}
	// ended runs once the evaluation is acked or nacked.
	ended := func(acked bool) {
		if span != nil {
			span.SetAttributes(attribute.Bool("orch.acked", acked))
			span.End()
		}
		w.srv.metrics.observeEval(eval.Type, received, acked)
	}
	nack := func(why string, err error, attrs ...any) {
		logger.Error(why, append([]any{"error", err}, attrs...)...)
		w.failures.record(eval.ID, fmt.Sprintf("%s: %v", why, err))
		if err := w.srv.broker.Nack(eval.ID, token); err != nil {
			logger.Debug("nack failed", "error", err)
		}
		ended(false)
	}
	var seed string // set once drawn: it reproduces the scheduler's choices
	defer func() {
		if r := recover(); r != nil {
			nack("scheduler panicked", fmt.Errorf("%v", r), "seed", seed, "stack", string(debug.Stack()))
		}
	}()

	// The broker may hand out an evaluation before this server's FSM has
	// applied it (not on a single server, but after a leader change); the
	// scheduler must see the job as of the evaluation.
	snap, err := w.srv.waitForIndex(ctx, eval.ModifyIndex, stateWaitTimeout)
	if err != nil {
		nack("waiting for the state to reach the evaluation's index", err)
		return
	}
	seed1, seed2 := rand.Uint64(), rand.Uint64()
	seed = fmt.Sprintf("%x-%x", seed1, seed2)
	newScheduler := scheduler.New
	if f := w.srv.config.testHooks.newScheduler; f != nil {
		newScheduler = f
	}
	planner := &evalPlanner{w: w, ctx: ctx, evalID: eval.ID, requestID: eval.RequestID, traceParent: eval.TraceParent, token: token}
	sched, err := newScheduler(eval.Type, scheduler.Config{
		Logger:  w.logger, // the scheduler adds the eval's attributes itself
		State:   snap,
		Planner: planner,
		Now:     w.srv.config.Clock.Now(),
		Rand:    rand.New(rand.NewPCG(seed1, seed2)),
	})
	if err != nil {
		nack("creating scheduler", err)
		return
	}
	start := time.Now()
	// The scheduler gets its own copy: the broker and the state store share
	// the original.
	if err := sched.Process(eval.Copy()); err != nil {
		nack("scheduler failed", err)
		return
	}
	finish := func(err error) {
		if err != nil {
			nack("committing the evaluation's status", err)
			return
		}
		w.failures.forget(eval.ID)
		if err := w.srv.broker.Ack(eval.ID, token); err != nil {
			logger.Warn("ack failed", "error", err)
			ended(false)
			return
		}
		ended(true)
		logger.Debug("evaluation processed", "duration", time.Since(start), "snapshot_index", snap.LatestIndex(), "seed", seed)
	}
	if planner.status == nil {
		finish(nil)
		return
	}
	// The evaluation's final status is on its way to Raft: the worker takes
	// the next evaluation while it commits, and the ack waits for the commit
	// (an evaluation acked before its status committed would stay pending in
	// the state and nowhere in the broker if the commit failed). The broker
	// hands out no other evaluation of the job until the ack, and Raft
	// commits this worker's entries in the order it sent them. At most one
	// evaluation per worker finishes this way.
	w.awaitFinishing()
	done := make(chan struct{})
	w.finishing = done
	go func() {
		defer close(done)
		finish(planner.status.wait())
	}()
}

// evalFailures remembers why each evaluation was last nacked by a worker, so
// that the reaper can say why in the evaluation it marks failed at the
// broker's delivery limit. One per leadership term, shared by its workers and
// its reaper. An entry ends with its evaluation's ack or reap; one of an
// evaluation the broker cancels (superseded by a newer one of its job) lives
// until the term ends.
type evalFailures struct {
	mu struct {
		sync.Mutex
		why map[string]string // by eval ID
	}
}

func newEvalFailures() *evalFailures {
	f := &evalFailures{}
	f.mu.why = map[string]string{}
	return f
}

func (f *evalFailures) record(evalID, why string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mu.why[evalID] = why
}

func (f *evalFailures) forget(evalID string) { f.take(evalID) }

// take returns and forgets why the evaluation was last nacked ("" if unknown).
func (f *evalFailures) take(evalID string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	why := f.mu.why[evalID]
	delete(f.mu.why, evalID)
	return why
}

// waitForIndex returns a snapshot of the state once it has applied index, or
// an error when ctx ends or timeout passes first.
func (s *Server) waitForIndex(ctx context.Context, index uint64, timeout time.Duration) (*state.Snapshot, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		watched, watch := s.state.WatchSnapshot()
		if watched.LatestIndex() >= index {
			// A plain snapshot: the caller may share it between goroutines.
			return s.state.Snapshot(), nil
		}
		if watch.Wait(ctx) != nil {
			if snap := s.state.Snapshot(); snap.LatestIndex() >= index {
				return snap, nil
			}
			return nil, fmt.Errorf("%w: want %d, have %d", errStateWaitTimeout, index, s.state.LatestIndex())
		}
	}
}

// evalPlanner is the scheduler.Planner of one evaluation being processed.
type evalPlanner struct {
	w         *worker
	ctx       context.Context
	evalID    string
	requestID string // the evaluation's, carried onto its plans and allocations
	// traceParent is the evaluation's trace context, carried onto the
	// follow-up evaluations it creates.
	traceParent string
	token       string
	status      *pendingStatus // the final status, once sent (UpdateEval)
}

var _ scheduler.Planner = (*evalPlanner)(nil)

// SubmitPlan hands the plan to the plan applier and waits for what it
// committed. When part of the plan was rejected it also returns a snapshot at
// least as fresh as the result's RefreshIndex.
func (p *evalPlanner) SubmitPlan(plan *structs.Plan) (*structs.PlanResult, scheduler.State, error) {
	srv := p.w.srv
	// A worker that held the evaluation too long lost it to the nack timer:
	// its plan must not be applied on top of another worker's.
	if err := srv.broker.OutstandingReset(p.evalID, p.token); err != nil {
		return nil, nil, fmt.Errorf("server: evaluation %s no longer held by this worker: %w", p.evalID, err)
	}
	stampRequestID(plan, p.requestID)
	ctx := p.ctx
	if tr := srv.config.Tracer; tr.Enabled() {
		var span trace.Span
		ctx, span = tr.StartFrom(ctx, "", "plan submit")
		defer span.End()
		stampPlanTraces(plan, tracing.TraceParent(ctx))
	}
	pending, err := p.w.plans.Enqueue(plan)
	if err != nil {
		return nil, nil, err
	}
	result, err := pending.Wait(ctx)
	if err != nil {
		return nil, nil, err
	}
	if result.RefreshIndex == 0 {
		return result, nil, nil
	}
	snap, err := srv.waitForIndex(p.ctx, max(result.RefreshIndex, result.AllocIndex), stateWaitTimeout)
	if err != nil {
		return nil, nil, err
	}
	return result, snap, nil
}

// stampRequestID carries the evaluation's request ID onto the plan and its
// new allocations, for the plan applier's and the clients' logs.
func stampRequestID(plan *structs.Plan, requestID string) {
	plan.RequestID = requestID
	for _, allocs := range plan.NodeAllocation {
		for _, a := range allocs {
			if a.RequestID == "" && a.CreateIndex == 0 {
				a.RequestID = requestID
			}
		}
	}
}

// UpdateEval sends the evaluation's final status to Raft; the worker waits
// for the commit before it acks the evaluation (pendingStatus).
func (p *evalPlanner) UpdateEval(eval *structs.Evaluation) error {
	if p.status != nil {
		return fmt.Errorf("server: evaluation %s: final status sent twice", p.evalID)
	}
	srv := p.w.srv
	sent := time.Now()
	f, err := srv.raftApplyChecked(MsgEvalUpdate, &EvalUpdateEntry{Evals: []*structs.Evaluation{p.stamp(eval)}})
	if err != nil {
		return err
	}
	p.status = &pendingStatus{srv: srv, future: f, sent: sent}
	return nil
}

// pendingStatus is an evaluation's final status sent to Raft.
type pendingStatus struct {
	srv    *Server
	future raft.ApplyFuture
	sent   time.Time
}

// wait returns once the status has committed, with raftApply's errors.
func (s *pendingStatus) wait() error {
	defer since(s.srv.metrics.raftCommit, s.sent, MsgEvalUpdate.String())
	_, err := raftApplyResult(MsgEvalUpdate, s.future)
	return err
}

// CreateEval commits a new evaluation; the FSM hands a blocked one to the
// blocked evals and a pending one to the broker.
// A follow-up (blocked, rolling, retry) carries the request ID of the
// evaluation that made it, so the allocations it places later still name
// the write that caused them.
func (p *evalPlanner) CreateEval(eval *structs.Evaluation) error {
	if (eval.RequestID == "" && p.requestID != "") || (eval.TraceParent == "" && p.traceParent != "") {
		eval = eval.Copy()
		if eval.RequestID == "" {
			eval.RequestID = p.requestID
		}
		if eval.TraceParent == "" {
			eval.TraceParent = p.traceParent
		}
	}
	return p.commitEval(eval)
}

func (p *evalPlanner) commitEval(eval *structs.Evaluation) error {
	_, err := p.w.srv.raftApply(MsgEvalUpdate, &EvalUpdateEntry{Evals: []*structs.Evaluation{p.stamp(eval)}})
	return err
}

// stamp returns a copy of eval to commit, with its times set.
func (p *evalPlanner) stamp(eval *structs.Evaluation) *structs.Evaluation {
	c := eval.Copy()
	p.w.srv.metrics.observePlacementFailures(c)
	c.ModifyTime = time.Now().UnixNano()
	if c.CreateTime == 0 {
		c.CreateTime = c.ModifyTime
	}
	return c
}
