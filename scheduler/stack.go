package scheduler

import (
	"math/bits"

	"github.com/orch-io/orch/structs"
)

// filter is a feasibility stage: it decides whether a node can run a group at
// all, whatever else runs there. Filters are built once per group and
// evaluation, and must be cheap to call: they run for every node evaluated.
type filter interface {
	// feasible reports whether node can run the group. When it cannot, reason
	// says why, as counted in AllocMetric.ConstraintFiltered.
	feasible(node *structs.Node) (ok bool, reason string)
}

// scorer is a ranking stage: it scores a feasible node for one placement,
// normalised to [-1, 1]. When applies is false the stage has no opinion on the
// node, and its score does not enter the mean.
type scorer interface {
	name() string
	score(nu *nodeUsage) (score float64, applies bool)
}

// Names of the scores in AllocMetric.ScoreMetaData, as in Nomad.
const (
	scoreBinPack         = "binpack"
	scoreJobAntiAffinity = "job-anti-affinity"
)

// scoreMetaLimit is how many of the best-scored nodes a metric keeps.
const scoreMetaLimit = 5

// A feasible node scoring below skipScoreThreshold (a penalised one: it
// already runs the group) does not count towards the sample limit, up to
// maxSkip such nodes per placement: the scan looks further for a better one,
// and picks the penalised node only if none is found.
const (
	skipScoreThreshold = 0.0
	maxSkip            = 3
)

// stack is the placement pipeline of one evaluation. For each placement a
// node flows through it top to bottom:
//
//	nodeSource        the shuffled ready nodes of the job's datacenters, round-robin;
//	                  with spreads, spreadScorer.walk instead: best spread value first
//	→ feasibility     drivers, constraints (cached per computed node class),
//	                  distinct_hosts, distinct_property: can the node run the group at all?
//	→ binPack         does one more allocation fit? how tightly does it fill the node?
//	→ scorers         jobAntiAffinity, reschedulePenalty, nodeAffinity, spread
//	→ select          the best mean score among the first `limit` feasible nodes
//	                  (penalised nodes, up to maxSkip, do not count towards limit;
//	                  the limit is at least affinitySample with affinities)
//
// It is used by one goroutine, for one plan: the stages read the plan's usage,
// which the caller updates after each placement.
type stack struct {
	job    *structs.Job
	source *nodeSource
	usage  *planUsage
	limit  int
	groups map[string]*groupPipeline // built on first use
	// operands caches the regexps and versions of constraints (constraint.go).
	operands *operandCache
	top      []scoredNode // reused by selectNode
	// spreadFit scores the resource fit with the spread algorithm (emptier
	// nodes first) instead of bin-packing.
	spreadFit bool
	// oversubscribe keeps the tasks' memory_max in their allocations
	// (SchedulerConfiguration.MemoryOversubscriptionEnabled).
	oversubscribe bool
	// avoid holds the nodes the placement in hand should avoid (its
	// predecessors failed there; see reschedulePenalty), nil for none. The
	// caller sets it before each selectNode.
	avoid map[string]bool
	// preempt, when set, is the fallback that evicts allocations of
	// lower-priority jobs when no node fits (preempt.go).
	preempt *preemptor
}

// groupPipeline holds the stages built for one group.
type groupPipeline struct {
	feas    *feasibility // feasible.go
	fit     *binPack
	scorers []scorer
	limit   int           // feasible nodes to sample per placement
	spread  *spreadScorer // nil without spreads; also orders the search
	pass    spreadPass    // the spread scorer's state for one placement
}

type namedScore struct {
	name  string
	value float64
}

// maxScores bounds the scores of one node: bin-packing and one per scorer.
const maxScores = 5

// newStack wires the pipeline for job. Batch jobs look at 2 feasible nodes per
// placement; service jobs, whose placement quality matters for longer, at
// ceil(log2(candidates)), at least 2.
func newStack(jobType structs.JobType, job *structs.Job, source *nodeSource, usage *planUsage) *stack {
	limit := 2
	if jobType == structs.JobTypeService && source.len() > 1 {
		limit = max(limit, bits.Len(uint(source.len()-1))) // ceil(log2(n))
	}
	s := &stack{job: job, source: source, usage: usage, limit: limit, groups: map[string]*groupPipeline{},
		operands: newOperandCache()}
	if usage != nil {
		usage.observe = s.observe
	}
	return s
}

// configure applies the cluster's scheduler configuration: the fit
// algorithm, and a sample size that widens the default sample.
func (s *stack) configure(cfg *structs.SchedulerConfiguration) {
	s.spreadFit = cfg.EffectiveAlgorithm() == structs.SchedulerAlgorithmSpread
	s.oversubscribe = cfg != nil && cfg.MemoryOversubscriptionEnabled
	if cfg != nil && cfg.SampleSize > 0 {
		s.limit = max(s.limit, min(cfg.SampleSize, s.source.len()))
	}
}

// finishResources completes what alloc, placed on nu, reserves: the cores
// of tasks that ask for them, and memory_max only with memory
// oversubscription (without it, tasks are limited to their memory).
func (s *stack) finishResources(nu *nodeUsage, tg *structs.TaskGroup, alloc *structs.Allocation) {
	if !s.oversubscribe {
		for _, r := range alloc.AllocatedResources.Tasks {
			r.MemoryMaxMB = 0
		}
	}
	if s.groups[tg.Name] != nil && s.groups[tg.Name].fit.cores > 0 {
		assignCores(nu, tg, alloc)
	}
}

// observe keeps the spread counts of the group's pipeline up to date with the
// plan's placements and stops.
func (s *stack) observe(nu *nodeUsage, group string, delta int) {
	if p := s.groups[group]; p != nil && p.spread != nil {
		p.spread.add(nu, s.usage, delta)
	}
}

func (s *stack) pipeline(tg *structs.TaskGroup) *groupPipeline {
	p := s.groups[tg.Name]
	if p == nil {
		p = &groupPipeline{
			feas:    newFeasibility(s.job, tg, s.usage, s.operands),
			fit:     newBinPack(tg, s.spreadFit),
			limit:   s.limit,
			scorers: []scorer{newJobAntiAffinity(tg), &reschedulePenalty{stack: s}},
		}
		if aff := newNodeAffinity(s.job, tg, s.source.len()); aff != nil {
			p.scorers = append(p.scorers, aff)
			p.limit = max(p.limit, min(affinitySample, s.source.len()))
		}
		if p.spread = newSpreadScorer(s.job, tg, s.source.nodes, s.usage); p.spread != nil {
			p.scorers = append(p.scorers, &p.pass)
		}
		if 1+len(p.scorers) > maxScores {
			panic("scheduler: more scorers than maxScores")
		}
		s.groups[tg.Name] = p
	}
	return p
}

// selectNode picks the node for one more allocation of tg, or returns nil when
// no candidate can take it. The metric explains the choice either way; it
// belongs to the caller. selectNode does not record the placement: the caller
// does, with planUsage.place on the returned record, if it keeps the node.
func (s *stack) selectNode(tg *structs.TaskGroup) (*nodeUsage, *structs.AllocMetric) {
	m := newMetric(s.source.available)
	p := s.pipeline(tg)
	sel := selection{stack: s, p: p, m: m, top: s.top[:0]} // top: best first, at most scoreMetaLimit
	if s.preempt != nil {
		s.preempt.reset()
	}
	if p.spread != nil {
		p.spread.prepare(&p.pass)
		p.spread.walk(sel.visit)
		if len(sel.top) == 0 {
			p.spread.explainPruned(m, m.NodesFiltered)
		}
	} else {
		for range s.source.len() {
			if _, stop := sel.visit(s.source.nextNode(), false); stop {
				break
			}
		}
	}
	top := sel.top
	if len(top) == 0 && s.preempt != nil {
		if sn := s.preempt.place(p); sn != nil {
			top = append(top, *sn)
		}
	}
	s.top = top
	m.ScoreMetaData = scoreMetaData(top)
	if len(top) == 0 {
		m.ClassEligibility = p.feas.classEligibility()
		return nil, m
	}
	return top[0].nu, m
}

// selection is the state of one selectNode.
type selection struct {
	stack             *stack
	p                 *groupPipeline
	m                 *structs.AllocMetric
	top               []scoredNode
	feasible, skipped int
}

// visit evaluates one candidate; knownFeasible skips the filters of a node
// that already passed them. It reports the reason of the filter that rejected
// the node ("" when none did), and whether the sample is complete (limit
// feasible nodes seen).
func (sel *selection) visit(nu *nodeUsage, knownFeasible bool) (filteredBy string, stop bool) {
	p, m := sel.p, sel.m
	m.NodesEvaluated++
	// A node rejected by its own checks is dropped by the spread walk for the
	// rest of the evaluation (its verdict cannot change); one rejected by the
	// plan checks is not, and the plan checks run again on every visit.
	if !knownFeasible {
		if ok, reason := p.feas.checkNode(nu.node, m); !ok {
			return reason, false
		}
	}
	if !p.feas.checkPlan(nu, m) {
		return "", false
	}
	sel.stack.usage.scan(nu)
	binScore, exhausted := p.fit.fit(nu)
	if exhausted != "" {
		recordExhausted(m, nu.node, exhausted)
		if sel.stack.preempt != nil {
			sel.stack.preempt.consider(nu)
		}
		return "", false
	}
	sn := scoredNode{nu: nu}
	sn.add(scoreBinPack, binScore)
	for _, sc := range p.scorers {
		if v, applies := sc.score(nu); applies {
			sn.add(sc.name(), v)
		}
	}
	sn = sn.finish()
	if sn.final < skipScoreThreshold && sel.skipped < maxSkip {
		sel.skipped++
	} else {
		sel.feasible++
	}
	sel.top = insertTop(sel.top, sn)
	return "", sel.feasible >= p.limit
}

// scoredNode is a feasible node with its scores; final is their mean.
type scoredNode struct {
	nu     *nodeUsage
	final  float64
	scores [maxScores]namedScore
	n      int
}

func (sn *scoredNode) add(name string, v float64) {
	sn.scores[sn.n] = namedScore{name, v}
	sn.n++
}

func (sn scoredNode) finish() scoredNode {
	var sum float64
	for _, s := range sn.scores[:sn.n] {
		sum += s.value
	}
	sn.final = sum / float64(sn.n)
	return sn
}

// insertTop keeps top sorted by final score, best first, at most
// scoreMetaLimit long. A node ties below the nodes already there, so the first
// best node seen wins.
func insertTop(top []scoredNode, sn scoredNode) []scoredNode {
	i := len(top)
	for i > 0 && sn.final > top[i-1].final {
		i--
	}
	if i >= scoreMetaLimit {
		return top
	}
	if len(top) < scoreMetaLimit {
		top = append(top, scoredNode{})
	}
	copy(top[i+1:], top[i:len(top)-1])
	top[i] = sn
	return top
}

func scoreMetaData(top []scoredNode) []*structs.NodeScoreMeta {
	if len(top) == 0 {
		return nil
	}
	out := make([]*structs.NodeScoreMeta, len(top))
	for i, sn := range top {
		scores := make(structs.NodeScores, sn.n)
		for j, s := range sn.scores[:sn.n] {
			scores[j] = structs.NodeScore{Name: s.name, Value: s.value}
		}
		scores.Sort()
		out[i] = &structs.NodeScoreMeta{NodeID: sn.nu.id, Scores: scores, NormScore: sn.final}
	}
	return out
}
