package server

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/orch-io/orch/structs"
)

// BenchmarkDrain50ServiceAllocs is the figure: the drain of a node
// holding 50 service allocations (migrate max_parallel 10, min_healthy_time
// 1s) onto an empty node, with a real server (Raft, workers, drain loop) and
// clients played through the RPCs (runFakeClient). One op is one drain, from
// the request to the drain complete.
func BenchmarkDrain50ServiceAllocs(b *testing.B) {
	var total time.Duration
	for range b.N {
		b.StopTimer()
		s := startServer(b, testConfig(b.TempDir()))
		ctx, cancel := context.WithCancel(context.Background())
		a, other := testNode(), testNode()
		if err := s.RPC(ctx, "Node.Register", &structs.NodeRegisterRequest{Node: a}, &structs.NodeUpdateResponse{}); err != nil {
			b.Fatal(err)
		}
		go runFakeClient(ctx, []*Server{s}, a)
		job := testJob("web", 50, 32)
		job.TaskGroups[0].Tasks[0].Resources.CPU = 20
		job.TaskGroups[0].Migrate = &structs.MigrateStrategy{MaxParallel: 10, HealthCheck: structs.MigrateHealthTaskStates,
			MinHealthyTime: time.Second, HealthyDeadline: time.Minute}
		if err := s.RPC(ctx, "Job.Register", &structs.JobRegisterRequest{Job: job}, &structs.JobRegisterResponse{}); err != nil {
			b.Fatal(err)
		}
		waitFor(b, 30*time.Second, "50 allocations running", func() bool {
			n := 0
			for _, al := range s.state.Snapshot().AllocsByJob("default", "web") {
				if al.ClientStatus == structs.AllocClientStatusRunning {
					n++
				}
			}
			return n == 50
		})
		if err := s.RPC(ctx, "Node.Register", &structs.NodeRegisterRequest{Node: other}, &structs.NodeUpdateResponse{}); err != nil {
			b.Fatal(err)
		}
		go runFakeClient(ctx, []*Server{s}, other)
		b.StartTimer()

		start := time.Now()
		if err := s.RPC(ctx, "Node.UpdateDrain", &structs.NodeUpdateDrainRequest{NodeID: a.ID,
			DrainStrategy: &structs.DrainStrategy{}}, &structs.NodeDrainUpdateResponse{}); err != nil {
			b.Fatal(err)
		}
		waitFor(b, time.Minute, "the drain complete", func() bool {
			n := s.state.NodeByID(a.ID)
			return n.LastDrain != nil && n.LastDrain.Status == structs.DrainStatusComplete
		})
		total += time.Since(start)
		b.StopTimer()
		cancel()
		s.Shutdown()
	}
	fmt.Printf("FIGURE name=drain_50_allocs_max_parallel_10 value=%.2f unit=s\n", total.Seconds()/float64(b.N))
}
