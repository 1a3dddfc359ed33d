package server

import (
	"container/heap"
	"context"
	"fmt"
	"sync"

	"github.com/orch-io/orch/structs"
)

// The plan queue sits between the workers and the plan applier on the
// leader. Workers enqueue the plans their schedulers submit and wait on the
// returned pendingPlan; the applier dequeues the plan of the highest priority
// (the evaluation's, carried in Plan.Priority), first come first served
// within a priority. It is enabled for one leadership term: disabling it
// answers every waiting plan with ErrNoLeader, and Enqueue on a disabled
// queue fails with ErrNoLeader, so that no worker waits for an applier that
// is gone.

// pendingPlan is a plan in the plan queue: the future its worker waits on.
type pendingPlan struct {
	plan *structs.Plan
	seq  uint64           // arrival order, for FIFO within a priority
	done chan planOutcome // buffered (1): answering never blocks
}

type planOutcome struct {
	result *structs.PlanResult
	err    error
}

// respond answers the plan's worker; a pendingPlan is answered once.
func (p *pendingPlan) respond(result *structs.PlanResult, err error) {
	p.done <- planOutcome{result: result, err: err}
}

// Wait returns the applier's answer, or an ErrNoLeader error when ctx ends
// first (the worker's leadership term ended).
func (p *pendingPlan) Wait(ctx context.Context) (*structs.PlanResult, error) {
	select {
	case out := <-p.done:
		return out.result, out.err
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: leadership lost while the plan was applied", structs.ErrNoLeader)
	}
}

// planQueue is a priority queue of plans; safe for concurrent use.
type planQueue struct {
	mu      sync.Mutex
	enabled bool
	heap    planHeap
	seq     uint64
	ready   chan struct{} // closed and replaced when a plan is enqueued
}

func newPlanQueue() *planQueue {
	return &planQueue{ready: make(chan struct{})}
}

// SetEnabled enables or disables the queue. Disabling answers every queued
// plan with ErrNoLeader and empties the queue.
func (q *planQueue) SetEnabled(enabled bool) {
	q.mu.Lock()
	q.enabled = enabled
	var flushed []*pendingPlan
	if !enabled {
		flushed = q.heap
		q.heap = nil
		q.wakeLocked() // a Dequeue in progress returns
	}
	q.mu.Unlock()
	for _, p := range flushed {
		p.respond(nil, fmt.Errorf("%w: plan queue disabled: this server stopped leading", structs.ErrNoLeader))
	}
}

// Enabled reports whether the queue accepts plans.
func (q *planQueue) Enabled() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.enabled
}

// Len returns the number of queued plans.
func (q *planQueue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.heap)
}

// Enqueue queues plan and returns the future its answer arrives on.
func (q *planQueue) Enqueue(plan *structs.Plan) (*pendingPlan, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.enabled {
		return nil, fmt.Errorf("%w: plan queue disabled: this server is not the leader", structs.ErrNoLeader)
	}
	q.seq++
	p := &pendingPlan{plan: plan, seq: q.seq, done: make(chan planOutcome, 1)}
	heap.Push(&q.heap, p)
	q.wakeLocked()
	return p, nil
}

func (q *planQueue) wakeLocked() {
	close(q.ready)
	q.ready = make(chan struct{})
}

// Dequeue removes and returns the plan of the highest priority, waiting for
// one. It fails when ctx ends or the queue is (or becomes) disabled.
func (q *planQueue) Dequeue(ctx context.Context) (*pendingPlan, error) {
	for {
		q.mu.Lock()
		if !q.enabled {
			q.mu.Unlock()
			return nil, fmt.Errorf("%w: plan queue disabled", structs.ErrNoLeader)
		}
		if len(q.heap) > 0 {
			p := heap.Pop(&q.heap).(*pendingPlan)
			q.mu.Unlock()
			return p, nil
		}
		ready := q.ready
		q.mu.Unlock()
		select {
		case <-ready:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// planHeap orders plans by priority (higher first), then arrival.
type planHeap []*pendingPlan

func (h planHeap) Len() int { return len(h) }
func (h planHeap) Less(i, j int) bool {
	if h[i].plan.Priority != h[j].plan.Priority {
		return h[i].plan.Priority > h[j].plan.Priority
	}
	return h[i].seq < h[j].seq
}
func (h planHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *planHeap) Push(x any)   { *h = append(*h, x.(*pendingPlan)) }
func (h *planHeap) Pop() any {
	old := *h
	p := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return p
}
