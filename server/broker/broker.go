package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/orch-io/orch/structs"
)

// FailedQueue is the pseudo scheduler type under which the broker queues the
// evaluations that reached the delivery limit. Only a Dequeue that names it
// receives them: the leader's reaper, which marks them failed through Raft and
// then acks them.
const FailedQueue structs.JobType = "_failed"

// Errors of Ack, Nack and OutstandingReset, wrapped with the evaluation ID;
// test with errors.Is.
var (
	// ErrNotOutstanding: the evaluation is not held by any worker: unknown,
	// never dequeued, already acked or nacked (perhaps by its nack timer), or
	// dropped when the broker was disabled.
	ErrNotOutstanding = errors.New("broker: evaluation is not outstanding")
	// ErrTokenMismatch: the evaluation is outstanding, but under another
	// delivery than the caller's: the caller's delivery timed out and the
	// evaluation was handed to someone else.
	ErrTokenMismatch = errors.New("broker: token does not match the evaluation's outstanding delivery")
	// ErrNoTypes: Dequeue was called with no scheduler type to wait for.
	ErrNoTypes = errors.New("broker: dequeue needs at least one scheduler type")
)

// jobKey identifies a job across namespaces; at most one evaluation per
// jobKey is in flight.
type jobKey struct {
	namespace string
	jobID     string
}

func jobKeyOf(e *structs.Evaluation) jobKey {
	ns := e.Namespace
	if ns == "" {
		ns = structs.DefaultNamespace
	}
	return jobKey{namespace: ns, jobID: e.JobID}
}

// unackedEval is an evaluation handed out by Dequeue and not yet acked or
// nacked.
type unackedEval struct {
	eval  *structs.Evaluation
	token string
	timer Stopper
	// timerSeq identifies the current nack timer: a timer callback carrying
	// another value is a late call of a stopped timer and does nothing.
	timerSeq uint64
}

// delayedEval is a nacked evaluation waiting out its redelivery delay, or an
// evaluation held until its WaitUntil.
type delayedEval struct {
	eval  *structs.Evaluation
	timer Stopper
	seq   uint64 // as unackedEval.timerSeq
}

// Broker is the leader's queue of evaluations ready to be scheduled. The FSM
// (on the leader) enqueues evaluations as they commit; workers dequeue them,
// run the scheduler and ack (done) or nack (give it to someone else).
//
// Guarantees:
//   - Within one scheduler type, higher Priority first, then lower
//     CreateIndex, then order of arrival. Across the types a Dequeue names,
//     the same order applies, so no type starves another of equal priority.
//   - At most one evaluation per job (Namespace + JobID) is in flight: ready,
//     outstanding (dequeued, unacked), waiting out a nack delay, or in the
//     FailedQueue. Later ones wait until it is acked; then the newest of them
//     (by ModifyIndex, then CreateIndex, then arrival) runs and the others are
//     superseded: Cancelable returns them so the server marks them canceled.
//   - An outstanding evaluation that is neither acked, nacked nor reset
//     within NackTimeout is nacked automatically. A nacked evaluation is
//     delivered again, after InitialNackDelay (first nack) or
//     SubsequentNackDelay (later ones), until it has been delivered
//     DeliveryLimit times; then it goes to the FailedQueue.
//   - An evaluation enqueued with a WaitUntil in the future (the follow-up
//     of a failed one) is held until then, and only then counts as its job's
//     in-flight evaluation or waits behind it.
//
// Ownership: Enqueue keeps the pointer it is given and Dequeue and Cancelable
// return that same pointer: nobody may modify it; Copy it first.
//
// Every method is safe for concurrent use.
type Broker struct {
	cfg    Config // with defaults applied; read-only after New
	logger *slog.Logger

	mu struct {
		sync.Mutex

		enabled bool

		// deliveries holds every evaluation the broker tracks (ready,
		// outstanding, delayed, failed or pending) with how many times Dequeue
		// handed it out. Enqueue of an ID in it is a no-op.
		deliveries map[string]int

		// inFlight holds, per job, the ID of its one evaluation that is ready,
		// outstanding, delayed or failed.
		// Invariant: an evaluation is in pending only if its job is in inFlight.
		inFlight map[jobKey]string
		// pending holds, per job, evaluations waiting for inFlight to be acked,
		// in order of arrival.
		pending map[jobKey][]*structs.Evaluation

		ready   map[structs.JobType]*readyQueue // FailedQueue included
		unacked map[string]*unackedEval         // by evaluation ID
		delayed map[string]*delayedEval         // by evaluation ID
		// waiting holds, by ID, evaluations enqueued with a WaitUntil in the
		// future; they are not in flight for their job until then.
		waiting map[string]*delayedEval

		// cancelable holds superseded evaluations until Cancelable drains them.
		cancelable []*structs.Evaluation

		// seq orders arrivals in the ready queues and names timers.
		seq uint64
		// wake is closed (and replaced) whenever an evaluation becomes ready or
		// the broker is enabled or disabled, to wake blocked Dequeue calls.
		wake chan struct{}
	}
}

// New returns a disabled Broker; the server enables it when it becomes leader.
// Zero fields of cfg take their defaults (see Config). A nil logger discards.
func New(cfg Config, logger *slog.Logger) *Broker {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	b := &Broker{cfg: cfg.withDefaults(), logger: logger.With("component", "broker")}
	b.mu.wake = make(chan struct{})
	b.resetLocked()
	return b
}

// resetLocked empties every queue, stopping the timers it owns.
func (b *Broker) resetLocked() {
	for _, u := range b.mu.unacked {
		u.timer.Stop()
	}
	for _, d := range b.mu.delayed {
		d.timer.Stop()
	}
	for _, d := range b.mu.waiting {
		d.timer.Stop()
	}
	b.mu.deliveries = make(map[string]int)
	b.mu.inFlight = make(map[jobKey]string)
	b.mu.pending = make(map[jobKey][]*structs.Evaluation)
	b.mu.ready = make(map[structs.JobType]*readyQueue)
	b.mu.unacked = make(map[string]*unackedEval)
	b.mu.delayed = make(map[string]*delayedEval)
	b.mu.waiting = make(map[string]*delayedEval)
	b.mu.cancelable = nil
}

// SetEnabled turns the broker on (this server became leader) or off (it lost
// leadership). Disabling drops every evaluation, outstanding ones included,
// and stops every timer: the next leader rebuilds its broker from the state
// store. Acks and nacks of dropped evaluations then fail with
// ErrNotOutstanding.
//
// Dequeue calls blocked across a disable keep waiting, until the broker is
// enabled again and an evaluation is ready or until their ctx ends, so
// workers need no special case for leadership changes.
func (b *Broker) SetEnabled(enabled bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.mu.enabled == enabled {
		return
	}
	b.mu.enabled = enabled
	if !enabled {
		b.resetLocked()
	}
	b.wakeLocked()
	b.logger.Info("eval broker enabled changed", "enabled", enabled)
}

// Enabled reports whether the broker accepts evaluations.
func (b *Broker) Enabled() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.mu.enabled
}

// Enqueue adds eval to the broker: ready at once, or pending while another
// evaluation of its job is in flight. An evaluation whose WaitUntil is in the
// future (by the broker's Clock) is held until then first, and only then
// takes its place behind its job's in-flight evaluation. It is a no-op when the broker is
// disabled or already tracks an evaluation with eval's ID. The broker keeps
// eval; see Broker for ownership.
func (b *Broker) Enqueue(eval *structs.Evaluation) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.mu.enabled {
		b.logger.Debug("eval dropped: broker disabled", "eval_id", eval.ID, "job_id", eval.JobID)
		return
	}
	if _, known := b.mu.deliveries[eval.ID]; known {
		return
	}
	b.mu.deliveries[eval.ID] = 0
	if wait := eval.WaitUntil.Sub(b.cfg.Clock.Now()); !eval.WaitUntil.IsZero() && wait > 0 {
		b.mu.seq++
		seq := b.mu.seq
		d := &delayedEval{eval: eval, seq: seq}
		id := eval.ID
		d.timer = b.cfg.Clock.AfterFunc(wait, func() { b.waitElapsed(id, seq) })
		b.mu.waiting[id] = d
		b.logger.Debug("eval held until its wait_until", "eval_id", eval.ID, "job_id", eval.JobID, "wait_until", eval.WaitUntil)
		return
	}
	b.enqueueLocked(eval)
}

// waitElapsed runs on the clock's goroutine when an evaluation held for its
// WaitUntil may run.
func (b *Broker) waitElapsed(id string, seq uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	d, ok := b.mu.waiting[id]
	if !ok || d.seq != seq {
		return // dropped by a disable meanwhile
	}
	delete(b.mu.waiting, id)
	b.enqueueLocked(d.eval)
}

// enqueueLocked makes a tracked evaluation ready, or pending behind its job's
// in-flight evaluation.
func (b *Broker) enqueueLocked(eval *structs.Evaluation) {
	key := jobKeyOf(eval)
	if _, busy := b.mu.inFlight[key]; busy {
		b.mu.pending[key] = append(b.mu.pending[key], eval)
		b.logger.Debug("eval pending behind its job's in-flight eval", "eval_id", eval.ID, "job_id", eval.JobID)
		return
	}
	b.mu.inFlight[key] = eval.ID
	b.readyLocked(eval, eval.Type)
	b.logger.Debug("eval enqueued", "eval_id", eval.ID, "job_id", eval.JobID, "request_id", eval.RequestID, "type", eval.Type, "priority", eval.Priority)
}

// readyLocked queues eval under queue and wakes waiting Dequeue calls.
func (b *Broker) readyLocked(eval *structs.Evaluation, queue structs.JobType) {
	q := b.mu.ready[queue]
	if q == nil {
		q = &readyQueue{}
		b.mu.ready[queue] = q
	}
	b.mu.seq++
	q.push(readyEval{eval: eval, seq: b.mu.seq, readyAt: b.cfg.Clock.Now()})
	b.wakeLocked()
}

func (b *Broker) wakeLocked() {
	close(b.mu.wake)
	b.mu.wake = make(chan struct{})
}

// Dequeue waits until an evaluation of one of types is ready and hands it out
// with a fresh token, which Ack, Nack and OutstandingReset require. The
// caller must ack or nack it (or reset its timer) within NackTimeout.
//
// It returns ctx.Err() when ctx ends first (also when ctx has already ended),
// and ErrNoTypes when types is empty. While the broker is disabled it keeps
// waiting. Called by workers, from any goroutine.
func (b *Broker) Dequeue(ctx context.Context, types []structs.JobType) (eval *structs.Evaluation, token string, err error) {
	if len(types) == 0 {
		return nil, "", ErrNoTypes
	}
	for {
		if err := ctx.Err(); err != nil {
			return nil, "", err
		}
		b.mu.Lock()
		if b.mu.enabled {
			if eval, ok := b.popReadyLocked(types); ok {
				token := structs.GenerateUUID()
				b.mu.deliveries[eval.ID]++
				u := &unackedEval{eval: eval, token: token}
				b.mu.unacked[eval.ID] = u
				b.startNackTimerLocked(u)
				delivery := b.mu.deliveries[eval.ID]
				b.mu.Unlock()
				b.logger.Debug("eval dequeued", "eval_id", eval.ID, "job_id", eval.JobID, "request_id", eval.RequestID, "delivery", delivery)
				return eval, token, nil
			}
		}
		wake := b.mu.wake
		b.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil, "", ctx.Err()
		case <-wake:
		}
	}
}

// popReadyLocked removes and returns the first ready evaluation among types.
func (b *Broker) popReadyLocked(types []structs.JobType) (*structs.Evaluation, bool) {
	r, ok := b.popReadyEvalLocked(types)
	if ok && b.cfg.ObserveWait != nil {
		b.cfg.ObserveWait(r.eval, b.cfg.Clock.Now().Sub(r.readyAt))
	}
	return r.eval, ok
}

func (b *Broker) popReadyEvalLocked(types []structs.JobType) (readyEval, bool) {
	var (
		best      readyEval
		bestQueue *readyQueue
	)
	for _, t := range types {
		q := b.mu.ready[t]
		if q == nil {
			continue
		}
		head, ok := q.peek()
		if ok && (bestQueue == nil || head.before(best)) {
			best, bestQueue = head, q
		}
	}
	if bestQueue == nil {
		return readyEval{}, false
	}
	return bestQueue.pop(), true
}

// startNackTimerLocked (re)starts u's nack timer.
func (b *Broker) startNackTimerLocked(u *unackedEval) {
	b.mu.seq++
	seq := b.mu.seq
	u.timerSeq = seq
	id, token := u.eval.ID, u.token
	u.timer = b.cfg.Clock.AfterFunc(b.cfg.NackTimeout, func() { b.nackTimerFired(id, token, seq) })
}

// nackTimerFired runs on the clock's goroutine when a nack timer expires.
func (b *Broker) nackTimerFired(id, token string, seq uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	u, ok := b.mu.unacked[id]
	if !ok || u.token != token || u.timerSeq != seq {
		return // acked, nacked or reset meanwhile: a late call of a stopped timer
	}
	b.logger.Warn("eval not acked in time: nacking it", "eval_id", id, "job_id", u.eval.JobID, "nack_timeout", b.cfg.NackTimeout)
	b.nackLocked(u)
}

// Outstanding returns the token of the current delivery of evalID, if it is
// outstanding. The plan applier uses it to check that a plan comes from the
// worker that holds its evaluation.
func (b *Broker) Outstanding(evalID string) (token string, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	u, ok := b.mu.unacked[evalID]
	if !ok {
		return "", false
	}
	return u.token, true
}

// outstandingLocked returns the outstanding delivery of evalID if token is
// its token, or an error wrapping ErrNotOutstanding or ErrTokenMismatch.
func (b *Broker) outstandingLocked(op, evalID, token string) (*unackedEval, error) {
	u, ok := b.mu.unacked[evalID]
	if !ok {
		return nil, fmt.Errorf("%w: %s of eval %q", ErrNotOutstanding, op, evalID)
	}
	if u.token != token {
		return nil, fmt.Errorf("%w: %s of eval %q with token %q", ErrTokenMismatch, op, evalID, token)
	}
	return u, nil
}

// Ack reports that the evaluation was processed: the broker forgets it, and
// the newest evaluation pending for its job (if any) becomes ready; older
// pending ones become cancelable. Errors wrap ErrNotOutstanding or
// ErrTokenMismatch.
func (b *Broker) Ack(evalID, token string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	u, err := b.outstandingLocked("ack", evalID, token)
	if err != nil {
		return err
	}
	u.timer.Stop()
	delete(b.mu.unacked, evalID)
	delete(b.mu.deliveries, evalID)
	key := jobKeyOf(u.eval)
	if b.mu.inFlight[key] != evalID {
		panic(fmt.Sprintf("broker: invariant broken: acked eval %q is not its job's in-flight eval (%q)", evalID, b.mu.inFlight[key]))
	}
	delete(b.mu.inFlight, key)
	b.promotePendingLocked(key)
	b.logger.Debug("eval acked", "eval_id", evalID, "job_id", u.eval.JobID)
	return nil
}

// promotePendingLocked makes the newest pending evaluation of key ready and
// the older ones cancelable. The job must have nothing in flight.
func (b *Broker) promotePendingLocked(key jobKey) {
	list := b.mu.pending[key]
	if len(list) == 0 {
		return
	}
	delete(b.mu.pending, key)
	newest := 0
	for i, e := range list[1:] {
		if !newerEval(list[newest], e) {
			newest = i + 1
		}
	}
	for i, e := range list {
		if i == newest {
			continue
		}
		delete(b.mu.deliveries, e.ID)
		b.mu.cancelable = append(b.mu.cancelable, e)
		b.logger.Debug("eval superseded by a newer eval of its job", "eval_id", e.ID, "job_id", e.JobID, "superseded_by", list[newest].ID)
	}
	next := list[newest]
	b.mu.inFlight[key] = next.ID
	b.readyLocked(next, next.Type)
}

// newerEval reports whether a is strictly newer than b by ModifyIndex, then
// CreateIndex. Among equals the later arrival wins, which callers get by
// scanning in arrival order.
func newerEval(a, b *structs.Evaluation) bool {
	if a.ModifyIndex != b.ModifyIndex {
		return a.ModifyIndex > b.ModifyIndex
	}
	return a.CreateIndex > b.CreateIndex
}

// Nack reports that the caller could not process the evaluation: it is
// delivered again (after the nack delay), or sent to the FailedQueue once it
// has been delivered DeliveryLimit times. Errors wrap ErrNotOutstanding or
// ErrTokenMismatch.
func (b *Broker) Nack(evalID, token string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	u, err := b.outstandingLocked("nack", evalID, token)
	if err != nil {
		return err
	}
	u.timer.Stop()
	b.logger.Info("eval nacked", "eval_id", evalID, "job_id", u.eval.JobID)
	b.nackLocked(u)
	return nil
}

// nackLocked takes u out of the outstanding set and queues it again, now,
// after a delay, or in the FailedQueue. u's timer must be stopped or fired.
func (b *Broker) nackLocked(u *unackedEval) {
	eval := u.eval
	delete(b.mu.unacked, eval.ID)
	deliveries := b.mu.deliveries[eval.ID]
	if deliveries >= b.cfg.DeliveryLimit {
		b.logger.Warn("eval reached its delivery limit: queued as failed",
			"eval_id", eval.ID, "job_id", eval.JobID, "deliveries", deliveries)
		b.readyLocked(eval, FailedQueue)
		return
	}
	delay := b.cfg.SubsequentNackDelay
	if deliveries <= 1 {
		delay = b.cfg.InitialNackDelay
	}
	if delay <= 0 {
		b.readyLocked(eval, eval.Type)
		return
	}
	b.mu.seq++
	seq := b.mu.seq
	d := &delayedEval{eval: eval, seq: seq}
	id := eval.ID
	d.timer = b.cfg.Clock.AfterFunc(delay, func() { b.nackDelayElapsed(id, seq) })
	b.mu.delayed[id] = d
}

// nackDelayElapsed runs on the clock's goroutine when a nacked evaluation has
// waited out its delay.
func (b *Broker) nackDelayElapsed(id string, seq uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	d, ok := b.mu.delayed[id]
	if !ok || d.seq != seq {
		return // dropped by a disable meanwhile
	}
	delete(b.mu.delayed, id)
	b.readyLocked(d.eval, d.eval.Type)
}

// OutstandingReset restarts the nack timer of an outstanding evaluation, for
// a worker that is still busy with it (for example while its plan waits in
// the plan queue). Errors wrap ErrNotOutstanding or ErrTokenMismatch.
func (b *Broker) OutstandingReset(evalID, token string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	u, err := b.outstandingLocked("reset", evalID, token)
	if err != nil {
		return err
	}
	u.timer.Stop()
	b.startNackTimerLocked(u)
	return nil
}

// Cancelable removes and returns up to n superseded evaluations (all of them
// when n <= 0), oldest first. The leader marks them canceled through Raft.
// The returned slice is the caller's; the evaluations are shared (see Broker).
func (b *Broker) Cancelable(n int) []*structs.Evaluation {
	b.mu.Lock()
	defer b.mu.Unlock()
	return drainEvals(&b.mu.cancelable, n)
}

// drainEvals removes the first n evaluations of *list (all when n <= 0 or
// n > len) and returns them in a new slice.
func drainEvals(list *[]*structs.Evaluation, n int) []*structs.Evaluation {
	if n <= 0 || n > len(*list) {
		n = len(*list)
	}
	if n == 0 {
		return nil
	}
	out := slices.Clone((*list)[:n])
	rest := (*list)[n:]
	if len(rest) == 0 {
		*list = nil
	} else {
		*list = slices.Clone(rest)
	}
	return out
}

// Stats counts the evaluations in the broker. Ready excludes the
// FailedQueue, counted as Failed. Each evaluation is counted once overall and
// once under its own scheduler type.
type Stats struct {
	Ready      int // may be dequeued now
	Unacked    int // dequeued, not yet acked or nacked
	Delayed    int // nacked, waiting out the redelivery delay
	Waiting    int // held until their WaitUntil
	Pending    int // waiting for an in-flight evaluation of the same job
	Failed     int // reached the delivery limit, in FailedQueue
	Cancelable int // superseded, not yet drained by Cancelable
	ByType     map[structs.JobType]TypeStats
}

// TypeStats counts the evaluations of one scheduler type; see Stats.
type TypeStats struct {
	Ready, Unacked, Delayed, Waiting, Pending, Failed int
}

// Stats returns a snapshot of the broker's counters. ByType is the caller's.
func (b *Broker) Stats() Stats {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := Stats{Cancelable: len(b.mu.cancelable), ByType: make(map[structs.JobType]TypeStats)}
	count := func(e *structs.Evaluation, f func(*TypeStats)) {
		ts := s.ByType[e.Type]
		f(&ts)
		s.ByType[e.Type] = ts
	}
	for queue, q := range b.mu.ready {
		q.each(func(e *structs.Evaluation) {
			if queue == FailedQueue {
				s.Failed++
				count(e, func(ts *TypeStats) { ts.Failed++ })
				return
			}
			s.Ready++
			count(e, func(ts *TypeStats) { ts.Ready++ })
		})
	}
	for _, u := range b.mu.unacked {
		s.Unacked++
		count(u.eval, func(ts *TypeStats) { ts.Unacked++ })
	}
	for _, d := range b.mu.delayed {
		s.Delayed++
		count(d.eval, func(ts *TypeStats) { ts.Delayed++ })
	}
	for _, d := range b.mu.waiting {
		s.Waiting++
		count(d.eval, func(ts *TypeStats) { ts.Waiting++ })
	}
	for _, list := range b.mu.pending {
		for _, e := range list {
			s.Pending++
			count(e, func(ts *TypeStats) { ts.Pending++ })
		}
	}
	return s
}

// FollowupWaitUntil returns when the follow-up of an evaluation failed at the
// delivery limit should run: now (by the broker's Clock) plus
// FailedFollowupDelay plus a random part of FailedFollowupDelayRange.
func (b *Broker) FollowupWaitUntil() time.Time {
	d := b.cfg.FailedFollowupDelay
	if r := b.cfg.FailedFollowupDelayRange; r > 0 {
		d += rand.N(r)
	}
	return b.cfg.Clock.Now().Add(d)
}
