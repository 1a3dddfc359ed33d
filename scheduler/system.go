package scheduler

import (
	"fmt"

	"github.com/orch-io/orch/structs"
)

// Why the system scheduler stops an allocation, beside the reconciler's
// reasons (allocJobStopped, allocNotNeeded, allocLost, allocUpdating).
const (
	allocNodeInfeasible = "alloc not needed as node no longer satisfies the job's constraints or datacenters"
)

// systemScheduler places system and sysbatch jobs: one allocation of every
// group on every node that can run it — ready, eligible, in the job's
// datacenters, passing the group's filters. The group's count is ignored, as
// in Nomad. A sysbatch allocation runs to completion: a node whose allocation
// completed (for the current version of the group) does not get another.
//
// Per node and group, the node's existing allocations are classified with the
// generic reconciler's rules (classifier), so "is this update destructive?"
// has one answer for every job type:
//
//	node down or gone          → stop the node's allocations as lost
//	node not ready / inelig.   → keep what runs there, place nothing new (as Nomad)
//	node outside dcs or
//	filtered by the group      → stop (allocNodeInfeasible)
//	feasible node              → keep the best allocation (current, done,
//	                             in-place, destructive), stop extra ones;
//	                             destructive → replace on the same node;
//	                             none → place one
//
// A placement that does not fit its node is recorded in FailedTGAllocs (one
// metric per group, summed over the nodes that failed) and counted as queued.
// No blocked evaluation is created: a node that becomes ready, or joins,
// triggers an evaluation of every system job anyway.
type systemScheduler struct {
	g        *genericScheduler // newAlloc, inPlaceUpdate, finish
	sysbatch bool
}

var _ Scheduler = (*systemScheduler)(nil)

func newSystemScheduler(jobType structs.JobType, cfg Config) *systemScheduler {
	return &systemScheduler{
		g:        &genericScheduler{jobType: jobType, cfg: cfg},
		sysbatch: jobType == structs.JobTypeSysBatch,
	}
}

// Process implements Scheduler. A plan the applier rejects in part (another
// scheduler took the capacity first) is planned again from fresher state, as
// in the generic scheduler, within the same bounds.
func (s *systemScheduler) Process(eval *structs.Evaluation) error {
	// No blocked evaluation: a node that joins or comes back triggers an
	// evaluation of every system job anyway.
	return s.g.process(eval, s.computePlan, false)
}

// systemNodes sorts the nodes of the state for a system job.
type systemNodes struct {
	// candidates are the ready, eligible nodes in the job's datacenters, by ID.
	candidates []*structs.Node
	// notReady are nodes in the job's datacenters that are up but may not
	// receive allocations (initializing, ineligible): what runs there stays.
	notReady map[string]bool
	// available counts the candidates per datacenter (AllocMetric.NodesAvailable).
	available map[string]int
}

func listSystemNodes(state State, job *structs.Job) *systemNodes {
	sn := &systemNodes{notReady: map[string]bool{}, available: map[string]int{}}
	for _, n := range state.Nodes("") {
		switch {
		case n.Status == structs.NodeStatusDown || !matchAnyDatacenter(job.Datacenters, n.Datacenter):
		case !n.Ready():
			sn.notReady[n.ID] = true
		default:
			sn.candidates = append(sn.candidates, n)
			sn.available[n.Datacenter]++
		}
	}
	return sn
}

// computePlan decides, node by node, what the job needs. It submits nothing.
func (s *systemScheduler) computePlan(eval *structs.Evaluation, state State) *attempt {
	ns := structs.NamespaceOr(eval.Namespace)
	job := state.JobByID(ns, eval.JobID)
	allocs := state.AllocsByJob(ns, eval.JobID)
	a := &attempt{
		job: job,
		plan: &structs.Plan{
			EvalID:        eval.ID,
			Priority:      eval.Priority,
			Job:           job,
			AllAtOnce:     job != nil && job.AllAtOnce,
			SnapshotIndex: state.LatestIndex(),
		},
		failed: map[string]*structs.AllocMetric{},
		queued: map[string]int{},
	}
	a.snapshotIndex = a.plan.SnapshotIndex
	dp := s.systemDeployment(state, eval.Namespace, eval.JobID, job, allocs, a.plan)
	if job.Stopped() {
		for _, al := range allocs {
			if !al.TerminalStatus() {
				a.plan.AppendStoppedAlloc(al, allocJobStopped)
				a.stopped++
			}
		}
		return a
	}

	tainted := taintedNodes(state, allocs)
	// System groups have no reschedule policy: a failed allocation is done.
	c := newClassifier(job, s.sysbatch, tainted, s.g.cfg.Now, eval.ID)
	// existing[group][node] holds the allocations that still count there.
	existing := map[string]map[string][]classified{}
	for _, al := range allocs {
		class, _ := c.classify(al)
		switch class {
		case classGone:
			continue
		case classOrphan:
			a.plan.AppendStoppedAlloc(al, allocNotNeeded)
			a.stopped++
			continue
		}
		byNode := existing[al.TaskGroup]
		if byNode == nil {
			byNode = map[string][]classified{}
			existing[al.TaskGroup] = byNode
		}
		byNode[al.NodeID] = append(byNode[al.NodeID], classified{al, class, al.Index()})
	}

	nodes := listSystemNodes(state, job)
	usage := newPlanUsage(state, allocs)
	source := &nodeSource{nodes: usage.candidates(nodes.candidates), available: nodes.available}
	st := newStack(s.g.jobType, job, source, usage)
	if cfg := state.SchedulerConfig(); cfg != nil {
		st.oversubscribe = cfg.MemoryOversubscriptionEnabled
	}
	if preemptionEnabled(state.SchedulerConfig(), s.g.jobType) {
		st.enablePreemption(state)
	}
	one := &nodeSource{nodes: make([]*nodeUsage, 1), available: nodes.available}
	isCandidate := make(map[string]bool, len(nodes.candidates))
	for _, n := range nodes.candidates {
		isCandidate[n.ID] = true
	}
	// Every stop is decided (and its room freed) before any placement.
	var groups []*systemGroupPlan
	for _, tg := range job.TaskGroups {
		a.queued[tg.Name] = 0
		gp := &systemGroupPlan{s: s, eval: eval, job: job, tg: tg, st: st, usage: usage, one: one, a: a,
			name: structs.AllocName(job.ID, tg.Name, 0)}
		groups = append(groups, gp)
		byNode := existing[tg.Name]
		for _, nu := range source.nodes {
			gp.node(nu, byNode[nu.id])
		}
		// Nodes that are not candidates: keep, or stop, what runs there.
		for nodeID, cas := range byNode {
			if isCandidate[nodeID] {
				continue
			}
			for _, ca := range cas {
				switch {
				case ca.alloc.TerminalStatus(): // done: nothing to stop
				case tainted[nodeID]:
					a.plan.AppendStoppedAlloc(ca.alloc, allocLost)
					a.stopped++
				case nodes.notReady[nodeID] && ca.alloc.DesiredTransition.Migrate: // drained
					a.plan.AppendStoppedAlloc(ca.alloc, allocMigrating)
					a.stopped++
				case nodes.notReady[nodeID]:
				default:
					a.plan.AppendStoppedAlloc(ca.alloc, allocNodeInfeasible)
					a.stopped++
				}
			}
		}
	}
	for _, gp := range groups {
		gp.roll(dp)
	}
	finishSystemDeployment(dp, groups, a.plan)
	for _, gp := range groups {
		for _, pp := range gp.pending {
			gp.place(pp.nu, pp.p)
		}
	}
	return a
}

// systemGroupPlan plans one group over the candidate nodes.
type systemGroupPlan struct {
	s     *systemScheduler
	eval  *structs.Evaluation
	job   *structs.Job
	tg    *structs.TaskGroup
	st    *stack
	usage *planUsage
	one   *nodeSource // the single-node source selectNode runs on
	a     *attempt
	name  string // of every allocation of the group: job.group[0], as in Nomad
	// pending are the placements decided, made once every stop is known.
	pending []pendingPlacement
	// desired counts the candidate nodes that should run the group.
	desired int
}

type pendingPlacement struct {
	nu *nodeUsage
	p  placement
}

// node decides for one candidate node, given the group's allocations there:
// it records stops at once, and placements in pending.
func (gp *systemGroupPlan) node(nu *nodeUsage, cas []classified) {
	a := gp.a
	if !gp.st.pipeline(gp.tg).feas.nodeFeasible(nu.node) {
		for _, ca := range cas {
			if !ca.alloc.TerminalStatus() {
				a.plan.AppendStoppedAlloc(ca.alloc, allocNodeInfeasible)
				gp.usage.stop(ca.alloc)
				a.stopped++
			}
		}
		return
	}
	gp.desired++
	// Keep the best allocation; stop any other live one (a node runs one).
	var keep *classified
	for i := range cas {
		ca := &cas[i]
		if keep == nil || keepPreference[ca.class] < keepPreference[keep.class] {
			keep = ca
		}
	}
	for i := range cas {
		if ca := &cas[i]; ca != keep && !ca.alloc.TerminalStatus() {
			a.plan.AppendStoppedAlloc(ca.alloc, allocNotNeeded)
			gp.usage.stop(ca.alloc)
			a.stopped++
		}
	}
	if keep == nil {
		gp.pending = append(gp.pending, pendingPlacement{nu, placement{TaskGroup: gp.tg, Name: gp.name}})
		return
	}
	switch keep.class {
	case classCurrent, classDone:
	case classInPlace:
		a.plan.AppendAlloc(gp.s.g.inPlaceUpdate(gp.eval, gp.job, keep.alloc))
		a.inPlace++
	case classDestructive:
		gp.pending = append(gp.pending, pendingPlacement{nu,
			placement{TaskGroup: gp.tg, Name: keep.alloc.Name, Previous: keep.alloc, StopPrevious: allocUpdating}})
	case classMigrate: // alloc stop: replaced where it runs
		gp.pending = append(gp.pending, pendingPlacement{nu,
			placement{TaskGroup: gp.tg, Name: keep.alloc.Name, Previous: keep.alloc, StopPrevious: allocMigrating}})
	default: // classLost cannot reach a candidate node: it is not tainted
		panic("scheduler: system scheduler got an allocation of class " + keep.class.String() + " on a candidate node")
	}
}

// place puts one allocation of the group on nu, through the stack's stages
// (filters, fit, scorers) run on that one node. A replacement may take the
// place of its predecessor; the predecessor is stopped only if it is placed.
func (gp *systemGroupPlan) place(nu *nodeUsage, p placement) {
	a := gp.a
	if p.StopPrevious != "" {
		gp.usage.stop(p.Previous)
	}
	gp.one.nodes[0], gp.one.next = nu, 0
	saved := gp.st.source
	gp.st.source = gp.one
	chosen, metric := gp.st.selectNode(gp.tg)
	gp.st.source = saved
	if chosen == nil {
		if p.StopPrevious != "" {
			gp.usage.unstop(p.Previous)
		}
		gp.recordFailure(metric)
		return
	}
	alloc := gp.s.g.newAlloc(gp.eval, gp.job, p, chosen.node, metric)
	if ask := gp.st.pipeline(gp.tg).fit.ports; ask != nil {
		ports, ok := ask.assign(chosen, gp.s.g.cfg.Rand, chosen.node.HostIP())
		if !ok {
			panic(fmt.Sprintf("scheduler: node %s passed the ports fit for group %s but cannot give its ports", chosen.id, gp.tg.Name))
		}
		alloc.AllocatedResources.Shared.Ports = ports
	}
	gp.st.finishResources(chosen, gp.tg, alloc)
	if gp.st.preempt != nil {
		recordPreemptions(a.plan, alloc, gp.st.preempt.victims)
	}
	a.plan.AppendAlloc(alloc)
	gp.usage.place(chosen, alloc)
	a.placements = append(a.placements, alloc)
	if p.StopPrevious != "" {
		a.plan.AppendStoppedAlloc(p.Previous, p.StopPrevious)
		a.stopped++
	}
}

// recordFailure adds the metric of a placement that did not fit its node to
// the group's failure metric: counts are summed over the failed nodes, and
// every failure after the first is a CoalescedFailure.
func (gp *systemGroupPlan) recordFailure(m *structs.AllocMetric) {
	group := gp.tg.Name
	gp.a.queued[group]++
	sum := gp.a.failed[group]
	if sum == nil {
		gp.a.failed[group] = m
		return
	}
	sum.CoalescedFailures++
	sum.NodesEvaluated += m.NodesEvaluated
	sum.NodesFiltered += m.NodesFiltered
	sum.NodesExhausted += m.NodesExhausted
	for k, v := range m.ConstraintFiltered {
		if sum.ConstraintFiltered == nil {
			sum.ConstraintFiltered = map[string]int{}
		}
		sum.ConstraintFiltered[k] += v
	}
	for k, v := range m.DimensionExhausted {
		if sum.DimensionExhausted == nil {
			sum.DimensionExhausted = map[string]int{}
		}
		sum.DimensionExhausted[k] += v
	}
}
