package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/orch-io/orch/scheduler"
	"github.com/orch-io/orch/server/state"
	"github.com/orch-io/orch/structs"
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
	srv    *Server
	id     int
	plans  *planQueue
	logger *slog.Logger
}

func newWorker(s *Server, id int, plans *planQueue) *worker {
	return &worker{srv: s, id: id, plans: plans, logger: s.config.Logger.With("component", "worker", "worker", id)}
}

// run processes evaluations until ctx ends (leadership lost or shutdown).
func (w *worker) run(ctx context.Context) {
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

// process runs the scheduler on one evaluation and acks or nacks it.
func (w *worker) process(ctx context.Context, eval *structs.Evaluation, token string) {
	logger := w.logger.With("eval_id", eval.ID, "job_id", eval.JobID, "eval_type", eval.Type, "triggered_by", eval.TriggeredBy)
	nack := func(why string, err error) {
		logger.Error(why, "error", err)
		if err := w.srv.broker.Nack(eval.ID, token); err != nil {
			logger.Debug("nack failed", "error", err)
		}
	}

	// The broker may hand out an evaluation before this server's FSM has
	// applied it (not on a single server, but after a leader change); the
	// scheduler must see the job as of the evaluation.
	snap, err := w.srv.waitForIndex(ctx, eval.ModifyIndex, stateWaitTimeout)
	if err != nil {
		nack("waiting for the state to reach the evaluation's index", err)
		return
	}
	seed1, seed2 := rand.Uint64(), rand.Uint64()
	planner := &evalPlanner{w: w, ctx: ctx, evalID: eval.ID, token: token}
	sched, err := scheduler.New(eval.Type, scheduler.Config{
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
	if err := w.srv.broker.Ack(eval.ID, token); err != nil {
		logger.Warn("ack failed", "error", err)
		return
	}
	logger.Debug("evaluation processed", "duration", time.Since(start), "snapshot_index", snap.LatestIndex(), "seed", fmt.Sprintf("%x-%x", seed1, seed2))
}

// waitForIndex returns a snapshot of the state once it has applied index, or
// an error when ctx ends or timeout passes first.
func (s *Server) waitForIndex(ctx context.Context, index uint64, timeout time.Duration) (*state.Snapshot, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		snap := s.state.Snapshot()
		latest := snap.LatestIndex()
		if latest >= index {
			return snap, nil
		}
		if latest == 0 {
			// An empty store cannot block on a change of index 0; poll.
			select {
			case <-time.After(10 * time.Millisecond):
			case <-ctx.Done():
			}
		} else {
			_ = s.state.BlockingQuery(ctx, latest, func(sn *state.Snapshot) (uint64, error) { return sn.LatestIndex(), nil })
		}
		if ctx.Err() != nil {
			if s.state.LatestIndex() >= index {
				return s.state.Snapshot(), nil
			}
			return nil, fmt.Errorf("%w: want %d, have %d", errStateWaitTimeout, index, s.state.LatestIndex())
		}
	}
}

// evalPlanner is the scheduler.Planner of one evaluation being processed.
type evalPlanner struct {
	w      *worker
	ctx    context.Context
	evalID string
	token  string
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
	pending, err := p.w.plans.Enqueue(plan)
	if err != nil {
		return nil, nil, err
	}
	result, err := pending.Wait(p.ctx)
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

// UpdateEval commits the evaluation's new status.
func (p *evalPlanner) UpdateEval(eval *structs.Evaluation) error {
	return p.commitEval(eval)
}

// CreateEval commits a new evaluation; the FSM hands a blocked one to the
// blocked evals and a pending one to the broker.
func (p *evalPlanner) CreateEval(eval *structs.Evaluation) error {
	return p.commitEval(eval)
}

func (p *evalPlanner) commitEval(eval *structs.Evaluation) error {
	c := eval.Copy()
	c.ModifyTime = time.Now().UnixNano()
	if c.CreateTime == 0 {
		c.CreateTime = c.ModifyTime
	}
	_, err := p.w.srv.raftApply(MsgEvalUpdate, &EvalUpdateEntry{Evals: []*structs.Evaluation{c}})
	return err
}
