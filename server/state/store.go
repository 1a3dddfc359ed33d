package state

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/go-memdb"
)

// StateStore holds the replicated state of the cluster.
//
// Writes come from the Raft FSM only, one at a time; reads may run on any
// goroutine concurrently with writes, through snapshots.
type StateStore struct {
	db atomic.Pointer[memdb.MemDB] // replaced whole by Restore

	mu struct {
		sync.Mutex
		// changed is closed, and replaced, after every committed write: a
		// broadcast that wakes blocking queries.
		changed chan struct{}
	}
}

// NewStateStore returns an empty store.
func NewStateStore() *StateStore {
	db, err := memdb.NewMemDB(schema())
	if err != nil {
		panic(fmt.Sprintf("state: invalid schema: %v", err)) // a programming error, caught by every test
	}
	s := &StateStore{}
	s.db.Store(db)
	s.mu.changed = make(chan struct{})
	return s
}

// Snapshot is a consistent read-only view of the store at one moment.
// It is safe for concurrent use and never changes.
type Snapshot struct {
	txn *memdb.Txn
	// changed is closed once a write commits after the snapshot was taken.
	changed <-chan struct{}
}

// Snapshot returns a view of the latest committed state.
func (s *StateStore) Snapshot() *Snapshot {
	// Take the channel before the transaction: a write committing in between
	// only causes a spurious wake-up, never a missed one.
	s.mu.Lock()
	ch := s.mu.changed
	s.mu.Unlock()
	return &Snapshot{txn: s.db.Load().Txn(false), changed: ch}
}

// BlockingQuery runs query on a snapshot and returns once query reports an
// index greater than minIndex, or when ctx ends (then without error: the caller
// answers with the last result, as a blocking query that timed out does). An
// error from query is returned at once. With minIndex 0 query runs once.
func (s *StateStore) BlockingQuery(ctx context.Context, minIndex uint64, query func(snap *Snapshot) (uint64, error)) error {
	for {
		snap := s.Snapshot()
		index, err := query(snap)
		if err != nil || minIndex == 0 || index > minIndex {
			return err
		}
		select {
		case <-snap.changed:
		case <-ctx.Done():
			return nil
		}
	}
}

// write runs fn in one write transaction and commits it, or aborts on error.
// Tables listed in touched get their index set to index.
func (s *StateStore) write(index uint64, touched []string, fn func(txn *memdb.Txn) error) error {
	txn := s.db.Load().Txn(true)
	defer txn.Abort()
	if err := fn(txn); err != nil {
		return err
	}
	for _, table := range touched {
		if err := txn.Insert(tableIndex, &indexEntry{Key: table, Value: index}); err != nil {
			return fmt.Errorf("state: updating index of %s: %w", table, err)
		}
	}
	txn.Commit()
	s.notify()
	return nil
}

// notify wakes every blocking query.
func (s *StateStore) notify() {
	s.mu.Lock()
	close(s.mu.changed)
	s.mu.changed = make(chan struct{})
	s.mu.Unlock()
}
