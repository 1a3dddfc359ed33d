package server

import (
	"context"
	"maps"
	"slices"
	"time"

	"github.com/hashicorp/raft"
	"github.com/orch-io/orch/server/broker"
	"github.com/orch-io/orch/server/state"
	"github.com/orch-io/orch/structs"
	"go.opentelemetry.io/otel/attribute"
)

// The plan applier is the single writer of allocations. Schedulers plan
// against snapshots that may be stale by the time their plans arrive
// (optimistic concurrency); the applier, one goroutine on the leader, takes
// plans from the plan queue (highest priority first), checks each against the
// latest state (broker.EvaluatePlan), commits the part that still fits in one
// Raft entry and tells the worker what it committed.
//
// Verification overlaps commits. Up to planApplyWindow plans may have their
// Raft entries in flight at once (sent, not yet applied by the local FSM):
// the applier checks the next plan against the latest snapshot overlaid with
// the allocations of every plan in flight (planOverlay), in the order they
// were sent, and sends its entry without waiting for theirs. With a window of
// 1 this is Nomad's scheme (check plan N+1 while N commits); a wider window
// also lets Raft write several entries with one disk sync, which is where
// the time goes (BenchmarkPlanApplyConcurrent8). This cannot over-commit a
// node, because:
//   - the applier is the only writer of allocations, and Raft commits the
//     entries it sends in the order it sends them, a prefix at a time: the
//     snapshot taken for plan P holds every commit before the oldest plan in
//     flight, and each entry in flight holds some of the rest, in order;
//   - the overlay applies every in-flight plan's allocations to the
//     snapshot, replacing those with the same ID (the FSM may already have
//     applied some), so P is checked against a state that holds every
//     allocation that can commit before P's entry;
//   - a plan in flight that then fails to commit only made P's check stricter
//     (its allocations were counted and are not there): P may be rejected
//     needlessly and refreshed, never over-committed. (A failed commit means
//     leadership was lost; the plans after it fail too.)
// Other writes (clients reporting allocations terminal, nodes going down)
// only free capacity or make EvaluateNodePlan reject, as without the overlap.
// A plan partly rejected either commits the rest, at an index above every
// earlier plan's, or commits nothing and gets a RefreshIndex at least that of
// every plan that was in flight, so the scheduler retries on a state that
// holds them.

// planApplyWindow is how many plan entries may be in flight at once.
const planApplyWindow = 4

// inflightPlan is a plan whose Raft entry is being committed.
type inflightPlan struct {
	allocs []*structs.Allocation // what the entry writes (the overlay)
	done   chan struct{}         // closed once index and err are set, after the previous plan's
	index  uint64
	err    error
}

// runPlanApplier applies plans from q, with up to window entries in flight,
// until ctx ends; then it waits for those and disables q, which answers the
// plans still queued with ErrNoLeader.
func (s *Server) runPlanApplier(ctx context.Context, q *planQueue, window int) {
	defer q.SetEnabled(false)
	var inflight []*inflightPlan // oldest first; they finish in this order
	defer func() {
		for _, p := range inflight {
			<-p.done
		}
	}()
	for {
		p, err := q.Dequeue(ctx)
		if err != nil {
			return
		}
		for len(inflight) > 0 && isDone(inflight[0]) {
			inflight = dropOldest(inflight)
		}
		if len(inflight) >= max(window, 1) {
			<-inflight[0].done
			inflight = dropOldest(inflight)
		}
		next, err := s.applyPlanAsync(p, inflight)
		if err != nil {
			s.logger.Error("committing plan failed", "eval_id", p.plan.EvalID, "error", err)
		}
		if next != nil {
			inflight = append(inflight, next)
		}
	}
}

// dropOldest removes the oldest plan, clearing its slot: the backing array
// would otherwise keep its allocations (a whole plan's) alive until append
// moves the slice.
func dropOldest(inflight []*inflightPlan) []*inflightPlan {
	inflight[0] = nil
	return inflight[1:]
}

func isDone(p *inflightPlan) bool {
	select {
	case <-p.done:
		return true
	default:
		return false
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

// applyPlanAsync checks p against the latest state overlaid with the plans
// in flight (oldest first), and sends the entry of what fits to Raft. p is
// answered when its commit finishes, from another goroutine; the returned
// inflightPlan (nil when nothing needed committing or the entry could not be
// sent) tells when. The error is the one p was answered with, if it was
// answered here.
func (s *Server) applyPlanAsync(p *pendingPlan, inflight []*inflightPlan) (*inflightPlan, error) {
	plan := p.plan
	logger := s.logger.With("eval_id", plan.EvalID, "request_id", plan.RequestID)
	if plan.Job != nil {
		logger = logger.With("job_id", plan.Job.ID)
	}
	// With tracing off these spans record nothing and cost nothing.
	tctx, applySpan := s.config.Tracer.StartFrom(context.Background(), plan.TraceParent, "plan apply")
	snap := s.state.Snapshot()
	var view broker.PlanState = snap
	if len(inflight) > 0 {
		view = newPlanOverlay(snap, inflight)
	}
	verifyStart := time.Now()
	_, verifySpan := s.config.Tracer.StartFrom(tctx, "", "plan verify")
	result := broker.EvaluatePlan(view, plan)
	verifySpan.End()
	s.metrics.observePlan(plan, result, verifyStart)
	if result.RefreshIndex != 0 {
		logger.Debug("plan partly rejected: the scheduler will refresh", "refresh_index", result.RefreshIndex)
	}
	var prev *inflightPlan
	if len(inflight) > 0 {
		prev = inflight[len(inflight)-1]
	}
	allocs := planResultAllocs(snap, plan, result, time.Now().UnixNano())
	if len(allocs) == 0 && plan.Deployment == nil && len(plan.DeploymentUpdates) == 0 {
		if result.RefreshIndex != 0 && prev != nil {
			// The scheduler must refresh onto a state that holds the plans
			// this one was checked against.
			<-prev.done
			for _, q := range inflight {
				result.RefreshIndex = max(result.RefreshIndex, q.index)
			}
		}
		p.respond(result, nil)
		applySpan.End()
		return nil, nil
	}
	sent := time.Now()
	_, commitSpan := s.config.Tracer.StartFrom(tctx, "", "plan commit")
	if commitSpan.IsRecording() {
		commitSpan.SetAttributes(attribute.String("orch.eval_id", plan.EvalID), attribute.Int("orch.allocs", len(allocs)))
	}
	f, err := s.raftApplyAsync(MsgApplyPlanResults, &ApplyPlanResultsEntry{EvalID: plan.EvalID, Job: plan.Job, Allocs: allocs,
		Deployment: plan.Deployment, DeploymentUpdates: plan.DeploymentUpdates})
	if err != nil {
		p.respond(nil, err)
		endSpan(commitSpan, err)
		endSpan(applySpan, err)
		return nil, err
	}
	next := &inflightPlan{allocs: allocs, done: make(chan struct{})}
	go func() {
		index, err := raftApplyResult(MsgApplyPlanResults, f)
		endSpan(commitSpan, err)
		defer endSpan(applySpan, err)
		if prev != nil {
			<-prev.done // finish in order
		}
		next.index, next.err = index, err
		close(next.done)
		if err != nil {
			logger.Error("committing plan failed", "error", err)
			p.respond(nil, err)
			return
		}
		result.AllocIndex = index
		s.metrics.observePlanCommitted(plan, result, sent)
		logger.Debug("plan committed", "index", index, "allocs", len(allocs))
		p.respond(result, nil)
	}()
	return next, nil
}

// raftApplyAsync sends an entry to Raft without waiting for its commit; see
// raftApplyResult for the wait.
func (s *Server) raftApplyAsync(t MessageType, body any) (raft.ApplyFuture, error) {
	buf, err := encodeEntry(t, body)
	if err != nil {
		return nil, err
	}
	if s.raft.State() != raft.Leader {
		return nil, errNotLeader()
	}
	if !s.fsm.pre.start(buf) {
		return s.raft.Apply(buf, raftApplyTimeout), nil
	}
	return predecodedFuture{ApplyFuture: s.raft.Apply(buf, raftApplyTimeout), drop: func() { s.fsm.pre.drop(buf) }}, nil
}

// raftApplyResult waits for f and returns its index, with the errors of
// raftApply.
func raftApplyResult(t MessageType, f raft.ApplyFuture) (uint64, error) {
	if err := waitApplied(context.Background(), t, f); err != nil {
		return 0, err
	}
	if resp, ok := f.Response().(error); ok && resp != nil {
		return f.Index(), resp
	}
	return f.Index(), nil
}

// planOverlay is a snapshot with the allocations of the plans in flight
// applied on top, in order: an allocation of the overlay replaces the
// snapshot's (or an earlier plan's) of the same ID. It is what the next plan
// is checked against.
type planOverlay struct {
	*state.Snapshot
	byNode map[string][]*structs.Allocation // per node, the last version of each ID
}

func newPlanOverlay(snap *state.Snapshot, inflight []*inflightPlan) *planOverlay {
	o := &planOverlay{Snapshot: snap, byNode: make(map[string][]*structs.Allocation)}
	at := make(map[string]int) // alloc ID -> position in byNode[its node]
	for _, p := range inflight {
		for _, a := range p.allocs {
			if i, ok := at[a.ID]; ok {
				o.byNode[a.NodeID][i] = a // an allocation keeps its node
				continue
			}
			at[a.ID] = len(o.byNode[a.NodeID])
			o.byNode[a.NodeID] = append(o.byNode[a.NodeID], a)
		}
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

// NodeUsage is the snapshot's for the nodes no plan in flight touches, and
// not plain for the others: a reader of it (scheduler.NodeUsageReader) must
// not take a sum that misses the overlay's allocations.
func (o *planOverlay) NodeUsage(nodeID string) (structs.ComparableResources, bool) {
	if len(o.byNode[nodeID]) > 0 {
		return structs.ComparableResources{}, false
	}
	return o.Snapshot.NodeUsage(nodeID)
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
