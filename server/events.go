package server

import (
	"context"
	"errors"
	"sync"

	"github.com/orch-io/orch/server/state"
	"github.com/orch-io/orch/structs"
)

// The event stream's source. The FSM turns what each entry wrote (the state
// transaction's changes) into a batch of events and appends it to the
// EventBuffer, a ring of the latest batches; subscribers read it at their
// own pace. Publishing never waits for a subscriber: it appends under a
// short lock and wakes the readers by closing a channel. A subscriber that
// falls so far behind that the batch it needs next was overwritten is
// dropped (ErrSubscriptionDropped), as Nomad drops a slow consumer.

// DefaultEventBufferSize is the number of batches (Raft entries) kept:
// Nomad's default event_buffer_size. Each batch holds copies of what its
// entry wrote (a plan's allocations): at 4,096 a leader placing 100,000
// allocations kept a tenth of its heap here.
const DefaultEventBufferSize = 100

// ErrSubscriptionDropped ends the subscription of a consumer that fell
// behind the buffer.
var ErrSubscriptionDropped = errors.New("server: event subscription dropped: the consumer fell behind the event buffer")

// EventBuffer is a ring of the latest event batches, in index order. Safe
// for concurrent use: the FSM goroutine publishes, any number read.
type EventBuffer struct {
	mu struct {
		sync.Mutex
		ring  []*structs.EventBatch // ring[(start+i)%len] is the i-th oldest
		start int
		n     int
		// evicted is the index of the last batch overwritten (0: none).
		evicted uint64
		// wake is closed (and replaced) at every publish.
		wake chan struct{}
	}
}

// NewEventBuffer returns a buffer of size batches (DefaultEventBufferSize
// when size < 1).
func NewEventBuffer(size int) *EventBuffer {
	if size < 1 {
		size = DefaultEventBufferSize
	}
	b := &EventBuffer{}
	b.mu.ring = make([]*structs.EventBatch, size)
	b.mu.wake = make(chan struct{})
	return b
}

// Publish appends a batch, overwriting the oldest when the ring is full,
// and wakes the readers. It never blocks on them.
func (b *EventBuffer) Publish(batch *structs.EventBatch) {
	if b == nil || batch == nil || len(batch.Events) == 0 {
		return
	}
	b.mu.Lock()
	size := len(b.mu.ring)
	if b.mu.n < size {
		b.mu.ring[(b.mu.start+b.mu.n)%size] = batch
		b.mu.n++
	} else {
		b.mu.evicted = b.mu.ring[b.mu.start].Index
		b.mu.ring[b.mu.start] = batch
		b.mu.start = (b.mu.start + 1) % size
	}
	close(b.mu.wake)
	b.mu.wake = make(chan struct{})
	b.mu.Unlock()
}

// Subscription reads a buffer from an index on. One goroutine uses it.
type Subscription struct {
	buf *EventBuffer
	// next is the lowest index not yet read.
	next uint64
	// started: the subscriber has read (or, from 0, is at the head): from
	// then on a batch it has not read being overwritten drops it. Before,
	// a resume at an index the buffer no longer holds starts at the oldest.
	started bool
}

// Subscribe reads batches of index >= from; from 0 reads only batches
// published from now on.
func (b *EventBuffer) Subscribe(from uint64) *Subscription {
	s := &Subscription{buf: b, next: from}
	if from == 0 {
		b.mu.Lock()
		s.next = 1
		if b.mu.n > 0 {
			s.next = b.mu.ring[(b.mu.start+b.mu.n-1)%len(b.mu.ring)].Index + 1
		}
		b.mu.Unlock()
		s.started = true
	}
	return s
}

// Next returns the batches published since the last call (at least one),
// waiting for them until ctx ends. A subscription resumed at an index the
// buffer no longer holds starts at the oldest batch it holds; one that falls
// behind afterwards gets ErrSubscriptionDropped.
func (s *Subscription) Next(ctx context.Context) ([]*structs.EventBatch, error) {
	for {
		b := s.buf
		b.mu.Lock()
		size := len(b.mu.ring)
		var out []*structs.EventBatch
		if s.started && b.mu.evicted >= s.next {
			b.mu.Unlock()
			return nil, ErrSubscriptionDropped
		}
		for i := range b.mu.n {
			if batch := b.mu.ring[(b.mu.start+i)%size]; batch.Index >= s.next {
				out = append(out, batch)
			}
		}
		wake := b.mu.wake
		b.mu.Unlock()
		if len(out) > 0 {
			s.started = true
			s.next = out[len(out)-1].Index + 1
			return out, nil
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// eventsOf turns the changes of the entry at index into its events.
func eventsOf(index uint64, changes []state.Change) *structs.EventBatch {
	batch := &structs.EventBatch{Index: index}
	for _, c := range changes {
		obj, deleted := c.After, false
		if obj == nil {
			obj, deleted = c.Before, true
		}
		var ev *structs.Event
		switch o := obj.(type) {
		case *structs.Job:
			typ := "JobRegistered"
			if deleted {
				typ = "JobDeregistered"
			}
			ev = &structs.Event{Topic: structs.TopicJob, Type: typ, Key: o.ID, Namespace: o.Namespace, Payload: o}
		case *structs.Allocation:
			a := *o
			a.Job = nil // as Nomad: the job has its own events
			ev = &structs.Event{Topic: structs.TopicAllocation, Type: "AllocationUpdated", Key: o.ID, Namespace: o.Namespace,
				FilterKeys: []string{o.JobID, o.DeploymentID}, Payload: &a}
		case *structs.Evaluation:
			ev = &structs.Event{Topic: structs.TopicEvaluation, Type: "EvaluationUpdated", Key: o.ID, Namespace: o.Namespace,
				FilterKeys: []string{o.JobID}, Payload: o}
		case *structs.Node:
			typ := "NodeRegistration"
			if deleted {
				typ = "NodeDeregistration"
			}
			ev = &structs.Event{Topic: structs.TopicNode, Type: typ, Key: o.ID, Payload: o}
		case *structs.Deployment:
			ev = &structs.Event{Topic: structs.TopicDeployment, Type: "DeploymentStatusUpdate", Key: o.ID, Namespace: o.Namespace,
				FilterKeys: []string{o.JobID}, Payload: o}
		}
		if c.Table != state.TableJobs && c.Table != state.TableAllocs && c.Table != state.TableEvals &&
			c.Table != state.TableNodes && c.Table != state.TableDeployments {
			ev = nil // a job version, a summary...: not an event of its own
		}
		if ev != nil {
			ev.Index = index
			batch.Events = append(batch.Events, ev)
		}
	}
	return batch
}

// Events is the server's event buffer, which its FSM fills.
func (s *Server) Events() *EventBuffer { return s.fsm.events }
