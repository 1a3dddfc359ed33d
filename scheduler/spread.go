package scheduler

import (
	"math"
	"slices"

	"github.com/orch-io/orch/structs"
)

// scoreSpread names the spread score in AllocMetric.ScoreMetaData, as in Nomad.
const scoreSpread = "allocation-spread"

// spreadScorer scores nodes by the spreads of a group (the job's and the
// group's own `spread` blocks), as Nomad documents them:
//
//   - with targets, a value scores by how far its share of the group's
//     allocations is below the share it wants: (desired-used)/desired, where
//     desired = percent × count; values no target lists share what is left of
//     100% as one pool; a value wanted at 0% scores -1;
//   - without targets (even spread), the value with the fewest allocations
//     scores 1 and the one with the most -1, linearly in between (0 when all
//     are equal), over the values of the group's remaining candidate nodes;
//   - a node without the attribute scores -1.
//
// The spreads' scores are summed weighted by weight/Σweights, so the total is
// in [-1, 1]. Counts are the group's live allocations in the snapshot, less
// what the plan stops, plus what it places, kept up to date incrementally
// through planUsage's observer: a score costs O(1) per spread, no rescans.
//
// The first spread of the highest weight (the primary) also orders the
// search: candidates are bucketed by its value and visited best bucket first
// (see walk), so the sample is drawn from the values the spread wants most
// and stays small. That is why spread costs about as much as no spread:
// without the ordering, a sample of log2(N) random nodes would seldom hold a
// node of the least used value, and scoring every node would cost N per
// placement.
type spreadScorer struct {
	specs   []*spreadSpec
	primary *spreadSpec
	// buckets hold the candidates (not yet found infeasible) by primary value.
	buckets []*spreadBucket
	// pass counts placements; a bucket visited in this one has seen == pass.
	pass int
	// feasible[i] is set once candidate i (by nodeUsage.cand-1) passed the
	// filters: they depend on the node alone, so it is not checked again.
	feasible []bool
	// pruned counts, by filter reason, the candidates dropped as infeasible
	// so far, so that a failed placement still explains them.
	pruned map[string]int
}

// spreadSpec is one spread with its per-value counts.
type spreadSpec struct {
	attribute string
	weight    float64 // weight / Σ weights of the group's spreads
	total     float64 // the group's count, for target percentages

	index  map[string]int32 // value → its index in counts
	values []string
	counts []int
	// nodeVal is the value index of each candidate (by nodeUsage.cand-1), -1
	// when the node lacks the attribute.
	nodeVal []int32

	// With targets: desired[v] is the wanted count of value v, or -1 when no
	// target lists it; such values share restDesired, restUsed counting them.
	targeted    bool
	desired     []float64
	restDesired float64
	restUsed    int

	// live[v] counts the remaining candidates of value v (even spread's
	// min and max are taken over the values with live > 0). Kept by the
	// primary's buckets only; for other specs every value seen counts.
	live []int
}

type spreadBucket struct {
	val    int32 // value index in the primary spec, -1 for nodes without it
	nodes  []*nodeUsage
	cursor int
	score  float64 // primary score of the value, for this placement
	seen   int     // the last pass that visited the bucket
}

// newSpreadScorer builds the scorer of tg's spreads (job's first), or returns
// nil when there are none. candidates are the evaluation's candidate nodes;
// usage gives the group's current allocations.
func newSpreadScorer(job *structs.Job, tg *structs.TaskGroup, candidates []*nodeUsage, usage *planUsage) *spreadScorer {
	spreads := slices.Concat(job.Spreads, tg.Spreads)
	var sum float64
	for _, sp := range spreads {
		sum += float64(max(sp.Weight, 0))
	}
	if len(spreads) == 0 || sum <= 0 {
		return nil
	}
	s := &spreadScorer{}
	for _, sp := range spreads {
		if sp.Weight <= 0 {
			continue // a spread of weight 0 has no say
		}
		spec := &spreadSpec{
			attribute: sp.Attribute,
			weight:    float64(sp.Weight) / sum,
			total:     float64(max(tg.Count, 1)),
			index:     map[string]int32{},
			nodeVal:   make([]int32, len(candidates)),
		}
		if len(sp.SpreadTarget) > 0 {
			spec.targeted = true
			rest := 100.0
			for _, t := range sp.SpreadTarget {
				v := spec.value(t.Value)
				spec.desired[v] = float64(t.Percent) / 100 * spec.total
				rest -= float64(t.Percent)
			}
			spec.restDesired = max(rest, 0) / 100 * spec.total
		}
		for i, nu := range candidates {
			spec.nodeVal[i] = spec.nodeValue(nu.node)
		}
		s.specs = append(s.specs, spec)
		if s.primary == nil || spec.weight > s.primary.weight {
			s.primary = spec
		}
	}
	// The group's allocations as the plan stands so far.
	for _, nu := range usage.jobNodes {
		if c := nu.collisions(tg.Name); c > 0 {
			s.add(nu, usage, c)
		}
	}
	// Bucket the candidates by primary value, in source order (shuffled).
	p := s.primary
	byVal := map[int32]*spreadBucket{}
	for i, nu := range candidates {
		v := p.nodeVal[i]
		b := byVal[v]
		if b == nil {
			b = &spreadBucket{val: v}
			byVal[v] = b
			s.buckets = append(s.buckets, b)
		}
		b.nodes = append(b.nodes, nu)
		if v >= 0 {
			p.live[v]++
		}
	}
	s.feasible = make([]bool, len(candidates))
	s.pruned = map[string]int{}
	return s
}

// value returns the index of value v, adding it when new.
func (sp *spreadSpec) value(v string) int32 {
	i, ok := sp.index[v]
	if !ok {
		i = int32(len(sp.values))
		sp.index[v] = i
		sp.values = append(sp.values, v)
		sp.counts = append(sp.counts, 0)
		sp.desired = append(sp.desired, -1)
		sp.live = append(sp.live, 0)
	}
	return i
}

func (sp *spreadSpec) nodeValue(node *structs.Node) int32 {
	if node == nil {
		return -1
	}
	v, ok := resolveTarget(node, sp.attribute)
	if !ok {
		return -1
	}
	return sp.value(v)
}

// valueOf returns the value index of nu for sp: from the candidates' table,
// or looked up for a node that is not a candidate (one running an allocation
// of the group in another datacenter, say).
func (sp *spreadSpec) valueOf(nu *nodeUsage, usage *planUsage) int32 {
	if nu.cand > 0 {
		return sp.nodeVal[nu.cand-1]
	}
	return sp.nodeValue(usage.state.NodeByID(nu.id))
}

// add records delta allocations of the group on nu.
func (s *spreadScorer) add(nu *nodeUsage, usage *planUsage, delta int) {
	for _, sp := range s.specs {
		v := sp.valueOf(nu, usage)
		if v < 0 {
			continue
		}
		sp.counts[v] += delta
		if sp.targeted && sp.desired[v] < 0 {
			sp.restUsed += delta
		}
	}
}

// valueScore is sp's score of value v, in [-1, 1]; lo and hi are the even
// spread's least and most used counts.
func (sp *spreadSpec) valueScore(v int32, lo, hi int) float64 {
	if v < 0 {
		return -1
	}
	if sp.targeted {
		want, used := sp.desired[v], float64(sp.counts[v])
		if want < 0 {
			want, used = sp.restDesired, float64(sp.restUsed)
		}
		if want <= 0 {
			return -1
		}
		return max((want-used)/want, -1)
	}
	if hi == lo {
		return 0
	}
	return 1 - 2*float64(sp.counts[v]-lo)/float64(hi-lo)
}

// bounds returns the least and most used counts among sp's values that still
// have candidates (for the primary) or that were seen at all (other specs).
func (sp *spreadSpec) bounds(primary bool) (lo, hi int) {
	first := true
	for v, c := range sp.counts {
		if primary && sp.live[v] == 0 {
			continue
		}
		if first {
			lo, hi, first = c, c, false
			continue
		}
		lo, hi = min(lo, c), max(hi, c)
	}
	return lo, hi
}

// spreadPass is the scorer's view for one placement: the bounds of each spec.
type spreadPass struct {
	s      *spreadScorer
	lo, hi []int
}

// prepare computes, once per placement, each spec's bounds and the buckets'
// primary scores, which order walk.
func (s *spreadScorer) prepare(pass *spreadPass) {
	pass.s = s
	pass.lo, pass.hi = pass.lo[:0], pass.hi[:0]
	pi := 0
	for i, sp := range s.specs {
		lo, hi := sp.bounds(sp == s.primary)
		pass.lo, pass.hi = append(pass.lo, lo), append(pass.hi, hi)
		if sp == s.primary {
			pi = i
		}
	}
	for _, b := range s.buckets {
		b.score = s.primary.valueScore(b.val, pass.lo[pi], pass.hi[pi])
	}
}

func (p *spreadPass) name() string { return scoreSpread }

func (p *spreadPass) score(nu *nodeUsage) (float64, bool) {
	var total float64
	for i, sp := range p.s.specs {
		total += sp.weight * sp.valueScore(sp.nodeVal[nu.cand-1], p.lo[i], p.hi[i])
	}
	return total, true
}

// walk visits the candidates best primary value first (ties in bucket
// order), each bucket from where the previous placement left it, until visit
// asks to stop. The next best bucket is found by a linear scan: a placement
// usually visits one or two buckets, so this is cheaper than sorting them.
//
// Filters depend on the node alone (filter.feasible sees only the node), so
// a node visit reports infeasible is dropped for the rest of the evaluation,
// and a node that passed them is not filtered again: visit is told so.
func (s *spreadScorer) walk(visit func(nu *nodeUsage, knownFeasible bool) (filteredBy string, stop bool)) {
	p := s.primary
	s.pass++
	for {
		var b *spreadBucket
		for _, c := range s.buckets {
			if c.seen != s.pass && len(c.nodes) > 0 && (b == nil || c.score > b.score) {
				b = c
			}
		}
		if b == nil {
			return
		}
		b.seen = s.pass
		for n := len(b.nodes); n > 0; n-- {
			if b.cursor >= len(b.nodes) {
				b.cursor = 0
			}
			nu := b.nodes[b.cursor]
			reason, stop := visit(nu, s.feasible[nu.cand-1])
			if reason != "" {
				s.pruned[reason]++
				last := len(b.nodes) - 1
				b.nodes[b.cursor] = b.nodes[last]
				b.nodes = b.nodes[:last]
				if b.val >= 0 {
					p.live[b.val]--
				}
			} else {
				s.feasible[nu.cand-1] = true
				b.cursor++
			}
			if stop {
				return
			}
		}
	}
}

// explainPruned adds to m, the metric of a placement that failed, the
// candidates dropped as infeasible by earlier placements: m then counts every
// candidate, as a failure explanation must. prunedNow are those this
// placement dropped itself (already in m).
func (s *spreadScorer) explainPruned(m *structs.AllocMetric, prunedNow int) {
	total := 0
	for reason, n := range s.pruned {
		total += n
		if m.ConstraintFiltered == nil {
			m.ConstraintFiltered = map[string]int{}
		}
		m.ConstraintFiltered[reason] = n
	}
	m.NodesEvaluated += total - prunedNow
	m.NodesFiltered = total
}

// spreadFitScore is the fit score of the spread scheduler algorithm, in
// [0, 1]: the mirror of bin-packing's, highest on the emptiest node.
// (10^freeCPU + 10^freeMem - 2) / 18, from the free fractions once used is
// placed.
func spreadFitScore(node *structs.Node, used structs.ComparableResources) float64 {
	total := node.Comparable()
	if total.CPU <= 0 || total.MemoryMB <= 0 {
		return 0
	}
	freeCPU := 1 - float64(used.CPU)/float64(total.CPU)
	freeMem := 1 - float64(used.MemoryMB)/float64(total.MemoryMB)
	score := math.Exp(freeCPU*math.Ln10) + math.Exp(freeMem*math.Ln10) - 2
	return math.Max(0, math.Min(18, score)) / binPackMaxScore
}
