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
// read covers changes past MinQueryIndex, or MaxQueryTime passes.

const (
	// DefaultQueryTime is the wait of a blocking query that names none.
	DefaultQueryTime = 5 * time.Minute
	// MaxQueryTime caps the wait of any blocking query.
	MaxQueryTime = 10 * time.Minute
)

// blockingQuery runs query on state snapshots (see state.BlockingQuery) and
// fills meta. query returns the index of what it read, normally the largest
// index of the tables it read; it fills the reply as a side effect, and may
// run several times. An index of 0 is reported as 1, so that a caller passing
// it back as MinQueryIndex blocks instead of spinning.
//
// ctx ends the wait early (the caller hung up); the query then answers what it
// has, as at the end of its wait.
func (s *Server) blockingQuery(ctx context.Context, opts *structs.QueryOptions, meta *structs.QueryMeta, query func(snap *state.Snapshot) (uint64, error)) error {
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	defer context.AfterFunc(s.shutdownCtx, stop)()
	if opts.MinQueryIndex > 0 {
		wait := opts.MaxQueryTime
		if wait <= 0 {
			wait = DefaultQueryTime
		}
		wait = min(wait, MaxQueryTime)
		// Jitter spreads out the wake-ups of many watchers started together.
		wait += rand.N(wait/16 + 1)
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, wait)
		defer cancel()
	}
	err := s.state.BlockingQuery(ctx, opts.MinQueryIndex, func(snap *state.Snapshot) (uint64, error) {
		index, err := query(snap)
		meta.Index = max(index, 1)
		return meta.Index, err
	})
	s.setQueryMeta(meta)
	return err
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
