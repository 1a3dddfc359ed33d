package server

import (
	"fmt"
	"testing"
	"time"

	"github.com/orch-io/orch/structs"
)

// BenchmarkClusterNodesDown measures how fast a three-server cluster (real
// Raft on disk, in one process) reschedules what lost nodes ran: 200 nodes
// run 50 jobs of 20 allocations; one op marks 4 nodes holding allocations
// down in one entry (as the heartbeat timers do) and waits until every
// evaluation it made is terminal, its replacements committed. It reports the
// evaluations per op and evals/s: each one is a small plan and its status,
// two Raft commits, so the figure is about commit latency, not CPU.
func BenchmarkClusterNodesDown(b *testing.B) {
	leader := leaderOf(startLANCluster(b, 3))
	ctx := b.Context()
	for range 200 {
		var resp structs.NodeUpdateResponse
		if err := leader.RPC(ctx, "Node.Register", &structs.NodeRegisterRequest{Node: testNode()}, &resp); err != nil {
			b.Fatal(err)
		}
	}
	const jobs, count = 50, 20
	for i := range jobs {
		var resp structs.JobRegisterResponse
		if err := leader.RPC(ctx, "Job.Register", &structs.JobRegisterRequest{Job: testJob(fmt.Sprintf("down-%02d", i), count, 64)}, &resp); err != nil {
			b.Fatal(err)
		}
	}
	live := func() int {
		n := 0
		for _, a := range leader.state.Snapshot().Allocs("") {
			if !a.TerminalStatus() && a.DesiredStatus == structs.AllocDesiredStatusRun {
				n++
			}
		}
		return n
	}
	waitFor(b, time.Minute, "every allocation placed", func() bool { return live() == jobs*count })
	down := map[string]bool{}
	var evals int
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		var batch []nodeDown
		for _, a := range leader.state.Snapshot().Allocs("") {
			if len(batch) < 4 && !down[a.NodeID] && !a.TerminalStatus() {
				down[a.NodeID] = true
				batch = append(batch, nodeDown{id: a.NodeID, why: "benchmark"})
			}
		}
		if len(batch) < 4 {
			b.Fatal("out of nodes with allocations: lower -benchtime")
		}
		b.StartTimer()
		_, index, err := leader.commitNodesDown(batch)
		if err != nil {
			b.Fatal(err)
		}
		var made []string
		for _, e := range leader.state.Snapshot().Evals("") {
			if e.CreateIndex == index {
				made = append(made, e.ID)
			}
		}
		evals += len(made)
		waitFor(b, time.Minute, "the node-down evaluations terminal", func() bool {
			snap := leader.state.Snapshot()
			for _, id := range made {
				if e := snap.EvalByID(id); e == nil || !e.TerminalStatus() {
					return false
				}
			}
			return live() == jobs*count
		})
	}
	b.ReportMetric(float64(evals)/float64(b.N), "evals/op")
	b.ReportMetric(float64(evals)/b.Elapsed().Seconds(), "evals/s")
}
