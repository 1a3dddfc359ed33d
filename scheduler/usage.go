package scheduler

import "github.com/orch-io/orch/structs"

// planUsage accounts for what runs on each node while a plan is being built:
// what the snapshot's non-terminal allocations use, less what the plan stops,
// plus what it places. A node's snapshot usage is summed once, the first time
// the node is looked at; the plan's changes are kept as a delta, so checking a
// candidate costs a few map lookups, not a scan of its allocations.
//
// It also counts, per node and group, the allocations of the job being placed
// (for job anti-affinity). Used by one goroutine, for one plan.
type planUsage struct {
	state State
	base  map[string]structs.ComparableResources // node → used in the snapshot
	delta map[string]structs.ComparableResources // node → placed − stopped by the plan
	// jobAllocs counts the job's allocations that will run after the plan, per
	// node and group.
	jobAllocs map[nodeGroup]int
}

type nodeGroup struct{ node, group string }

// newPlanUsage starts an empty plan over state. jobAllocs are the allocations
// of the job being planned, as in the state.
func newPlanUsage(state State, jobAllocs []*structs.Allocation) *planUsage {
	u := &planUsage{
		state:     state,
		base:      map[string]structs.ComparableResources{},
		delta:     map[string]structs.ComparableResources{},
		jobAllocs: map[nodeGroup]int{},
	}
	for _, a := range jobAllocs {
		if !a.TerminalStatus() {
			u.jobAllocs[nodeGroup{a.NodeID, a.TaskGroup}]++
		}
	}
	return u
}

// used returns what node's allocations use once the plan is applied.
func (u *planUsage) used(node *structs.Node) structs.ComparableResources {
	base, ok := u.base[node.ID]
	if !ok {
		_, _, base = structs.AllocsFit(node, u.state.AllocsByNode(node.ID))
		u.base[node.ID] = base
	}
	if d, ok := u.delta[node.ID]; ok {
		base.Add(d)
	}
	return base
}

// collisions returns how many allocations of group of the job will run on
// node once the plan is applied.
func (u *planUsage) collisions(nodeID, group string) int {
	return u.jobAllocs[nodeGroup{nodeID, group}]
}

// place records that the plan places a on its node.
func (u *planUsage) place(a *structs.Allocation) {
	d := u.delta[a.NodeID]
	d.Add(a.Comparable())
	u.delta[a.NodeID] = d
	u.jobAllocs[nodeGroup{a.NodeID, a.TaskGroup}]++
}

// stop records that the plan stops a. Stopping a terminal allocation frees
// nothing: it was not counted.
func (u *planUsage) stop(a *structs.Allocation) {
	if a.TerminalStatus() {
		return
	}
	d := u.delta[a.NodeID]
	d.Subtract(a.Comparable())
	u.delta[a.NodeID] = d
	u.jobAllocs[nodeGroup{a.NodeID, a.TaskGroup}]--
}

// unstop takes back a stop recorded with stop.
func (u *planUsage) unstop(a *structs.Allocation) {
	if a.TerminalStatus() {
		return
	}
	d := u.delta[a.NodeID]
	d.Add(a.Comparable())
	u.delta[a.NodeID] = d
	u.jobAllocs[nodeGroup{a.NodeID, a.TaskGroup}]++
}
