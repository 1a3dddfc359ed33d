package server

import (
	"context"
	"sync"
	"time"

	"github.com/orch-io/orch/structs"
)

// allocUpdateBatcher coalesces client allocation updates that arrive within
// a short window into one AllocClientUpdate Raft entry: a busy cluster sends
// many small updates, and one entry for many of them costs one disk sync
// instead of many.
type allocUpdateBatcher struct {
	srv    *Server
	window time.Duration

	mu struct {
		sync.Mutex
		// pending holds the updates of the open batch, the last update of
		// each allocation winning; nil when no batch is open.
		pending map[string]*structs.Allocation
		order   []string // allocation IDs in arrival order
		batch   *allocBatch
	}
}

// allocBatch is the outcome of one batch, shared by all its callers.
type allocBatch struct {
	done  chan struct{} // closed once index and err are set
	index uint64
	err   error
}

func newAllocUpdateBatcher(s *Server, window time.Duration) *allocUpdateBatcher {
	return &allocUpdateBatcher{srv: s, window: window}
}

// submit adds updates to the open batch (opening one if needed) and waits
// until that batch is committed or ctx ends. It returns the index of the
// batch's entry.
func (b *allocUpdateBatcher) submit(ctx context.Context, updates []*structs.Allocation) (uint64, error) {
	b.mu.Lock()
	if b.mu.batch == nil {
		b.mu.batch = &allocBatch{done: make(chan struct{})}
		b.mu.pending = make(map[string]*structs.Allocation)
		b.mu.order = nil
		time.AfterFunc(b.window, b.flush)
	}
	for _, a := range updates {
		if _, ok := b.mu.pending[a.ID]; !ok {
			b.mu.order = append(b.mu.order, a.ID)
		}
		b.mu.pending[a.ID] = a
	}
	batch := b.mu.batch
	b.mu.Unlock()

	select {
	case <-batch.done:
		return batch.index, batch.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// flush commits the open batch. It runs in the batch timer's goroutine.
func (b *allocUpdateBatcher) flush() {
	b.mu.Lock()
	batch, pending, order := b.mu.batch, b.mu.pending, b.mu.order
	b.mu.batch, b.mu.pending, b.mu.order = nil, nil, nil
	b.mu.Unlock()
	if batch == nil {
		return
	}
	allocs := make([]*structs.Allocation, 0, len(order))
	for _, id := range order {
		allocs = append(allocs, pending[id])
	}
	batch.index, batch.err = b.srv.raftApply(MsgAllocClientUpdate, &AllocClientUpdateEntry{Allocs: allocs})
	if batch.err != nil {
		b.srv.logger.Error("committing client allocation updates failed", "allocs", len(allocs), "error", batch.err)
	}
	close(batch.done)
}
