package scheduler

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/orch-io/orch/server/state"
	"github.com/orch-io/orch/structs"
)

// acceptAll is a Planner that accepts every plan whole and commits nothing:
// the benchmark measures the scheduler alone.
type acceptAll struct{ placed int }

func (p *acceptAll) SubmitPlan(plan *structs.Plan) (*structs.PlanResult, State, error) {
	for _, allocs := range plan.NodeAllocation {
		p.placed += len(allocs)
	}
	return &structs.PlanResult{NodeAllocation: plan.NodeAllocation, NodeUpdate: plan.NodeUpdate, AllocIndex: 1}, nil, nil
}
func (p *acceptAll) UpdateEval(*structs.Evaluation) error { return nil }
func (p *acceptAll) CreateEval(*structs.Evaluation) error { return nil }

// BenchmarkServiceCount1000On5000Nodes: one op is one evaluation of a
// count-1000 service job (100 MHz, 256 MB each) processed from a snapshot of
// 5,000 empty nodes (4000 MHz, 8192 MB, one datacenter) to a complete plan.
func BenchmarkServiceCount1000On5000Nodes(b *testing.B) {
	store := state.NewStateStore()
	var index uint64
	next := func() uint64 { index++; return index }
	for i := range 5000 {
		n := mockNode(fmt.Sprintf("n%05d", i)).CPU(4000).Mem(8192).Build()
		n.ID = fmt.Sprintf("%08x-0000-4000-8000-000000000000", i)
		n.ComputeClass() // as the server does on register
		if err := store.UpsertNode(next(), n); err != nil {
			b.Fatal(err)
		}
	}
	job := mockJob().Count(1000).CPU(100).Mem(256).Build()
	if err := store.UpsertJob(next(), job); err != nil {
		b.Fatal(err)
	}
	eval := &structs.Evaluation{
		ID: "bench-eval", Namespace: "default", Priority: 50, Type: structs.JobTypeService,
		TriggeredBy: structs.EvalTriggerJobRegister, JobID: job.ID, Status: structs.EvalStatusPending,
	}
	snap := store.Snapshot()

	planner := &acceptAll{}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		s, err := New(structs.JobTypeService, Config{
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
	if planner.placed != 1000*b.N {
		b.Fatalf("placed %d allocations in %d ops, want 1000 per op", planner.placed, b.N)
	}
	b.ReportMetric(float64(planner.placed)/b.Elapsed().Seconds(), "placements/s")
}
