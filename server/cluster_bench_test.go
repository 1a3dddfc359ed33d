package server

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/orch-io/orch/internal/tlsutil/tlstest"
	"github.com/orch-io/orch/internal/tracing"
	"github.com/orch-io/orch/internal/tracing/tracingtest"
	"github.com/orch-io/orch/structs"
)

// BenchmarkClusterJobRegister64 measures job registrations committed per
// second by a three-server cluster (real Raft on disk, in one process) with
// 64 concurrent writers calling Job.Register on the leader. Jobs have count
// 0, so the schedulers add an evaluation each and place nothing.
func BenchmarkClusterJobRegister64(b *testing.B) {
	benchJobRegister64(b, startLANCluster(b, 3), nil)
}

// startLANCluster starts n servers in this process with the production Raft
// timings (lanTimings).
func startLANCluster(b *testing.B, n int) []*Server {
	cfgs := make([]Config, n)
	for i := range cfgs {
		cfgs[i] = testConfig(b.TempDir())
	}
	return startClusterOf(b, lanTimings(cfgs)...)
}

// BenchmarkClusterJobRegister64Traced is BenchmarkClusterJobRegister64
// with tracing on and every registration in a sampled trace of its own: the
// servers record their RPC, Raft apply, broker, scheduler and plan spans and
// export them over OTLP/HTTP to an in-process receiver.
func BenchmarkClusterJobRegister64Traced(b *testing.B) {
	rcv := tracingtest.NewReceiver(b)
	tracer, err := tracing.New(tracing.Config{Endpoint: rcv.Endpoint(), InstanceID: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = tracer.Shutdown(context.Background()) })
	cfgs := make([]Config, 3)
	for i := range cfgs {
		cfgs[i] = testConfig(b.TempDir())
		cfgs[i].Tracer = tracer
	}
	benchJobRegister64(b, startClusterOf(b, lanTimings(cfgs)...), tracer)
}

// BenchmarkClusterJobRegister64TLS is BenchmarkClusterJobRegister64 with
// mutual TLS on the RPC port: Raft replication runs inside TLS.
func BenchmarkClusterJobRegister64TLS(b *testing.B) {
	benchJobRegister64(b, startClusterOf(b, lanTimings(tlsConfigs(b, tlstest.NewCA(b), 3))...), nil)
}

// lanTimings gives cfgs the production Raft timings (not dev mode's), so
// that a loaded machine does not cost the benchmark its leader.
func lanTimings(cfgs []Config) []Config {
	for i := range cfgs {
		cfgs[i].DevMode = false
	}
	return cfgs
}

// benchJobRegister64 registers b.N jobs on the leader of servers from 64
// concurrent writers and reports commits per second. With tracer, each
// registration is the root span of a trace of its own.
func benchJobRegister64(b *testing.B, servers []*Server, tracer *tracing.Tracer) {
	leader := leaderOf(servers)
	const writers = 64
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	b.ResetTimer()
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					return
				}
				job := testJob(fmt.Sprintf("bench-%d", i), 0, 64)
				var resp structs.JobRegisterResponse
				ctx, span := tracer.Start(b.Context(), "bench register")
				err := leader.RPC(ctx, "Job.Register", &structs.JobRegisterRequest{Job: job}, &resp)
				span.End()
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "commits/s")
}
