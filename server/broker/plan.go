package broker

import (
	"fmt"
	"slices"

	"github.com/orch-io/orch/structs"
)

// PlanState is what plan evaluation reads; *state.Snapshot (server/state)
// satisfies it. Returned objects are shared and are not modified here.
type PlanState interface {
	NodeByID(id string) *structs.Node
	AllocsByNode(nodeID string) []*structs.Allocation
	LatestIndex() uint64
}

// EvaluatePlan decides what of plan can be committed on top of snap: the
// plan applier on the leader calls it with the latest state, because the
// scheduler planned against an older snapshot and other plans may have
// committed since (optimistic concurrency).
//
// Each node the plan touches is judged whole (see EvaluateNodePlan). Stops
// (NodeUpdate) are always accepted. Preemptions (NodePreemptions) free room
// for the node's placements and are accepted with them, less those whose
// allocation is already terminal (or gone) in snap. A node whose placements
// cannot be accepted contributes only its stops (its preemptions are
// dropped: the evictions were only for those placements), and RefreshIndex is set to
// snap.LatestIndex() so that the scheduler refreshes and plans again. If
// plan.AllAtOnce and anything was rejected, nothing is committed.
//
// The result's maps and slices are new; the allocations in them are the
// plan's own pointers. AllocIndex is left for the applier to fill.
// EvaluatePlan is pure: it only reads snap and plan.
func EvaluatePlan(snap PlanState, plan *structs.Plan) *structs.PlanResult {
	result := &structs.PlanResult{
		NodeUpdate:     make(map[string][]*structs.Allocation),
		NodeAllocation: make(map[string][]*structs.Allocation),
	}
	rejected := false
	for _, nodeID := range touchedNodes(plan) {
		if stops := plan.NodeUpdate[nodeID]; len(stops) > 0 {
			result.NodeUpdate[nodeID] = slices.Clone(stops)
		}
		places := plan.NodeAllocation[nodeID]
		if len(places) == 0 {
			continue
		}
		if fits, _ := EvaluateNodePlan(snap, plan, nodeID); !fits {
			rejected = true
			continue
		}
		result.NodeAllocation[nodeID] = slices.Clone(places)
		if evicts := livePreemptions(snap, nodeID, plan.NodePreemptions[nodeID]); len(evicts) > 0 {
			if result.NodePreemptions == nil {
				result.NodePreemptions = make(map[string][]*structs.Allocation)
			}
			result.NodePreemptions[nodeID] = evicts
		}
	}
	if rejected {
		result.RefreshIndex = snap.LatestIndex()
		if plan.AllAtOnce {
			clear(result.NodeUpdate)
			clear(result.NodeAllocation)
			clear(result.NodePreemptions)
		}
	}
	return result
}

// livePreemptions returns those of evicts whose allocation is live on the
// node in snap: evicting one that already stopped changes nothing.
func livePreemptions(snap PlanState, nodeID string, evicts []*structs.Allocation) []*structs.Allocation {
	if len(evicts) == 0 {
		return nil
	}
	live := map[string]bool{}
	for _, a := range snap.AllocsByNode(nodeID) {
		if !a.TerminalStatus() {
			live[a.ID] = true
		}
	}
	var out []*structs.Allocation
	for _, a := range evicts {
		if live[a.ID] {
			out = append(out, a)
		}
	}
	return out
}

// touchedNodes returns the IDs of the nodes plan stops or places allocations
// on, sorted, so that evaluation is deterministic.
func touchedNodes(plan *structs.Plan) []string {
	ids := make([]string, 0, len(plan.NodeAllocation)+len(plan.NodeUpdate))
	for id := range plan.NodeAllocation {
		ids = append(ids, id)
	}
	for id := range plan.NodeUpdate {
		if _, dup := plan.NodeAllocation[id]; !dup {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// EvaluateNodePlan reports whether plan's placements on node nodeID can be
// committed on top of snap, and if not, why (for the applier's log). A node
// with no placements in plan always fits. Placements need the node to exist,
// be ready and eligible, and the node's allocations after the plan to fit:
// its non-terminal allocations in snap, less those the plan stops, preempts
// or replaces (same ID in NodeAllocation: an in-place update), plus the
// plan's placements. Terminal allocations in NodeAllocation (updates of
// their server fields) always fit.
func EvaluateNodePlan(snap PlanState, plan *structs.Plan, nodeID string) (fits bool, reason string) {
	// An allocation already terminal uses nothing: its update (a failed
	// allocation pointed at its follow-up evaluation) fits any node, even
	// one that is down or ineligible.
	places := slices.DeleteFunc(slices.Clone(plan.NodeAllocation[nodeID]),
		func(a *structs.Allocation) bool { return a.TerminalStatus() })
	if len(places) == 0 {
		return true, ""
	}
	node := snap.NodeByID(nodeID)
	switch {
	case node == nil:
		return false, fmt.Sprintf("node %q does not exist", nodeID)
	case node.Status != structs.NodeStatusReady:
		return false, fmt.Sprintf("node %q is %s: placements need status %s", nodeID, node.Status, structs.NodeStatusReady)
	case node.SchedulingEligibility == structs.NodeIneligible:
		return false, fmt.Sprintf("node %q is %s for scheduling", nodeID, node.SchedulingEligibility)
	}

	removed := make(map[string]struct{}, len(plan.NodeUpdate[nodeID])+len(plan.NodePreemptions[nodeID])+len(places))
	for _, a := range plan.NodeUpdate[nodeID] {
		removed[a.ID] = struct{}{}
	}
	for _, a := range plan.NodePreemptions[nodeID] {
		removed[a.ID] = struct{}{}
	}
	for _, a := range places {
		removed[a.ID] = struct{}{}
	}
	if fits, used, ok := fitByUsage(snap, node, nodeID, places, removed); ok {
		if !fits {
			return false, exhausted(node, nodeID, used)
		}
		return true, ""
	}
	existing := snap.AllocsByNode(nodeID)
	proposed := make([]*structs.Allocation, 0, len(existing)+len(places))
	for _, a := range existing {
		if a.TerminalStatus() {
			continue
		}
		if _, gone := removed[a.ID]; gone {
			continue
		}
		proposed = append(proposed, a)
	}
	proposed = append(proposed, places...)

	ok, dimension, used := structs.AllocsFit(node, proposed)
	if !ok && dimension == structs.DimensionPorts {
		return false, fmt.Sprintf("node %q: %s exhausted: %s", nodeID, dimension, structs.PortCollision(node, proposed))
	}
	if !ok {
		return false, exhausted(node, nodeID, used)
	}
	return true, ""
}

// exhausted says which resource of the node the allocations after a plan,
// using used, exhaust.
func exhausted(node *structs.Node, nodeID string, used structs.ComparableResources) string {
	free := node.Comparable()
	_, dimension := free.Superset(used)
	return fmt.Sprintf("node %q: %s exhausted: allocations after the plan ask cpu=%d MHz memory=%d MB disk=%d MB of cpu=%d memory=%d disk=%d",
		nodeID, dimension, used.CPU, used.MemoryMB, used.DiskMB, free.CPU, free.MemoryMB, free.DiskMB)
}

// usageReader is what a PlanState may also offer (the server's state
// store does): per node, what its live allocations use, and whether that sum
// is all a fit needs (plain: none of them holds host ports or reserved cores),
// as scheduler.NodeUsageReader; and allocations by ID.
type usageReader interface {
	NodeUsage(nodeID string) (used structs.ComparableResources, plain bool)
	AllocByID(id string) *structs.Allocation
}

// fitByUsage decides the fit of places on the node from its kept usage,
// without listing its allocations: the usage, less the live allocations
// the plan removes or replaces, plus places. ok is false when it cannot
// decide (no usage kept, or ports or cores to check): then the allocations
// must be listed.
func fitByUsage(snap PlanState, node *structs.Node, nodeID string, places []*structs.Allocation, removed map[string]struct{}) (fits bool, used structs.ComparableResources, ok bool) {
	r, has := snap.(usageReader)
	if !has {
		return false, used, false
	}
	for _, a := range places {
		if a.HoldsPortsOrCores() {
			return false, used, false
		}
	}
	used, plain := r.NodeUsage(nodeID)
	if !plain {
		return false, used, false
	}
	for id := range removed {
		if a := r.AllocByID(id); a != nil && a.NodeID == nodeID && !a.TerminalStatus() {
			used.Subtract(a.Comparable())
		}
	}
	for _, a := range places {
		used.Add(a.Comparable())
	}
	fits, _ = node.Comparable().Superset(used)
	return fits, used, true
}
