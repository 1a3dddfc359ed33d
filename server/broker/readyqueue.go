package broker

import (
	"container/heap"
	"time"

	"github.com/orch-io/orch/structs"
)

// readyEval is an evaluation waiting in a readyQueue. seq is the broker-wide
// order in which it became ready, the last tie-breaker.
type readyEval struct {
	eval    *structs.Evaluation
	seq     uint64
	readyAt time.Time // by the broker's Clock, for Config.ObserveWait
}

// before reports whether a should be handed out before b: higher priority
// first, then lower CreateIndex (older in Raft), then earlier arrival.
func (a readyEval) before(b readyEval) bool {
	if a.eval.Priority != b.eval.Priority {
		return a.eval.Priority > b.eval.Priority
	}
	if a.eval.CreateIndex != b.eval.CreateIndex {
		return a.eval.CreateIndex < b.eval.CreateIndex
	}
	return a.seq < b.seq
}

// readyQueue is a priority queue of the evaluations of one scheduler type that
// may be dequeued now. It is not safe for concurrent use; the Broker guards it
// with its mutex.
type readyQueue struct {
	h readyHeap
}

func (q *readyQueue) Len() int { return len(q.h) }

func (q *readyQueue) push(e readyEval) { heap.Push(&q.h, e) }

// peek returns the head without removing it; ok is false when empty.
func (q *readyQueue) peek() (e readyEval, ok bool) {
	if len(q.h) == 0 {
		return readyEval{}, false
	}
	return q.h[0], true
}

func (q *readyQueue) pop() readyEval { return heap.Pop(&q.h).(readyEval) }

// each calls f for every queued evaluation, in no particular order.
func (q *readyQueue) each(f func(*structs.Evaluation)) {
	for _, e := range q.h {
		f(e.eval)
	}
}

// readyHeap implements heap.Interface; use it only through readyQueue.
type readyHeap []readyEval

func (h readyHeap) Len() int           { return len(h) }
func (h readyHeap) Less(i, j int) bool { return h[i].before(h[j]) }
func (h readyHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *readyHeap) Push(x any)        { *h = append(*h, x.(readyEval)) }
func (h *readyHeap) Pop() any {
	old := *h
	n := len(old)
	e := old[n-1]
	old[n-1] = readyEval{} // let the evaluation be collected
	*h = old[:n-1]
	return e
}
