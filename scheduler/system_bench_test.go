package scheduler

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/orch-io/orch/server/state"
	"github.com/orch-io/orch/structs"
)

// countingPlanner accepts every plan whole and commits nothing, counting the
// placements: the benchmark measures the scheduler alone.
type countingPlanner struct{ placed int }

func (p *countingPlanner) SubmitPlan(plan *structs.Plan) (*structs.PlanResult, State, error) {
	for _, allocs := range plan.NodeAllocation {
		p.placed += len(allocs)
	}
	return &structs.PlanResult{NodeAllocation: plan.NodeAllocation, NodeUpdate: plan.NodeUpdate, AllocIndex: 1}, nil, nil
}
func (p *countingPlanner) UpdateEval(*structs.Evaluation) error { return nil }
func (p *countingPlanner) CreateEval(*structs.Evaluation) error { return nil }

// BenchmarkSystem5kNodes: one op is one evaluation of a system job (cpu 100,
// memory 128) processed from a snapshot of 5,000 empty nodes to a complete
// plan placing one allocation on each. The nodes are the shape: two
// datacenters (dc-1, dc-2), 14,000 MHz, 32,000 MB, 100 GB disk, meta.rack =
// r<i mod 50>.
func BenchmarkSystem5kNodes(b *testing.B) {
	const nodes = 5000
	store := state.NewStateStore()
	var index uint64
	next := func() uint64 { index++; return index }
	for i := range nodes {
		n := mockNode(fmt.Sprintf("n%05d", i)).CPU(14_000).Mem(32_000).Disk(100_000).
			DC(fmt.Sprintf("dc-%d", i%2+1)).Meta("rack", fmt.Sprintf("r%d", i%50)).Build()
		n.ID = fmt.Sprintf("%08x-0000-4000-8000-000000000000", i)
		if err := store.UpsertNode(next(), n); err != nil {
			b.Fatal(err)
		}
	}
	job := mockJob().DCs("dc-1", "dc-2").CPU(100).Mem(128).Build()
	job.Type = structs.JobTypeSystem
	if err := store.UpsertJob(next(), job); err != nil {
		b.Fatal(err)
	}
	eval := &structs.Evaluation{
		ID: "bench-eval", Namespace: "default", Priority: 50, Type: structs.JobTypeSystem,
		TriggeredBy: structs.EvalTriggerJobRegister, JobID: job.ID, Status: structs.EvalStatusPending,
	}
	snap := store.Snapshot()

	planner := &countingPlanner{}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		s, err := New(structs.JobTypeSystem, Config{
			State: snap, Planner: planner, Now: testNow, Rand: rand.New(rand.NewPCG(uint64(i), 1)),
		})
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Process(eval); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if planner.placed != nodes*b.N {
		b.Fatalf("placed %d allocations in %d ops, want %d per op", planner.placed, b.N, nodes)
	}
	b.ReportMetric(b.Elapsed().Seconds()*1000/float64(b.N), "ms/op")
	b.ReportMetric(float64(planner.placed)/b.Elapsed().Seconds(), "placements/s")
}
