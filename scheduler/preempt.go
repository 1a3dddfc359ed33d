package scheduler

import (
	"cmp"
	"slices"

	"github.com/orch-io/orch/structs"
)

// Preemption: when a placement finds no node with room, a job may evict
// allocations of jobs whose priority is at least preemptPriorityDelta lower,
// if the cluster's scheduler configuration enables preemption for its
// scheduler type (system jobs by default, as in Nomad).
//
// The fallback runs only after a full selection found no node: the nodes that
// were rejected for resources (exhausted cpu, memory, disk or ports; at most
// preemptMaxNodes of them, in the order the selection met them) are the
// candidates. On each, the victims are chosen like this:
//
//  1. allocations holding a static port the group asks for must go (if any
//     of them may not be preempted, the node is out);
//  2. then, while some of cpu, memory or disk is still missing, take one more
//     allocation: the lowest priority first, and within a priority the one
//     whose resources are closest to what is still missing (preemptDistance);
//  3. finally drop any victim, last chosen first, without which the rest
//     still free enough: the set is minimal.
//
// Only allocations of other jobs whose priority is at most the job's priority
// less preemptPriorityDelta are eligible. The node is then checked with the
// ordinary fit stage as the evictions leave it (which also covers dynamic
// ports). Among the nodes where a victim set exists, the one whose victims
// have the lowest highest priority wins, then the fewest victims, then the
// least resources freed beyond the need, then the first met.
const (
	preemptPriorityDelta = 10
	preemptMaxNodes      = 16
)

// preemptionEnabled reads the cluster's scheduler configuration for jobType.
func preemptionEnabled(cfg *structs.SchedulerConfiguration, jobType structs.JobType) bool {
	if cfg == nil {
		cfg = structs.DefaultSchedulerConfiguration()
	}
	pc := cfg.PreemptionConfig
	switch jobType {
	case structs.JobTypeSystem:
		return pc.SystemSchedulerEnabled
	case structs.JobTypeSysBatch:
		return pc.SysBatchSchedulerEnabled
	case structs.JobTypeBatch:
		return pc.BatchSchedulerEnabled
	case structs.JobTypeService:
		return pc.ServiceSchedulerEnabled
	}
	return false
}

// preemptor is the preemption state of one stack (one plan).
type preemptor struct {
	state     State
	job       *structs.Job
	evicted   map[string]bool // IDs of the allocations the plan evicts
	exhausted []*nodeUsage    // this selection's nodes rejected for resources
	// victims are what the last selectNode evicted to make room on the node
	// it returned; nil when it evicted nothing. The caller records them in
	// the plan (recordPreemptions).
	victims []*structs.Allocation
}

// enablePreemption turns the fallback on for the stack's plan.
func (s *stack) enablePreemption(state State) {
	s.preempt = &preemptor{state: state, job: s.job, evicted: map[string]bool{}}
}

// reset starts a selection.
func (p *preemptor) reset() {
	p.exhausted = p.exhausted[:0]
	p.victims = nil
}

// consider remembers a node rejected for resources.
func (p *preemptor) consider(nu *nodeUsage) {
	if len(p.exhausted) < preemptMaxNodes {
		p.exhausted = append(p.exhausted, nu)
	}
}

// preemptionChoice is a node where evicting victims makes room.
type preemptionChoice struct {
	nu       *nodeUsage
	victims  []*structs.Allocation
	maxPrio  int
	overshot int64 // resources freed beyond the need, summed (MHz + MB)
}

func (c *preemptionChoice) better(o *preemptionChoice) bool {
	if o == nil {
		return true
	}
	return cmp.Or(cmp.Compare(c.maxPrio, o.maxPrio), cmp.Compare(len(c.victims), len(o.victims)),
		cmp.Compare(c.overshot, o.overshot)) < 0
}

// place runs the fallback for one placement of the pipeline's group: it
// picks a node and its victims among the exhausted nodes, applies the
// evictions to the plan's usage and returns the node, scored; or nil.
func (p *preemptor) place(pl *groupPipeline) *scoredNode {
	var best *preemptionChoice
	for _, nu := range p.exhausted {
		if c := p.choose(nu, pl.fit); c != nil && c.better(best) {
			best = c
		}
	}
	if best == nil {
		return nil
	}
	p.apply(best.nu, best.victims, 1)
	score, exhausted := pl.fit.fit(best.nu)
	if exhausted != "" { // choose checked it; a bug otherwise
		panic("scheduler: preemption: node " + best.nu.id + " still exhausted (" + exhausted + ") after evictions")
	}
	sn := scoredNode{nu: best.nu}
	sn.add(scoreBinPack, score)
	for _, sc := range pl.scorers {
		if v, applies := sc.score(best.nu); applies {
			sn.add(sc.name(), v)
		}
	}
	sn = sn.finish()
	p.victims = best.victims
	for _, v := range best.victims {
		p.evicted[v.ID] = true
	}
	return &sn
}

// apply evicts (n = 1) or restores (n = -1) victims in the usage of nu.
func (p *preemptor) apply(nu *nodeUsage, victims []*structs.Allocation, n int) {
	for _, v := range victims {
		c := v.Comparable()
		if n > 0 {
			nu.used.Subtract(c)
		} else {
			nu.used.Add(c)
		}
		nu.addPorts(v, -n)
		nu.addCores(v, -n)
	}
}

// candidate is an allocation that may be evicted, with its job's priority.
type candidate struct {
	alloc *structs.Allocation
	prio  int
	res   structs.ComparableResources
}

// eligible returns the allocations on nu this job may evict, lowest priority
// first (then by ID: the state returns them sorted).
func (p *preemptor) eligible(nu *nodeUsage) []candidate {
	var out []candidate
	for _, a := range p.state.AllocsByNode(nu.id) {
		if a.TerminalStatus() || p.evicted[a.ID] || (a.JobID == p.job.ID && a.Namespace == p.job.Namespace) {
			continue
		}
		job := a.Job
		if job == nil {
			job = p.state.JobByID(a.Namespace, a.JobID)
		}
		if job == nil || job.Priority > p.job.Priority-preemptPriorityDelta {
			continue
		}
		out = append(out, candidate{alloc: a, prio: job.Priority, res: a.Comparable()})
	}
	slices.SortStableFunc(out, func(a, b candidate) int { return cmp.Compare(a.prio, b.prio) })
	return out
}

// choose computes the victim set on nu, or nil when evictions cannot make
// room for one more allocation of the group.
func (p *preemptor) choose(nu *nodeUsage, fit *binPack) *preemptionChoice {
	cands := p.eligible(nu)
	if len(cands) == 0 {
		return nil
	}
	taken := make([]bool, len(cands))
	var chosen []int
	// 1. Holders of the static ports the group asks for.
	if fit.ports != nil {
		for _, sp := range fit.ports.static {
			for i, c := range cands {
				if !taken[i] && holdsPort(c.alloc, sp.Value) {
					taken[i] = true
					chosen = append(chosen, i)
				}
			}
		}
	}
	// 1b. Holders of cores, lowest priority first, until enough are free
	// for a group that reserves cores.
	if fit.cores > 0 {
		short := fit.cores - len(nu.freeCores())
		for _, i := range chosen {
			short -= cands[i].alloc.AllocatedResources.Cores()
		}
		for i, c := range cands {
			if short <= 0 {
				break
			}
			if held := c.alloc.AllocatedResources.Cores(); !taken[i] && held > 0 {
				taken[i] = true
				chosen = append(chosen, i)
				short -= held
			}
		}
		if short > 0 {
			return nil // the eligible allocations do not hold enough cores
		}
	}
	fixed := len(chosen) // the victims above stay: their ports or cores are needed
	// 2. Greedy on the resources still missing.
	capacity := nu.node.Comparable()
	want := nu.used
	want.Add(fit.ask)
	missing := func(freed structs.ComparableResources) structs.ComparableResources {
		m := want
		m.Subtract(freed)
		m.Subtract(capacity)
		return structs.ComparableResources{CPU: max(m.CPU, 0), MemoryMB: max(m.MemoryMB, 0), DiskMB: max(m.DiskMB, 0)}
	}
	var freed structs.ComparableResources
	for _, i := range chosen {
		freed.Add(cands[i].res)
	}
	for need := missing(freed); !isZero(need); need = missing(freed) {
		pick := -1
		var pickDist float64
		for i, c := range cands {
			if taken[i] {
				continue
			}
			if pick >= 0 && c.prio > cands[pick].prio {
				break // sorted by priority: only the lowest one left competes
			}
			if !helps(c.res, need) {
				continue
			}
			if d := preemptDistance(c.res, need); pick < 0 || d < pickDist {
				pick, pickDist = i, d
			}
		}
		if pick < 0 {
			return nil // the eligible allocations cannot free enough
		}
		taken[pick] = true
		chosen = append(chosen, pick)
		freed.Add(cands[pick].res)
	}
	// 3. Drop victims not needed, last chosen first (the holders of needed
	// ports and cores stay).
	for k := len(chosen) - 1; k >= fixed; k-- {
		without := freed
		without.Subtract(cands[chosen[k]].res)
		if isZero(missing(without)) {
			freed = without
			chosen = slices.Delete(chosen, k, k+1)
		}
	}
	c := &preemptionChoice{nu: nu}
	for _, i := range chosen {
		c.victims = append(c.victims, cands[i].alloc)
		c.maxPrio = max(c.maxPrio, cands[i].prio)
	}
	// Check with the fit stage as the evictions leave the node.
	p.apply(nu, c.victims, 1)
	_, exhausted := fit.fit(nu)
	p.apply(nu, c.victims, -1)
	if exhausted != "" {
		return nil
	}
	over := freed
	over.Subtract(missing(structs.ComparableResources{}))
	c.overshot = int64(max(over.CPU, 0)) + int64(max(over.MemoryMB, 0)) + int64(max(over.DiskMB, 0))
	return c
}

func isZero(c structs.ComparableResources) bool {
	return c.CPU == 0 && c.MemoryMB == 0 && c.DiskMB == 0
}

// helps reports whether freeing res reduces a missing dimension.
func helps(res, need structs.ComparableResources) bool {
	return (need.CPU > 0 && res.CPU > 0) || (need.MemoryMB > 0 && res.MemoryMB > 0) || (need.DiskMB > 0 && res.DiskMB > 0)
}

// preemptDistance is how far freeing res is from what is missing: over each
// missing dimension, the square of (freed − missing) / missing, summed. 0 is
// a perfect match; freeing too little and too much both cost.
func preemptDistance(res, need structs.ComparableResources) float64 {
	var d float64
	term := func(freed, missing int) {
		if missing > 0 {
			x := float64(freed-missing) / float64(missing)
			d += x * x
		}
	}
	term(res.CPU, need.CPU)
	term(res.MemoryMB, need.MemoryMB)
	term(res.DiskMB, need.DiskMB)
	return d
}

func holdsPort(a *structs.Allocation, port int) bool {
	if a.AllocatedResources == nil {
		return false
	}
	for _, p := range a.AllocatedResources.Shared.Ports {
		if p.Value == port {
			return true
		}
	}
	return false
}

// recordPreemptions records in the plan that alloc evicts victims.
func recordPreemptions(plan *structs.Plan, alloc *structs.Allocation, victims []*structs.Allocation) {
	if len(victims) == 0 {
		return
	}
	for _, v := range victims {
		plan.AppendPreemptedAlloc(v, alloc.ID)
		alloc.PreemptedAllocations = append(alloc.PreemptedAllocations, v.ID)
	}
	if plan.Annotations != nil {
		du := plan.Annotations.DesiredTGUpdates[alloc.TaskGroup]
		if du == nil {
			du = &structs.DesiredUpdates{}
			if plan.Annotations.DesiredTGUpdates == nil {
				plan.Annotations.DesiredTGUpdates = map[string]*structs.DesiredUpdates{}
			}
			plan.Annotations.DesiredTGUpdates[alloc.TaskGroup] = du
		}
		du.Preemptions += uint64(len(victims))
		for _, v := range victims {
			plan.Annotations.PreemptedAllocs = append(plan.Annotations.PreemptedAllocs, v.Stub())
		}
	}
}
