package scheduler

import (
	"testing"

	"github.com/orch-io/orch/structs"
)

func TestFailureSummary(t *testing.T) {
	for _, tc := range []struct {
		count, failed int
		m             *structs.AllocMetric
		want          string
	}{
		{3, 2, &structs.AllocMetric{NodesEvaluated: 1, NodesExhausted: 1, DimensionExhausted: map[string]int{"memory": 1}},
			"could not place 2 of 3 allocations of group web: memory exhausted on 1 node"},
		{1, 1, nil,
			"could not place 1 of 1 allocation of group web: no ready nodes in the job's datacenters"},
		{5, 5, &structs.AllocMetric{
			NodesEvaluated: 10, NodesFiltered: 6, NodesExhausted: 4,
			ConstraintFiltered: map[string]int{"${attr.kernel.name} = linux": 2, filterMissingDrivers: 4},
			DimensionExhausted: map[string]int{"cpu": 2, "memory": 2},
		}, `could not place 5 of 5 allocations of group web: missing drivers on 4 nodes, constraint "${attr.kernel.name} = linux" filtered 2 nodes, cpu exhausted on 2 nodes, memory exhausted on 2 nodes`},
		{2, 1, &structs.AllocMetric{NodesEvaluated: 3},
			"could not place 1 of 2 allocations of group web: none of 3 nodes evaluated was feasible"},
	} {
		if got := FailureSummary("web", tc.count, tc.failed, tc.m); got != tc.want {
			t.Errorf("\n got %q\nwant %q", got, tc.want)
		}
	}
}
