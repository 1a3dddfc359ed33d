package state

import (
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
		// abandon is closed, and replaced, when Restore replaces the
		// database: it wakes the blocking queries whose watch channels
		// belong to the old one (watch.go).
		abandon chan struct{}
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
	s.mu.abandon = make(chan struct{})
	return s
}

// Snapshot is a consistent read-only view of the store at one moment.
// It never changes. One from StateStore.Snapshot is safe for concurrent use;
// one from WatchSnapshot records its reads and belongs to one goroutine.
type Snapshot struct {
	txn *memdb.Txn
	// watch, when not nil, collects the watch channels of every read.
	watch *Watch
}

// Snapshot returns a view of the latest committed state.
func (s *StateStore) Snapshot() *Snapshot {
	return &Snapshot{txn: s.db.Load().Txn(false)}
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
	txn.Commit() // closes the watch channels of what it changed
	return nil
}
