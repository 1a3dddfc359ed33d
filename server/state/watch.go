package state

import (
	"context"

	"github.com/hashicorp/go-memdb"
)

// Watches. A blocking query must wake when what it read changes, and only
// then: a client waiting on its node's allocations must not run again for
// every allocation written anywhere in the cluster. go-memdb gives each node
// of its radix trees a channel that a committing write closes when it
// modifies the node or anything below it; a watched Snapshot collects the
// channels of every read made through it (the object, or the prefix of the
// list, that the read covered) into a Watch, which fires when one of them is
// closed.
//
// A watch is exact for changes to what was read and nearly exact against
// the rest: a write that inserts a new key may split the tree edge leading
// to a neighbouring subtree and so rewrite (and fire) that subtree's root. A
// node's first allocation can thus wake the query of a node whose ID shares
// a prefix with it; writes to existing keys never wake other subtrees.
//
// Restore swaps in a new database whose trees share no channel with the old
// one, so a Watch also holds the store's abandon channel, which Restore
// closes: after a snapshot restore every waiting query runs again.

// Watch is the set of changes that would alter what a watched Snapshot has
// read so far. It belongs to the goroutine that reads through the snapshot:
// it is not safe for concurrent use.
type Watch struct {
	ws memdb.WatchSet
}

// WatchSnapshot returns a view of the latest committed state that records
// every read made through it into the returned Watch. Unlike Snapshot's, the
// view is for one goroutine only (its reads add to the Watch). Do not hand it
// to code that keeps it, such as a scheduler: take a Snapshot for that.
func (s *StateStore) WatchSnapshot() (*Snapshot, *Watch) {
	w := &Watch{ws: memdb.NewWatchSet()}
	// The abandon channel is taken before the database: a Restore in between
	// closes it, so the worst case is a spurious wake-up, never a missed one.
	w.ws.Add(s.abandonCh())
	return &Snapshot{txn: s.db.Load().Txn(false), watch: w}, w
}

// add records ch; nil receivers (unwatched snapshots) and channels ignore it.
func (w *Watch) add(ch <-chan struct{}) {
	if w == nil || ch == nil {
		return
	}
	w.ws.Add(ch)
}

// Wait blocks until something the snapshot read changes (or the store is
// restored), and returns nil; or until ctx ends, and returns ctx.Err(). It
// returns at once if the change happened before the call.
func (w *Watch) Wait(ctx context.Context) error {
	return w.ws.WatchCtx(ctx)
}

// Changed reports, without blocking, whether something the snapshot read has
// changed since it was read. A write that returned has closed the channels of
// what it changed, so the answer is exact for every write committed before
// the call.
func (w *Watch) Changed() bool {
	for ch := range w.ws {
		select {
		case <-ch:
			return true
		default:
		}
	}
	return false
}

// Len returns how many distinct channels the Watch holds (the abandon channel
// included): a measure of what a blocking query costs to wait on.
func (w *Watch) Len() int { return len(w.ws) }

// abandonCh returns the channel the next Restore closes.
func (s *StateStore) abandonCh() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mu.abandon
}

// abandonWatches wakes every Watch taken before it: called once the store's
// database has been replaced, whose channels will never fire.
func (s *StateStore) abandonWatches() {
	s.mu.Lock()
	close(s.mu.abandon)
	s.mu.abandon = make(chan struct{})
	s.mu.Unlock()
}
