package server

import (
	"context"
	"maps"
	"slices"
	"time"

	"github.com/orch-io/orch/server/broker"
	"github.com/orch-io/orch/server/state"
	"github.com/orch-io/orch/structs"
)

// The plan applier is the single writer of allocations. Schedulers plan
// against snapshots that may be stale by the time their plans arrive
// (optimistic concurrency); the applier, one goroutine on the leader, checks
// each plan against the latest state (broker.EvaluatePlan), commits the part
// that still fits in one Raft entry and tells the worker what it committed.
// Because it applies plans one at a time and each check sees every earlier
// commit, no node is ever over-committed (DESIGN.md §5, invariant 2).

// pendingPlan is a plan waiting in the plan queue, with where to answer.
type pendingPlan struct {
	plan *structs.Plan
	done chan planOutcome // buffered: the applier never blocks on it
}

type planOutcome struct {
	result *structs.PlanResult
	err    error
}

// runPlanApplier applies plans from the queue in arrival order until ctx ends.
//
// TODO(#4): order the queue by priority, and check the next plan while the
// previous one commits (against a snapshot that includes its result).
func (s *Server) runPlanApplier(ctx context.Context, plans <-chan *pendingPlan) {
	for {
		select {
		case <-ctx.Done():
			return
		case p := <-plans:
			result, err := s.applyPlan(p.plan)
			p.done <- planOutcome{result: result, err: err}
		}
	}
}

// applyPlan checks one plan against the latest state and commits what fits.
// The result's AllocIndex is the index of the commit (0 when nothing was
// committed); RefreshIndex is set when part of the plan was rejected.
func (s *Server) applyPlan(plan *structs.Plan) (*structs.PlanResult, error) {
	logger := s.logger.With("eval_id", plan.EvalID)
	if plan.Job != nil {
		logger = logger.With("job_id", plan.Job.ID)
	}
	snap := s.state.Snapshot()
	result := broker.EvaluatePlan(snap, plan)
	if result.RefreshIndex != 0 {
		logger.Debug("plan partly rejected: the scheduler will refresh", "refresh_index", result.RefreshIndex)
	}
	allocs := planResultAllocs(snap, plan, result, time.Now().UnixNano())
	if len(allocs) == 0 {
		return result, nil
	}
	index, err := s.raftApply(MsgApplyPlanResults, &ApplyPlanResultsEntry{EvalID: plan.EvalID, Job: plan.Job, Allocs: allocs})
	if err != nil {
		logger.Error("committing plan failed", "error", err)
		return nil, err
	}
	result.AllocIndex = index
	logger.Debug("plan committed", "index", index, "allocs", len(allocs))
	return result, nil
}

// planResultAllocs flattens the accepted part of a plan into the allocations
// of one ApplyPlanResults entry, stops and evictions first, in node order
// (evictions keep their PreemptedByAllocation). New allocations
// that run the plan's job are sent without it (the FSM gives them the entry's
// Job), which keeps the entry small; updates of existing allocations keep
// their Job, which is how an in-place update changes it.
func planResultAllocs(snap *state.Snapshot, plan *structs.Plan, result *structs.PlanResult, now int64) []*structs.Allocation {
	var out []*structs.Allocation
	for _, node := range slices.Sorted(maps.Keys(result.NodeUpdate)) {
		for _, a := range result.NodeUpdate[node] {
			c := a.Copy()
			c.Job = nil
			if c.ModifyTime == 0 {
				c.ModifyTime = now
			}
			out = append(out, c)
		}
	}
	for _, node := range slices.Sorted(maps.Keys(result.NodePreemptions)) {
		for _, a := range result.NodePreemptions[node] {
			c := a.Copy()
			c.Job = nil
			c.ModifyTime = now // when it was evicted
			out = append(out, c)
		}
	}
	for _, node := range slices.Sorted(maps.Keys(result.NodeAllocation)) {
		for _, a := range result.NodeAllocation[node] {
			if a.Job != nil && a.Job == plan.Job && snap.AllocByID(a.ID) == nil {
				c := a.Copy()
				c.Job = nil
				a = c
			}
			out = append(out, a)
		}
	}
	return out
}
