package scheduler

import (
	"math/rand/v2"

	"github.com/orch-io/orch/structs"
)

// nodeSource is the first stage of placement: the candidate nodes of one
// evaluation — ready, eligible nodes in the job's datacenters — shuffled once
// with the seeded rand and then visited round-robin across placements. Each
// placement starts where the previous one stopped, which spreads both the work
// and the allocations over the cluster.
type nodeSource struct {
	nodes []*nodeUsage
	next  int
	// available counts the candidates per datacenter (AllocMetric.NodesAvailable).
	available map[string]int
}

// newNodeSource lists the candidates in state for datacenters (glob patterns
// where * matches any run of characters; none means all) and the node pool
// pool ("all" means any), with their usage records in usage.
func newNodeSource(state State, datacenters []string, pool string, r *rand.Rand, usage *planUsage) *nodeSource {
	s := &nodeSource{available: map[string]int{}}
	all := state.Nodes("")
	ready := all[:0] // filter in place: the slice is ours
	for _, n := range all {
		if !n.Ready() || !matchAnyDatacenter(datacenters, n.Datacenter) || !inPool(pool, n) {
			continue
		}
		ready = append(ready, n)
		s.available[n.Datacenter]++
	}
	r.Shuffle(len(ready), func(i, j int) { ready[i], ready[j] = ready[j], ready[i] })
	s.nodes = usage.candidates(ready)
	return s
}

// len returns the number of candidates.
func (s *nodeSource) len() int { return len(s.nodes) }

// nextNode returns the next candidate, wrapping around. There must be one.
func (s *nodeSource) nextNode() *nodeUsage {
	n := s.nodes[s.next]
	s.next++
	if s.next == len(s.nodes) {
		s.next = 0
	}
	return n
}

// inPool reports whether node is in pool: pool "all" holds every node, ""
// is "default" (a job not canonicalized).
func inPool(pool string, node *structs.Node) bool {
	if pool == "" {
		pool = structs.NodePoolDefault
	}
	return pool == structs.NodePoolAll || node.Pool() == pool
}

func matchAnyDatacenter(patterns []string, dc string) bool {
	if len(patterns) == 0 {
		return true
	}
	for _, p := range patterns {
		if globMatch(p, dc) {
			return true
		}
	}
	return false
}

// globMatch reports whether s matches pattern, where * matches any run of
// characters (including none) and every other character matches itself.
// Unlike path.Match it has no malformed patterns, so it cannot fail.
func globMatch(pattern, s string) bool {
	p, i := 0, 0
	star, mark := -1, 0 // position of the last * in pattern, and where in s it started matching
	for i < len(s) {
		switch {
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case p < len(pattern) && pattern[p] == s[i]:
			p++
			i++
		case star >= 0: // let the last * swallow one more character
			mark++
			p, i = star+1, mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}
