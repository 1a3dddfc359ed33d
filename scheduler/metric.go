package scheduler

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/orch-io/orch/structs"
)

// newMetric starts the metric of one placement. available (candidates per
// datacenter) is copied.
func newMetric(available map[string]int) *structs.AllocMetric {
	return &structs.AllocMetric{NodesAvailable: maps.Clone(available)}
}

// recordFiltered counts a node a filter rejected, under the filter's reason.
func recordFiltered(m *structs.AllocMetric, reason string) {
	m.NodesFiltered++
	if m.ConstraintFiltered == nil {
		m.ConstraintFiltered = map[string]int{}
	}
	m.ConstraintFiltered[reason]++
}

// recordExhausted counts a node on which the allocation did not fit, under the
// first dimension that ran out and under the node's class.
func recordExhausted(m *structs.AllocMetric, node *structs.Node, dimension string) {
	m.NodesExhausted++
	if m.DimensionExhausted == nil {
		m.DimensionExhausted = map[string]int{}
	}
	m.DimensionExhausted[dimension]++
	if node.NodeClass != "" {
		if m.ClassExhausted == nil {
			m.ClassExhausted = map[string]int{}
		}
		m.ClassExhausted[node.NodeClass]++
	}
}

// blockedClassEligibility merges the class verdicts of the failed groups'
// metrics into a blocked evaluation's ClassEligibility: a computed class is
// false (capacity there cannot help) only when every failed group found it
// infeasible; a class some failed group did not see, or found feasible, is
// true. Nil when no group failed.
func blockedClassEligibility(failed map[string]*structs.AllocMetric) map[string]bool {
	if len(failed) == 0 {
		return nil
	}
	out := map[string]bool{}
	for _, m := range failed {
		for class := range m.ClassEligibility {
			out[class] = false
		}
	}
	for class := range out {
		for _, m := range failed {
			if ok, seen := m.ClassEligibility[class]; !seen || ok {
				out[class] = true
				break
			}
		}
	}
	return out
}

// FailureSummary explains in one line why failed of count allocations of
// group could not be placed, from the metric of the first failed placement
// (Evaluation.FailedTGAllocs[group]; failed is its CoalescedFailures+1):
//
//	could not place 2 of 3 allocations of group web: memory exhausted on 1 node
//
// Reasons are listed most frequent first: constraints and missing drivers
// that filtered nodes, then exhausted resources. Safe on a nil metric.
func FailureSummary(group string, count, failed int, m *structs.AllocMetric) string {
	noun := "allocations"
	if count == 1 {
		noun = "allocation"
	}
	return fmt.Sprintf("could not place %d of %d %s of group %s: %s", failed, count, noun, group, failureReasons(m))
}

// FailureReasons says why no node fitted, from the metric of a failed
// placement: "memory exhausted on 3 nodes", ...
func FailureReasons(m *structs.AllocMetric) string { return failureReasons(m) }

func failureReasons(m *structs.AllocMetric) string {
	if m == nil || m.NodesEvaluated == 0 {
		return "no ready nodes in the job's datacenters"
	}
	var parts []string
	for _, kv := range byCountDesc(m.ConstraintFiltered) {
		if kv.key == filterMissingDrivers {
			parts = append(parts, fmt.Sprintf("%s on %s", kv.key, pluralNodes(kv.count)))
		} else {
			parts = append(parts, fmt.Sprintf("constraint %q filtered %s", kv.key, pluralNodes(kv.count)))
		}
	}
	for _, kv := range byCountDesc(m.DimensionExhausted) {
		parts = append(parts, fmt.Sprintf("%s exhausted on %s", kv.key, pluralNodes(kv.count)))
	}
	if len(parts) == 0 {
		return fmt.Sprintf("none of %s evaluated was feasible", pluralNodes(m.NodesEvaluated))
	}
	return strings.Join(parts, ", ")
}

type keyCount struct {
	key   string
	count int
}

// byCountDesc lists m's entries, highest count first, then by key.
func byCountDesc(m map[string]int) []keyCount {
	out := make([]keyCount, 0, len(m))
	for k, v := range m {
		out = append(out, keyCount{k, v})
	}
	slices.SortFunc(out, func(a, b keyCount) int {
		if c := cmp.Compare(b.count, a.count); c != 0 {
			return c
		}
		return strings.Compare(a.key, b.key)
	})
	return out
}

func pluralNodes(n int) string {
	if n == 1 {
		return "1 node"
	}
	return fmt.Sprintf("%d nodes", n)
}
