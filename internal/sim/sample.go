package sim

import (
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/orch-io/orch/client"
	"github.com/orch-io/orch/structs"
)

// Sample is one point of the time series.
type Sample struct {
	At           time.Duration // since the run started
	Placed       int64         // allocations handed to nodes so far
	Running      int64         // allocations running now
	EvalsPending int           // evaluations not terminal (pending or blocked)
	RaftIndex    uint64        // last Raft index of the server that answered
	LeaderRSS    int64         // bytes; 0 when no leader is known
	LeaderCPU    float64       // cores used by the leader since the last sample
	Heartbeats   float64       // heartbeats answered per second since the last sample
	AllocUpdates float64       // allocation updates taken per second since the last sample
}

// sampler takes a Sample every interval until stopped.
type sampler struct {
	c        *cluster
	f        *fleet
	rpc      *client.RPCClient
	start    time.Time
	interval time.Duration

	mu struct {
		sync.Mutex
		samples []Sample
		peakRSS int64
	}
	// previous readings, touched only by the sampler's goroutine
	prevAt      time.Time
	prevPID     int
	prevCPU     time.Duration
	prevBeats   int64
	prevUpdates int64
}

// run samples until ctx ends.
func (s *sampler) run(ctx context.Context) {
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for {
		s.take(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// take reads one sample: the fleet's counters, the evaluations and Raft
// index through the servers, the leader's /proc.
func (s *sampler) take(ctx context.Context) {
	now := time.Now()
	smp := Sample{At: now.Sub(s.start), Placed: s.f.placed.Load(), Running: s.f.running.Load()}
	qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var evals structs.EvalListResponse
	if err := s.rpc.RPC(qctx, "Eval.List", &structs.EvalListRequest{}, &evals); err == nil {
		for _, e := range evals.Evaluations {
			if !e.Status.Terminal() {
				smp.EvalsPending++
			}
		}
	}
	var stats structs.RaftStatsResponse
	if err := s.rpc.RPC(qctx, "Status.RaftStats", &structs.GenericRequest{}, &stats); err == nil {
		smp.RaftIndex = stats.LastIndex
	}
	beats, updates := s.f.heartbeats.Load(), s.f.allocUpdates.Load()
	elapsed := now.Sub(s.prevAt).Seconds()
	if !s.prevAt.IsZero() && elapsed > 0 {
		smp.Heartbeats = float64(beats-s.prevBeats) / elapsed
		smp.AllocUpdates = float64(updates-s.prevUpdates) / elapsed
	}
	if l := s.c.leader(qctx, s.rpc); l != nil {
		pid := l.cmd.Process.Pid
		if st, err := readProcStat(pid); err == nil {
			smp.LeaderRSS = st.rssBytes
			if pid == s.prevPID && elapsed > 0 {
				smp.LeaderCPU = (st.cpu - s.prevCPU).Seconds() / elapsed
			}
			s.prevPID, s.prevCPU = pid, st.cpu
		}
	}
	s.prevAt, s.prevBeats, s.prevUpdates = now, beats, updates
	s.mu.Lock()
	s.mu.samples = append(s.mu.samples, smp)
	s.mu.peakRSS = max(s.mu.peakRSS, smp.LeaderRSS)
	s.mu.Unlock()
}

// samples returns a copy of the series so far.
func (s *sampler) samples() []Sample {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Sample(nil), s.mu.samples...)
}

// writeCSV writes the series to path, one row per sample.
func writeCSV(path string, samples []Sample) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	_ = w.Write([]string{"seconds", "placed", "running", "evals_pending", "raft_index",
		"leader_rss_mib", "leader_cpu_cores", "heartbeats_per_s", "alloc_updates_per_s"})
	for _, s := range samples {
		_ = w.Write([]string{
			strconv.FormatFloat(s.At.Seconds(), 'f', 2, 64),
			strconv.FormatInt(s.Placed, 10), strconv.FormatInt(s.Running, 10),
			strconv.Itoa(s.EvalsPending), strconv.FormatUint(s.RaftIndex, 10),
			strconv.FormatFloat(float64(s.LeaderRSS)/(1<<20), 'f', 1, 64),
			strconv.FormatFloat(s.LeaderCPU, 'f', 3, 64),
			strconv.FormatFloat(s.Heartbeats, 'f', 1, 64),
			strconv.FormatFloat(s.AllocUpdates, 'f', 1, 64),
		})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return f.Close()
}

// nodeDownWatcher holds a blocking Node.List and records every node it sees
// down that the simulation did not kill: a false node-down. Heartbeats do
// not touch Raft, so at steady state the query wakes only on a real change.
type nodeDownWatcher struct {
	rpc *client.RPCClient
	f   *fleet

	mu struct {
		sync.Mutex
		falseDown map[string]bool
	}
}

func (w *nodeDownWatcher) run(ctx context.Context) {
	var index uint64 = 1
	for ctx.Err() == nil {
		var resp structs.NodeListResponse
		err := w.rpc.RPC(ctx, "Node.List", &structs.NodeListRequest{
			QueryOptions: structs.QueryOptions{MinQueryIndex: index, MaxQueryTime: time.Minute},
		}, &resp)
		if err != nil {
			select {
			case <-ctx.Done():
			case <-time.After(200 * time.Millisecond): // retry pause
			}
			continue
		}
		index = max(resp.Index, 1)
		killed := w.f.killedIDs()
		w.mu.Lock()
		for _, n := range resp.Nodes {
			if n.Status == structs.NodeStatusDown && !killed[n.ID] {
				w.mu.falseDown[n.ID] = true
			}
		}
		w.mu.Unlock()
	}
}

func (w *nodeDownWatcher) falseDowns() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.mu.falseDown)
}

func (s *sampler) peakRSS() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mu.peakRSS
}
