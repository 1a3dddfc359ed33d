package server

import (
	"context"
	"math/rand/v2"
	"runtime"
	"time"

	"github.com/orch-io/orch/server/state"
	"github.com/orch-io/orch/structs"
)

// Blocking queries: every read endpoint runs through blockingQuery, which
// answers at once when MinQueryIndex is 0 and otherwise waits until what the
// read covers changes past MinQueryIndex, or MaxQueryTime passes. The query
// reads through a watched snapshot (state.WatchSnapshot): it wakes only when a
// write changes something it read (or a snapshot restore replaces the state),
// so a write costs the same however many queries wait on other objects.

const (
	// DefaultQueryTime is the wait of a blocking query that names none.
	DefaultQueryTime = 5 * time.Minute
	// MaxQueryTime caps the wait of any blocking query.
	MaxQueryTime = 10 * time.Minute
)

// blockingQuery runs query (see runBlockingQuery) until its index passes
// opts.MinQueryIndex, the query's wait passes, ctx ends or the server shuts
// down, and fills meta. query returns the index of what it read (see
// state.Snapshot.IndexUnwatched for labelling a result with a table's index);
// it fills the reply as a side effect, and may run several times. An index of
// 0 is reported as 1, so that a caller passing it back as MinQueryIndex blocks
// instead of spinning. The reply holds the last result when the wait ends
// first; only an error from query is returned.
func (s *Server) blockingQuery(ctx context.Context, opts *structs.QueryOptions, meta *structs.QueryMeta, query func(snap *state.Snapshot) (uint64, error)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(s.shutdownCtx, cancel)()
	if opts.MinQueryIndex > 0 {
		wait := opts.MaxQueryTime
		if wait <= 0 {
			wait = DefaultQueryTime
		}
		wait = min(wait, MaxQueryTime)
		// Jitter spreads out the wake-ups of many watchers started together.
		wait += rand.N(wait/16 + 1)
		ctx, cancel = context.WithTimeout(ctx, wait)
		defer cancel()
	}
	err := runBlockingQuery(ctx, s.state, s.queryGate, opts.MinQueryIndex, s.config.testHooks.queryWaiting, func(snap *state.Snapshot) (uint64, error) {
		index, err := query(snap)
		meta.Index = max(index, 1)
		return meta.Index, err
	})
	s.setQueryMeta(meta)
	return err
}

// runBlockingQuery runs query on a watched snapshot of st and returns once
// query reports an index greater than minIndex (at once when minIndex is 0),
// or when ctx ends (then without error: the caller answers with the last
// result). An error from query is returned at once. Between runs it waits
// for a change to what the last run read; waiting, when not nil, is called
// with it before each wait (a test hook).
func runBlockingQuery(ctx context.Context, st *state.StateStore, gate queryGate, minIndex uint64, waiting func(*state.Watch), query func(snap *state.Snapshot) (uint64, error)) error {
	if !gate.enter(ctx) {
		return nil
	}
	if minIndex == 0 {
		_, err := query(st.Snapshot())
		gate.leave()
		return err
	}
	for {
		snap, watch := st.WatchSnapshot()
		index, err := query(snap)
		gate.leave()
		if err != nil || index > minIndex {
			return err
		}
		if waiting != nil {
			waiting(watch)
		}
		if watch.Wait(ctx) != nil || !gate.enter(ctx) {
			return nil
		}
	}
}

// queryGate bounds how many query runs a server makes at once; nil bounds
// nothing. A write that many blocking queries read (a plan of 1,000
// allocations wakes the watches of 1,000 nodes) would otherwise make them
// all runnable at once, and the goroutines that keep the server in its
// cluster (Raft's heartbeats and replication, the leader's lease) would
// wait behind them: on a loaded machine, seconds, long enough for a leader
// to lose its lease. A query waiting for its turn is parked, not runnable.
type queryGate chan struct{}

// newQueryGate allows four query runs per processor at once.
func newQueryGate() queryGate { return make(queryGate, 4*runtime.GOMAXPROCS(0)) }

// enter waits for a turn; false when ctx ended first.
func (g queryGate) enter(ctx context.Context) bool {
	if g == nil {
		return true
	}
	select {
	case g <- struct{}{}:
		return true
	case <-ctx.Done():
		return false
	}
}

// leave ends a turn.
func (g queryGate) leave() {
	if g != nil {
		<-g
	}
}

// setQueryMeta fills what every read reports about the cluster: whether a
// leader is known and, on a follower (a read with AllowStale; the others are
// forwarded to the leader), how long ago it last heard from the leader.
func (s *Server) setQueryMeta(meta *structs.QueryMeta) {
	meta.KnownLeader = s.Leader() != ""
	if s.IsLeader() {
		meta.LastContact = 0
	} else {
		meta.LastContact = time.Since(s.raft.LastContact())
	}
}
