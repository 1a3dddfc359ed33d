package server

import (
	"context"
	"math/rand/v2"
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
	err := runBlockingQuery(ctx, s.state, opts.MinQueryIndex, s.config.testHooks.queryWaiting, func(snap *state.Snapshot) (uint64, error) {
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
func runBlockingQuery(ctx context.Context, st *state.StateStore, minIndex uint64, waiting func(*state.Watch), query func(snap *state.Snapshot) (uint64, error)) error {
	if minIndex == 0 {
		_, err := query(st.Snapshot())
		return err
	}
	for {
		snap, watch := st.WatchSnapshot()
		index, err := query(snap)
		if err != nil || index > minIndex {
			return err
		}
		if waiting != nil {
			waiting(watch)
		}
		if watch.Wait(ctx) != nil {
			return nil
		}
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
