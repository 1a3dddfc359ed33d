package state

import (
	"context"
	"errors"
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

// WriteTxn is one write transaction: everything one Raft log entry does to
// the store. The FSM opens it with Begin, applies every part of the entry
// through its methods (writes.go) and commits once, so that a reader sees
// all of an entry or none of it, and an entry that fails half-way leaves
// nothing behind (Abort).
//
// A WriteTxn belongs to the goroutine that began it (the FSM's); it is not
// safe for concurrent use. Only one is open at a time: Begin blocks while
// another is open.
type WriteTxn struct {
	store   *StateStore
	txn     *memdb.Txn
	index   uint64
	touched map[string]bool // tables whose index becomes index on commit
	done    bool
}

// Begin opens the write transaction of the log entry at index. The caller
// ends it with Commit or Abort (Abort after Commit does nothing, so
// `defer w.Abort()` is the idiom).
func (s *StateStore) Begin(index uint64) *WriteTxn {
	return &WriteTxn{store: s, txn: s.db.Load().Txn(true), index: index, touched: map[string]bool{}}
}

// Index returns the Raft index of the entry the transaction applies.
func (w *WriteTxn) Index() uint64 { return w.index }

// Read returns a view of the transaction, its own writes included, for the
// reads an entry needs while it is applied. It is valid until the
// transaction ends, on the transaction's goroutine only.
func (w *WriteTxn) Read() *Snapshot { return &Snapshot{txn: w.txn} }

// touch records that table changes at the transaction's index.
func (w *WriteTxn) touch(table string) { w.touched[table] = true }

// Commit sets the index of every table written to the transaction's index,
// commits, and wakes the blocking queries once. After an error the
// transaction is aborted.
func (w *WriteTxn) Commit() error {
	if w.done {
		return errors.New("state: commit of a transaction that already ended")
	}
	defer w.Abort()
	for table := range w.touched {
		if err := w.txn.Insert(tableIndex, &indexEntry{Key: table, Value: w.index}); err != nil {
			return fmt.Errorf("state: updating index of %s: %w", table, err)
		}
	}
	w.done = true
	w.txn.Commit()
	w.store.notify()
	return nil
}

// Abort discards the transaction; after Commit it does nothing.
func (w *WriteTxn) Abort() {
	if !w.done {
		w.done = true
		w.txn.Abort()
	}
}

// write runs fn in a transaction of its own at index and commits it, or
// aborts on error: the single-part writes of tests and tools.
func (s *StateStore) write(index uint64, fn func(w *WriteTxn) error) error {
	w := s.Begin(index)
	defer w.Abort()
	if err := fn(w); err != nil {
		return err
	}
	return w.Commit()
}

// notify wakes every blocking query.
func (s *StateStore) notify() {
	s.mu.Lock()
	close(s.mu.changed)
	s.mu.changed = make(chan struct{})
	s.mu.Unlock()
}
