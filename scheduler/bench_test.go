package scheduler

import (
	"fmt"
	"math/rand/v2"
	"strings"
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
	nodes := plainNodes(5000)
	for _, n := range nodes {
		n.ComputeClass() // as the server does on register
	}
	placed := runPlacementBench(b, storeOf(b, nodes), mockJob().Count(1000).CPU(100).Mem(256).Build())
	if placed != 1000*b.N {
		b.Fatalf("placed %d allocations in %d ops, want 1000 per op", placed, b.N)
	}
}

// plainNodes returns n nodes of 4000 MHz and 8192 MB in one datacenter,
// with IDs in order.
func plainNodes(n int) []*structs.Node {
	nodes := make([]*structs.Node, n)
	for i := range nodes {
		nodes[i] = mockNode(fmt.Sprintf("n%05d", i)).CPU(4000).Mem(8192).Build()
		nodes[i].ID = fmt.Sprintf("%08x-0000-4000-8000-000000000000", i)
	}
	return nodes
}

// The benchmarks (keep the names): one op is one evaluation of one
// job, from a state snapshot to a complete plan that is not committed;
// placements/s is the allocations placed per op over the time per op. The
// cluster is the shape of Nomad's own scheduler benchmark: nodes of 14,000
// MHz, 32,000 MB and 100 GB in dc-1 and dc-2, meta.rack = r<i mod 50>; the
// job (count 1,200, 6,000 MHz and 6,000 MB each) may only use racks r0..r24.

const (
	benchRacks       = 50
	benchEligible    = 25 // racks r0..r24 are eligible
	benchCount       = 1200
	benchAllocCPU    = 6000
	benchAllocMemory = 6000
)

// benchNodes builds n nodes of the benchmark shape, with their computed
// class as the server gives it on registration.
func benchNodes(n int) []*structs.Node {
	out := make([]*structs.Node, n)
	for i := range n {
		dc := "dc-1"
		if i >= n/2 {
			dc = "dc-2"
		}
		rack := i % benchRacks
		b := mockNode(fmt.Sprintf("node-%05d", i)).DC(dc).CPU(14_000).Mem(32_000).Disk(100_000).
			Meta("rack", fmt.Sprintf("r%d", rack))
		out[i] = b.Build()
		out[i].ID = fmt.Sprintf("%08x-0000-4000-8000-000000000000", i)
		out[i].ComputeClass()
	}
	return out
}

// benchCluster returns a state store holding benchNodes(n).
func benchCluster(tb testing.TB, n int) *state.StateStore { return storeOf(tb, benchNodes(n)) }

// storeOf returns a state store holding nodes.
func storeOf(tb testing.TB, nodes []*structs.Node) *state.StateStore {
	tb.Helper()
	store := state.NewStateStore()
	for i, node := range nodes {
		if err := store.UpsertNode(uint64(i+1), node); err != nil {
			tb.Fatal(err)
		}
	}
	return store
}

// benchJob is the benchmark's job: count allocations of 6,000 MHz and
// 6,000 MB on racks r0..r24, spread over ${meta.rack} when spread is set.
func benchJob(jobType structs.JobType, count int, spread bool) *structs.Job {
	b := mockJob().ID("bench").DCs("dc-1", "dc-2").Count(count).CPU(benchAllocCPU).Mem(benchAllocMemory).
		Constraint("${meta.rack}", structs.ConstraintSetContainsAny, strings.Join(eligibleRacks(), ","))
	if jobType == structs.JobTypeBatch {
		b.Batch()
	}
	if spread {
		b.Spread("${meta.rack}", 50)
	}
	return b.Build()
}

// runPlacementBench registers job in store, then processes an evaluation of
// it from one snapshot b.N times (one op: snapshot to complete plan, nothing
// committed). It reports placed/op and placements/s, and returns the
// allocations placed over all ops.
func runPlacementBench(b *testing.B, store *state.StateStore, job *structs.Job) int {
	if err := store.UpsertJob(store.Snapshot().LatestIndex()+1, job); err != nil {
		b.Fatal(err)
	}
	eval := &structs.Evaluation{
		ID: "bench-eval", Namespace: "default", Priority: 50, Type: job.Type,
		TriggeredBy: structs.EvalTriggerJobRegister, JobID: job.ID, Status: structs.EvalStatusPending,
	}
	snap := store.Snapshot()
	planner := &acceptAll{}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		s, err := New(job.Type, Config{
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
	if planner.placed == 0 {
		b.Fatal("placed nothing")
	}
	b.ReportMetric(float64(planner.placed)/float64(b.N), "placed/op")
	b.ReportMetric(float64(planner.placed)/b.Elapsed().Seconds(), "placements/s")
	return planner.placed
}

func benchService(b *testing.B, nodes int) {
	store := benchCluster(b, nodes)
	b.Run("spread", func(b *testing.B) {
		runPlacementBench(b, store, benchJob(structs.JobTypeService, benchCount, true))
	})
	b.Run("nospread", func(b *testing.B) {
		runPlacementBench(b, store, benchJob(structs.JobTypeService, benchCount, false))
	})
}

// BenchmarkService5kNodes: a count-1,200 service job on 5,000 nodes, with
// (/spread) and without (/nospread) a spread over the racks.
func BenchmarkService5kNodes(b *testing.B) { benchService(b, 5000) }

// BenchmarkService500Nodes: the same on 500 nodes, where only 500 of the
// 1,200 allocations fit (250 eligible nodes, 2 allocations each).
func BenchmarkService500Nodes(b *testing.B) { benchService(b, 500) }

// BenchmarkService10kNodes: the same on 10,000 nodes.
func BenchmarkService10kNodes(b *testing.B) { benchService(b, 10_000) }

// BenchmarkBatch5kNodes: the same nodes, a count-1,200 batch job, no spread.
func BenchmarkBatch5kNodes(b *testing.B) {
	runPlacementBench(b, benchCluster(b, 5000), benchJob(structs.JobTypeBatch, benchCount, false))
}
