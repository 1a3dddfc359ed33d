package server

import (
	"context"
	"fmt"
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

// BenchmarkPlanApplyConcurrent8 measures 8 plans of 125 allocations (on
// distinct nodes, 5 per node) submitted at once, through a real single-voter
// Raft on disk. /serial checks and commits one plan after the other (the
// applier before overlap); /overlapped-window1 runs the plan applier with one
// commit in flight (the next plan is checked while the previous one commits,
// as in Nomad); /overlapped-window4 with up to four in flight (the
// applier's setting), which Raft writes with fewer disk syncs.
func BenchmarkPlanApplyConcurrent8(b *testing.B) {
	const plans, nodesPerPlan, perNode = 8, 25, 5
	setup := func(b *testing.B, s *Server, job *structs.Job) []*structs.Plan {
		out := make([]*structs.Plan, plans)
		for i := range out {
			nodes := make([]*structs.Node, 0, nodesPerPlan*perNode)
			for range nodesPerPlan {
				n := readyNode(b, s)
				for range perNode {
					nodes = append(nodes, n)
				}
			}
			out[i] = memPlan(job, 64, nodes...)
		}
		return out
	}
	check := func(b *testing.B, p *structs.Plan, r *structs.PlanResult, err error) {
		if err != nil {
			b.Fatal(err)
		}
		if full, want, got := r.FullCommit(p); !full {
			b.Fatalf("plan partly rejected: committed %d of %d allocations", got, want)
		}
	}
	b.Run("serial", func(b *testing.B) {
		s := startServer(b, testConfig(b.TempDir()))
		job := testJob("bench", plans*nodesPerPlan*perNode, 64)
		job.Canonicalize()
		for b.Loop() {
			b.StopTimer()
			ps := setup(b, s, job)
			b.StartTimer()
			for _, p := range ps {
				r, err := s.applyPlan(p)
				check(b, p, r, err)
			}
		}
		b.ReportMetric(float64(b.N*plans*nodesPerPlan*perNode)/b.Elapsed().Seconds(), "allocs/s")
	})
	for _, window := range []int{1, planApplyWindow} {
		b.Run(fmt.Sprintf("overlapped-window%d", window), func(b *testing.B) {
			s := startServer(b, testConfig(b.TempDir()))
			job := testJob("bench", plans*nodesPerPlan*perNode, 64)
			job.Canonicalize()
			q := newPlanQueue()
			q.SetEnabled(true)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() {
				defer close(done)
				s.runPlanApplier(ctx, q, window)
			}()
			defer func() { cancel(); <-done }()
			for b.Loop() {
				b.StopTimer()
				ps := setup(b, s, job)
				b.StartTimer()
				pendings := make([]*pendingPlan, len(ps))
				for i, p := range ps {
					var err error
					if pendings[i], err = q.Enqueue(p); err != nil {
						b.Fatal(err)
					}
				}
				for i, p := range pendings {
					r, err := p.Wait(ctx)
					check(b, ps[i], r, err)
				}
			}
			b.ReportMetric(float64(b.N*plans*nodesPerPlan*perNode)/b.Elapsed().Seconds(), "allocs/s")
		})
	}
}
