package server

import (
	"testing"
	"time"

	"github.com/orch-io/orch/internal/clock/clocktest"
	"github.com/orch-io/orch/structs"
)

// BenchmarkPeriodicLaunch measures what the leader's launcher does per
// launch: decide (decidePeriodic over the job and its launch record) and
// commit the JobLaunch entry through Raft (one server, on disk), with the
// launch loop itself parked on a fake clock that never advances.
func BenchmarkPeriodicLaunch(b *testing.B) {
	clk := clocktest.NewFake()
	cfg := testConfig(b.TempDir())
	cfg.Clock = clk
	s := startServer(b, cfg)
	job := periodicJob("bench", "* * * * *")
	var resp structs.JobRegisterResponse
	if err := s.RPC(b.Context(), "Job.Register", &structs.JobRegisterRequest{Job: job}, &resp); err != nil {
		b.Fatal(err)
	}
	stored := s.state.JobByID("default", "bench")
	now := clk.Now()
	b.ResetTimer()
	for b.Loop() {
		snap := s.state.Snapshot()
		last := snap.PeriodicLaunch("default", "bench")
		now = now.Add(time.Minute)
		d := decidePeriodic(stored, last, now)
		if d.Launch.IsZero() {
			b.Fatalf("nothing due at %v (last %+v)", now, last)
		}
		out, err := s.launchPeriodic(b.Context(), snap, stored, d.Launch, false)
		if err != nil || out.EvalID == "" {
			b.Fatalf("launch: %+v %v", out, err)
		}
	}
}
