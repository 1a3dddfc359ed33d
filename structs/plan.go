package structs

// Plan is what a scheduler wants changed for one evaluation. The plan applier on
// the leader checks it against the latest state and commits what still fits.
type Plan struct {
	EvalID string
	// RequestID is the evaluation's (Evaluation.RequestID), set by the
	// worker, for the plan applier's logs.
	RequestID string
	// TraceParent is the W3C trace context of the worker's span that
	// submitted the plan, "" when untraced (internal/tracing).
	TraceParent string
	Priority    int
	Job         *Job // the job version the new allocations run

	// AllAtOnce: commit everything or nothing.
	AllAtOnce bool

	// NodeUpdate holds, per node, allocations to stop (DesiredStatus stop,
	// with DesiredDescription saying why).
	NodeUpdate map[string][]*Allocation
	// NodeAllocation holds, per node, allocations to place or update.
	NodeAllocation map[string][]*Allocation
	// NodePreemptions holds, per node, allocations of lower-priority jobs
	// evicted to make room for the plan's placements there (DesiredStatus
	// evict, PreemptedByAllocation set). They are committed only with the
	// node's placements.
	NodePreemptions map[string][]*Allocation

	// SnapshotIndex is the state index the scheduler planned against.
	SnapshotIndex uint64

	// Deployment, when set, is created (or updated) with the plan: the
	// deployment of the job's version its placements belong to.
	Deployment *Deployment
	// DeploymentUpdates change the status of deployments (an older
	// version's cancelled).
	DeploymentUpdates []*DeploymentStatusUpdate

	// Annotations say, per group, what the plan changes; filled only for an
	// evaluation with AnnotatePlan (a `job plan` dry run).
	Annotations *PlanAnnotations
}

// PlanAnnotations explain a plan to a person.
type PlanAnnotations struct {
	// DesiredTGUpdates counts the decisions per task group.
	DesiredTGUpdates map[string]*DesiredUpdates
	// PreemptedAllocs are the allocations of other jobs the plan would
	// evict (preemption), as in Nomad.
	PreemptedAllocs []*AllocListStub
}

// DesiredUpdates counts what a plan does to one group's allocations. A
// destructive update is a placement that replaces an allocation (and stops it);
// it is not also counted in Place and Stop.
type DesiredUpdates struct {
	Ignore            uint64 // running the current version; left alone
	Place             uint64 // new allocations (count up, lost replacements)
	Migrate           uint64
	Stop              uint64 // stopped (count down, lost, job stopped)
	InPlaceUpdate     uint64 // moved to the new version where they run
	DestructiveUpdate uint64 // replaced by a new allocation
	Canary            uint64
	Preemptions       uint64
}

// AppendStoppedAlloc records that alloc must stop, and why.
func (p *Plan) AppendStoppedAlloc(alloc *Allocation, desc string) {
	a := alloc.Copy()
	a.Job = nil // the stop needs no job; keeps the Raft entry small
	a.DesiredStatus = AllocDesiredStatusStop
	a.DesiredDescription = desc
	if p.NodeUpdate == nil {
		p.NodeUpdate = make(map[string][]*Allocation)
	}
	p.NodeUpdate[a.NodeID] = append(p.NodeUpdate[a.NodeID], a)
}

// AppendAlloc records a placement.
func (p *Plan) AppendAlloc(alloc *Allocation) {
	if p.NodeAllocation == nil {
		p.NodeAllocation = make(map[string][]*Allocation)
	}
	p.NodeAllocation[alloc.NodeID] = append(p.NodeAllocation[alloc.NodeID], alloc)
}

// AppendPreemptedAlloc records that alloc is evicted to make room for the
// allocation preemptorID.
func (p *Plan) AppendPreemptedAlloc(alloc *Allocation, preemptorID string) {
	a := alloc.Copy()
	// The eviction needs neither the job nor the client's fields (the state
	// store keeps those): they would only swell the Raft entry.
	a.Job, a.TaskStates, a.Metrics = nil, nil, nil
	a.DesiredStatus = AllocDesiredStatusEvict
	a.DesiredDescription = "preempted by alloc ID " + preemptorID
	a.PreemptedByAllocation = preemptorID
	if p.NodePreemptions == nil {
		p.NodePreemptions = make(map[string][]*Allocation)
	}
	p.NodePreemptions[a.NodeID] = append(p.NodePreemptions[a.NodeID], a)
}

// IsNoOp reports whether the plan changes nothing. (Preemptions come only
// with placements.)
func (p *Plan) IsNoOp() bool {
	return len(p.NodeUpdate) == 0 && len(p.NodeAllocation) == 0 && p.Deployment == nil && len(p.DeploymentUpdates) == 0
}

// PlanResult is what the plan applier committed of a plan.
type PlanResult struct {
	NodeUpdate      map[string][]*Allocation
	NodeAllocation  map[string][]*Allocation
	NodePreemptions map[string][]*Allocation

	// RefreshIndex, when non-zero, says part of the plan was rejected: the
	// scheduler must refresh its state to at least this index and plan again.
	RefreshIndex uint64
	// AllocIndex is the Raft index at which the result was committed.
	AllocIndex uint64
}

// FullCommit reports whether everything in plan was committed, and counts the
// allocations expected and actually committed.
func (r *PlanResult) FullCommit(plan *Plan) (bool, int, int) {
	expected, actual := 0, 0
	for node, allocs := range plan.NodeAllocation {
		expected += len(allocs)
		actual += len(r.NodeAllocation[node])
	}
	for node, allocs := range plan.NodeUpdate {
		expected += len(allocs)
		actual += len(r.NodeUpdate[node])
	}
	return expected == actual, expected, actual
}
