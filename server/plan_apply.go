package server

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/hashicorp/raft"
	"github.com/orch-io/orch/server/broker"
	"github.com/orch-io/orch/server/state"
	"github.com/orch-io/orch/structs"
)

// The plan applier is the single writer of allocations. Schedulers plan
// against snapshots that may be stale by the time their plans arrive
// (optimistic concurrency); the applier, one goroutine on the leader, takes
// plans from the plan queue (highest priority first), checks each against the
// latest state (broker.EvaluatePlan), commits the part that still fits in one
// Raft entry and tells the worker what it committed.
//
// Verification of a plan overlaps the Raft commit of the previous one. At
// most one commit is in flight. While plan N's entry commits, plan N+1 is
// checked against a snapshot overlaid with N's allocations (planOverlay), and
// N+1's entry is only sent once N's commit has finished. This cannot
// over-commit a node, because:
//   - the applier is the only writer of allocations, and it waits for each
//     commit (which returns once the local FSM applied it) before sending the
//     next, so the snapshot taken for N+1 holds every commit before N;
//   - the overlay adds N's allocations to that snapshot, replacing any with
//     the same ID (the FSM may already have applied N), so N+1 is checked
//     against a state that holds every allocation that will precede it;
//   - if N fails to commit, the overlay over-stated usage (never
//     under-stated it), but the applier checks N+1 again on a fresh snapshot
//     anyway, so that it is not rejected for allocations that do not exist.
// Other writes (clients reporting allocations terminal, nodes going down)
// only free capacity or make EvaluateNodePlan reject, as without the overlap.
// When N+1 is partly rejected its RefreshIndex is at least N's index, so the
// scheduler retries on a state that holds N.

// inflightPlan is a plan whose Raft entry is being committed.
type inflightPlan struct {
	allocs []*structs.Allocation // what the entry writes (the overlay)
	done   chan struct{}         // closed once index and err are set
	index  uint64
	err    error
}

// runPlanApplier applies plans from q until ctx ends, then disables q, which
// answers the plans still queued with ErrNoLeader.
func (s *Server) runPlanApplier(ctx context.Context, q *planQueue) {
	defer q.SetEnabled(false)
	var prev *inflightPlan
	defer func() {
		if prev != nil {
			<-prev.done
		}
	}()
	for {
		p, err := q.Dequeue(ctx)
		if err != nil {
			return
		}
		next, err := s.applyPlanAsync(p, prev)
		prev = next
		if err != nil {
			s.logger.Error("committing plan failed", "eval_id", p.plan.EvalID, "error", err)
		}
	}
}

// applyPlan checks one plan against the latest state and commits what fits,
// waiting for the commit. The result's AllocIndex is the index of the commit
// (0 when nothing was committed); RefreshIndex is set when part of the plan
// was rejected.
func (s *Server) applyPlan(plan *structs.Plan) (*structs.PlanResult, error) {
	p := &pendingPlan{plan: plan, done: make(chan planOutcome, 1)}
	if inflight, _ := s.applyPlanAsync(p, nil); inflight != nil {
		<-inflight.done
	}
	return p.Wait(context.Background())
}

// applyPlanAsync checks p against the latest state overlaid with prev (the
// plan whose commit may still be in flight, nil if none), waits for prev's
// commit, and sends the entry of what fits to Raft. p is answered when its
// commit finishes, from another goroutine; the returned inflightPlan (nil
// when nothing needed committing or the entry could not be sent) tells when.
// The error is the one p was answered with, if it was answered here.
func (s *Server) applyPlanAsync(p *pendingPlan, prev *inflightPlan) (*inflightPlan, error) {
	plan := p.plan
	logger := s.logger.With("eval_id", plan.EvalID)
	if plan.Job != nil {
		logger = logger.With("job_id", plan.Job.ID)
	}
	snap := s.state.Snapshot()
	var view broker.PlanState = snap
	if prev != nil {
		view = newPlanOverlay(snap, prev.allocs)
	}
	result := broker.EvaluatePlan(view, plan)
	if prev != nil {
		<-prev.done
		switch {
		case prev.err != nil:
			// The overlay held allocations that were not committed: check
			// again on what was.
			snap = s.state.Snapshot()
			result = broker.EvaluatePlan(snap, plan)
		case result.RefreshIndex != 0:
			result.RefreshIndex = max(result.RefreshIndex, prev.index)
		}
	}
	if result.RefreshIndex != 0 {
		logger.Debug("plan partly rejected: the scheduler will refresh", "refresh_index", result.RefreshIndex)
	}
	allocs := planResultAllocs(snap, plan, result, time.Now().UnixNano())
	if len(allocs) == 0 {
		p.respond(result, nil)
		return nil, nil
	}
	f, err := s.raftApplyAsync(MsgApplyPlanResults, &ApplyPlanResultsEntry{EvalID: plan.EvalID, Job: plan.Job, Allocs: allocs})
	if err != nil {
		p.respond(nil, err)
		return nil, err
	}
	inflight := &inflightPlan{allocs: allocs, done: make(chan struct{})}
	go func() {
		defer close(inflight.done)
		index, err := raftApplyResult(MsgApplyPlanResults, f)
		inflight.index, inflight.err = index, err
		if err != nil {
			logger.Error("committing plan failed", "error", err)
			p.respond(nil, err)
			return
		}
		result.AllocIndex = index
		logger.Debug("plan committed", "index", index, "allocs", len(allocs))
		p.respond(result, nil)
	}()
	return inflight, nil
}

// raftApplyAsync sends an entry to Raft without waiting for its commit; see
// raftApplyResult for the wait.
func (s *Server) raftApplyAsync(t MessageType, body any) (raft.ApplyFuture, error) {
	buf, err := encodeEntry(t, body)
	if err != nil {
		return nil, err
	}
	if s.raft.State() != raft.Leader {
		return nil, fmt.Errorf("%w: this server is not the leader", structs.ErrNoLeader)
	}
	return s.raft.Apply(buf, raftApplyTimeout), nil
}

// raftApplyResult waits for f and returns its index, with the errors of
// raftApply.
func raftApplyResult(t MessageType, f raft.ApplyFuture) (uint64, error) {
	if err := f.Error(); err != nil {
		if errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipLost) || errors.Is(err, raft.ErrLeadershipTransferInProgress) {
			return 0, fmt.Errorf("%w: %v", structs.ErrNoLeader, err)
		}
		return 0, fmt.Errorf("server: committing %s entry: %w", t, err)
	}
	if resp, ok := f.Response().(error); ok && resp != nil {
		return f.Index(), resp
	}
	return f.Index(), nil
}

// planOverlay is a snapshot with the allocations of a plan being committed
// applied on top: an allocation of the overlay replaces the snapshot's of the
// same ID. It is what the next plan is checked against.
type planOverlay struct {
	*state.Snapshot
	byNode map[string][]*structs.Allocation
}

func newPlanOverlay(snap *state.Snapshot, allocs []*structs.Allocation) *planOverlay {
	o := &planOverlay{Snapshot: snap, byNode: make(map[string][]*structs.Allocation)}
	for _, a := range allocs {
		o.byNode[a.NodeID] = append(o.byNode[a.NodeID], a)
	}
	return o
}

// AllocsByNode returns the snapshot's allocations of the node with the
// overlay's applied.
func (o *planOverlay) AllocsByNode(nodeID string) []*structs.Allocation {
	base := o.Snapshot.AllocsByNode(nodeID)
	extra := o.byNode[nodeID]
	if len(extra) == 0 {
		return base
	}
	replaced := make(map[string]struct{}, len(extra))
	for _, a := range extra {
		replaced[a.ID] = struct{}{}
	}
	out := make([]*structs.Allocation, 0, len(base)+len(extra))
	for _, a := range base {
		if _, ok := replaced[a.ID]; !ok {
			out = append(out, a)
		}
	}
	return append(out, extra...)
}

// planResultAllocs flattens the accepted part of a plan into the allocations
// of one ApplyPlanResults entry, stops first, in node order. New allocations
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
