package state

import (
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
	// aclIndex is the ACL index (Snapshot.ACLIndex) of the latest commit,
	// stored after the commit (or restore) is visible: every RPC's ACL check
	// reads it, and three index lookups were most of that check's cost.
	// Invariant: a Snapshot that read it first sees at least that commit.
	aclIndex atomic.Uint64

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
	txn := db.Txn(true)
	if err := ensureDefaultNamespace(txn); err != nil {
		panic(err) // as above
	}
	txn.Commit()
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
	// aclIndex, when aclIndexRead, is the store's ACL index read before txn
	// was opened: txn holds at least the writes up to it (ACLIndex).
	aclIndex     uint64
	aclIndexRead bool
}

// Snapshot returns a view of the latest committed state.
func (s *StateStore) Snapshot() *Snapshot {
	aclIndex := s.aclIndex.Load() // before the view: see StateStore.aclIndex
	return &Snapshot{txn: s.db.Load().Txn(false), aclIndex: aclIndex, aclIndexRead: true}
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
	// usage holds the node usage records the transaction changed, written
	// on commit (node_usage.go): reads inside the transaction see them as
	// they were.
	usage nodeUsages
	done  bool
}

// Begin opens the write transaction of the log entry at index. The caller
// ends it with Commit or Abort (Abort after Commit does nothing, so
// `defer w.Abort()` is the idiom).
func (s *StateStore) Begin(index uint64) *WriteTxn {
	txn := s.db.Load().Txn(true)
	txn.TrackChanges() // for Changes: the event stream's source
	return &WriteTxn{store: s, txn: txn, index: index, touched: map[string]bool{}, usage: nodeUsages{}}
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
// commits (which wakes the blocking queries that read what it changed). After an error the
// transaction is aborted.
func (w *WriteTxn) Commit() error {
	if w.done {
		return errors.New("state: commit of a transaction that already ended")
	}
	defer w.Abort()
	if err := w.usage.flush(w.txn); err != nil {
		return err
	}
	for table := range w.touched {
		if err := w.txn.Insert(tableIndex, &indexEntry{Key: table, Value: w.index}); err != nil {
			return fmt.Errorf("state: updating index of %s: %w", table, err)
		}
	}
	w.done = true
	w.txn.Commit() // closes the watch channels of what it changed
	if w.touched[TableACLPolicies] || w.touched[TableACLTokens] || w.touched[TableACLRoles] {
		w.store.aclIndex.Store(w.index)
	}
	return nil
}

// Change is one object a transaction wrote: Before is nil for an insert,
// After nil for a delete. The objects are the state store's: read only.
type Change struct {
	Table         string
	Before, After any
}

// Changes lists the objects the transaction wrote, in order (the state
// store's own bookkeeping left out); after Commit, what it committed; after
// Abort, nothing. The FSM makes the event stream's events from them.
func (w *WriteTxn) Changes() []Change {
	var out []Change
	for _, c := range w.txn.Changes() {
		if c.Table == tableIndex || c.Table == TableNodeUsage {
			continue
		}
		out = append(out, Change{Table: c.Table, Before: c.Before, After: c.After})
	}
	return out
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
