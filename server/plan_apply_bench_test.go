package server

import (
	"testing"

	"github.com/orch-io/orch/structs"
)

// BenchmarkPlanApply1k measures the plan applier verifying and committing a
// 1,000-allocation plan (10 allocations on each of 100 nodes) through a real
// single-voter Raft on disk. Each op gets 100 fresh nodes, written straight
// through Raft with the timer stopped (no heartbeat timers, so nothing else
// runs), so every op checks the same amount of state.
func BenchmarkPlanApply1k(b *testing.B) {
	s := startServer(b, testConfig(b.TempDir()))
	job := testJob("bench", 1000, 64)
	job.Canonicalize()
	const nodes, perNode = 100, 10

	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		plan := &structs.Plan{EvalID: structs.GenerateUUID(), Priority: job.Priority, Job: job}
		for n := 0; n < nodes; n++ {
			node := testNode()
			node.Status = structs.NodeStatusReady
			if _, err := s.raftApply(MsgNodeRegister, &NodeRegisterEntry{Node: node}); err != nil {
				b.Fatal(err)
			}
			for k := 0; k < perNode; k++ {
				plan.AppendAlloc(&structs.Allocation{
					ID: structs.GenerateUUID(), Namespace: job.Namespace, EvalID: plan.EvalID,
					Name: structs.AllocName(job.ID, "web", n*perNode+k), NodeID: node.ID, NodeName: node.Name,
					JobID: job.ID, Job: job, TaskGroup: "web",
					AllocatedResources: &structs.AllocatedResources{
						Tasks:  map[string]*structs.Resources{"server": {CPU: 100, MemoryMB: 64}},
						Shared: structs.AllocatedSharedResources{DiskMB: 100},
					},
					DesiredStatus: structs.AllocDesiredStatusRun, ClientStatus: structs.AllocClientStatusPending,
				})
			}
		}
		b.StartTimer()
		result, err := s.applyPlan(plan)
		if err != nil {
			b.Fatal(err)
		}
		if full, want, got := result.FullCommit(plan); !full {
			b.Fatalf("plan partly rejected: committed %d of %d allocations", got, want)
		}
	}
	b.ReportMetric(float64(b.N*nodes*perNode)/b.Elapsed().Seconds(), "allocs/s")
}
