package server

import (
	"errors"
	"testing"
	"time"

	"github.com/orch-io/orch/internal/metrics"
)

// BenchmarkMetricsPerWrite is what the metrics add to one job register on
// the leader: the RPC's count and time, the Raft commit's and the FSM
// apply's time, the broker's wait, the worker's eval, the plan's verify and
// commit (the cost of the hooks themselves, to set against
// BenchmarkClusterJobRegister64's time per register).
func BenchmarkMetricsPerWrite(b *testing.B) {
	m := newServerMetrics(metrics.NewRegistry(map[string]string{"host": "bench"}))
	call := &rpcCall{}
	err := errors.New("x")
	b.ReportAllocs()
	for b.Loop() {
		start := time.Now()
		m.observeRPC("Job.Register", call, start, nil)
		m.observeRPC("Node.UpdateAlloc", call, start, err)
		since(m.raftCommit, start, "JobRegister")
		since(m.fsmApply, start, "Write")
		since(m.fsmApply, start, "ApplyPlanResults")
		m.brokerWait.WithLabelValues("service").Observe(0.001)
		m.observeEval("service", start, true)
		since(m.planVerify, start)
		since(m.planCommit, start)
	}
}
