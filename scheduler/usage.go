package scheduler

import (
	"fmt"

	"github.com/orch-io/orch/structs"
)

// planUsage accounts for what runs on each node while a plan is being built:
// what the snapshot's non-terminal allocations use, less what the plan stops,
// plus what it places. A node's snapshot usage is summed once, the first time
// the node is looked at; after that the plan's changes are applied to it, so
// checking a candidate costs one map lookup, not a scan of its allocations.
//
// It also counts, per node and group, the allocations of the job being placed
// (for job anti-affinity). Used by one goroutine, for one plan.
type planUsage struct {
	state State
	// usage is the state's per-node usage, when it keeps one.
	usage NodeUsageReader
	// jobNodes holds the records of the nodes that run allocations of the job
	// (in the snapshot), the only ones stop and unstop may look up by ID.
	// Other candidates' records live in the node source only: no map insert
	// per candidate.
	jobNodes map[string]*nodeUsage
	// log lists every change to the job's allocation counts, the snapshot's
	// first, in order, for the stages that aggregate them over nodes
	// (distinct_property reads the entries it has not seen yet).
	log []jobAllocChange
	// observe, when set, is told of every change to the job's allocation
	// counts (placements, stops, unstops): the spread scorer keeps its
	// per-value counts with it.
	observe func(nu *nodeUsage, group string, delta int)
}

// jobAllocChange is one entry of planUsage.log: delta allocations of group of
// the job on the node nu.
type jobAllocChange struct {
	nu    *nodeUsage
	group string
	delta int
}

// addJobAlloc changes the count of group's allocations on nu, logs it and
// tells the observer.
func (u *planUsage) addJobAlloc(nu *nodeUsage, group string, n int) {
	nu.addJobAlloc(group, n)
	u.log = append(u.log, jobAllocChange{nu, group, n})
	if u.observe != nil {
		u.observe(nu, group, n)
	}
}

// nodeUsage is one node as the plan leaves it. The pipeline's stages read it.
type nodeUsage struct {
	id      string
	node    *structs.Node // nil unless the node is a candidate
	cand    int           // 1 + the node's index among the candidates; 0 if not one
	scanned bool          // used includes the snapshot's allocations
	// used is what allocations use on the node: the snapshot's (once
	// scanned) plus what the plan placed, less what it stopped.
	used structs.ComparableResources
	// jobAllocs counts the job's allocations on the node per group, once the
	// plan is applied; nil while there are none.
	jobAllocs map[string]int
	// ports are the node's host ports in use, as the plan leaves them (see ports.go).
	ports nodePorts
	// cores counts the allocations holding each core, as the plan leaves
	// them (see cores.go); nil while none holds one.
	cores map[int]int
}

// newPlanUsage starts an empty plan over state. jobAllocs are the allocations
// of the job being planned, as in the state.
func newPlanUsage(state State, jobAllocs []*structs.Allocation) *planUsage {
	u := &planUsage{state: state, jobNodes: map[string]*nodeUsage{}}
	u.usage, _ = state.(NodeUsageReader)
	for _, a := range jobAllocs {
		if a.TerminalStatus() {
			continue
		}
		nu := u.jobNodes[a.NodeID]
		if nu == nil {
			nu = &nodeUsage{id: a.NodeID}
			u.jobNodes[a.NodeID] = nu
		}
		u.addJobAlloc(nu, a.TaskGroup, 1)
	}
	return u
}

// jobNode returns the record of a node that runs a's allocation of the job.
// Invariant: a is one of the non-terminal job allocations newPlanUsage was
// given; anything else is a bug in the caller.
func (u *planUsage) jobNode(a *structs.Allocation) *nodeUsage {
	nu := u.jobNodes[a.NodeID]
	if nu == nil {
		panic(fmt.Sprintf("scheduler: plan usage: allocation %s on node %s is not a live allocation of the job", a.ID, a.NodeID))
	}
	return nu
}

// candidates returns the usage records of nodes, in order, creating them
// all at once (the pipeline looks at candidates through them, without map
// lookups). Their snapshot allocations are summed later, on first use: see scan.
func (u *planUsage) candidates(nodes []*structs.Node) []*nodeUsage {
	out := make([]*nodeUsage, len(nodes))
	fresh := make([]nodeUsage, len(nodes))
	for i, n := range nodes {
		nu := u.jobNodes[n.ID]
		if nu == nil {
			nu = &fresh[i]
			nu.id = n.ID
		}
		nu.node = n
		nu.cand = i + 1
		out[i] = nu
	}
	return out
}

// NodeUsageReader is what a State may also offer: per node, what its live
// (non-terminal) allocations use, and whether that sum is all a plan needs
// of them (plain: none holds host ports or reserved cores, which only the
// allocations name). The server's state store keeps it with every write.
// A State whose AllocsByNode differs from its store's must not offer it.
type NodeUsageReader interface {
	NodeUsage(nodeID string) (used structs.ComparableResources, plain bool)
}

// scan sums the snapshot allocations of the candidate into its usage, once:
// from the state's per-node usage when it is plain, else allocation by
// allocation.
func (u *planUsage) scan(nu *nodeUsage) {
	if nu.scanned {
		return
	}
	nu.scanned = true
	if u.usage != nil {
		if used, plain := u.usage.NodeUsage(nu.id); plain {
			nu.used.Add(used)
			return
		}
	}
	for _, a := range u.state.AllocsByNode(nu.id) {
		if !a.TerminalStatus() {
			nu.used.Add(a.Comparable())
			nu.addPorts(a, 1)
			nu.addCores(a, 1)
		}
	}
}

// collisions returns how many allocations of group of the job the node runs
// once the plan is applied.
func (nu *nodeUsage) collisions(group string) int { return nu.jobAllocs[group] }

func (nu *nodeUsage) addJobAlloc(group string, n int) {
	if nu.jobAllocs == nil {
		nu.jobAllocs = map[string]int{}
	}
	nu.jobAllocs[group] += n
}

// place records that the plan places a on the candidate nu.
func (u *planUsage) place(nu *nodeUsage, a *structs.Allocation) {
	if nu.id != a.NodeID {
		panic(fmt.Sprintf("scheduler: plan usage: allocation %s placed on node %s recorded on %s", a.ID, a.NodeID, nu.id))
	}
	nu.used.Add(a.Comparable())
	nu.addPorts(a, 1)
	nu.addCores(a, 1)
	u.addJobAlloc(nu, a.TaskGroup, 1)
}

// stop records that the plan stops a. Stopping a terminal allocation frees
// nothing: it was not counted.
func (u *planUsage) stop(a *structs.Allocation) {
	if a.TerminalStatus() {
		return
	}
	nu := u.jobNode(a)
	nu.used.Subtract(a.Comparable())
	nu.addPorts(a, -1)
	nu.addCores(a, -1)
	u.addJobAlloc(nu, a.TaskGroup, -1)
}

// unstop takes back a stop recorded with stop.
func (u *planUsage) unstop(a *structs.Allocation) {
	if a.TerminalStatus() {
		return
	}
	nu := u.jobNode(a)
	nu.used.Add(a.Comparable())
	nu.addPorts(a, 1)
	nu.addCores(a, 1)
	u.addJobAlloc(nu, a.TaskGroup, 1)
}
