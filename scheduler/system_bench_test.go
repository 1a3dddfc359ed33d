package scheduler

import (
	"testing"

	"github.com/orch-io/orch/structs"
)

// BenchmarkSystem5kNodes: one op is one evaluation of a system job (cpu 100,
// memory 128) processed from a snapshot of 5,000 empty nodes of the issue's
// shape (benchNodes) to a complete plan placing one allocation on each.
func BenchmarkSystem5kNodes(b *testing.B) {
	const nodes = 5000
	job := mockJob().DCs("dc-1", "dc-2").CPU(100).Mem(128).Build()
	job.Type = structs.JobTypeSystem
	placed := runPlacementBench(b, benchCluster(b, nodes), job)
	if placed != nodes*b.N {
		b.Fatalf("placed %d allocations in %d ops, want %d per op", placed, b.N, nodes)
	}
	b.ReportMetric(b.Elapsed().Seconds()*1000/float64(b.N), "ms/op")
}
