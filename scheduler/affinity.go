package scheduler

import (
	"math"

	"github.com/orch-io/orch/structs"
)

// scoreNodeAffinity names the affinity score in AllocMetric.ScoreMetaData, as in Nomad.
const scoreNodeAffinity = "node-affinity"

// affinitySample is the least number of feasible nodes a placement looks at
// when the group has affinities: a node's affinity does not show in how it
// is visited, so the sample is wider than log2(N) to find the preferred ones.
const affinitySample = 64

// nodeAffinity scores nodes by the affinities of the job, the group and the
// group's tasks (Nomad's `affinity`): the sum of the weights of those the node
// matches over the sum of all weights' magnitudes, in [-1, 1]. A node that
// matches none has no affinity score (the stage does not apply). An affinity
// matches as a constraint with the same attribute, operator and value would.
//
// The score depends on the node alone, so it is computed once per candidate
// and evaluation.
type nodeAffinity struct {
	affinities []*structs.Constraint
	weights    []float64
	total      float64   // Σ |weight|
	cache      []float64 // by nodeUsage.cand-1; NaN until computed
}

// newNodeAffinity returns the affinity stage of tg, or nil when it has no
// affinities. candidates is the number of candidate nodes.
func newNodeAffinity(job *structs.Job, tg *structs.TaskGroup, candidates int) *nodeAffinity {
	a := &nodeAffinity{}
	add := func(as []*structs.Affinity) {
		for _, aff := range as {
			op, _ := structs.NormalizeConstraintOperand(aff.Operand)
			a.affinities = append(a.affinities, &structs.Constraint{LTarget: aff.LTarget, Operand: op, RTarget: aff.RTarget})
			a.weights = append(a.weights, float64(aff.Weight))
			a.total += math.Abs(float64(aff.Weight))
		}
	}
	add(job.Affinities)
	add(tg.Affinities)
	for _, t := range tg.Tasks {
		add(t.Affinities)
	}
	if a.total == 0 {
		return nil
	}
	a.cache = make([]float64, candidates)
	for i := range a.cache {
		a.cache[i] = math.NaN()
	}
	return a
}

func (a *nodeAffinity) name() string { return scoreNodeAffinity }

func (a *nodeAffinity) score(nu *nodeUsage) (float64, bool) {
	if nu.cand == 0 {
		s := a.compute(nu.node)
		return s, s != 0
	}
	s := a.cache[nu.cand-1]
	if math.IsNaN(s) {
		s = a.compute(nu.node)
		a.cache[nu.cand-1] = s
	}
	return s, s != 0
}

func (a *nodeAffinity) compute(node *structs.Node) float64 {
	var sum float64
	for i, c := range a.affinities {
		if checkConstraint(node, c) {
			sum += a.weights[i]
		}
	}
	return sum / a.total
}
