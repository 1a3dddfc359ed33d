package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orch-io/orch/structs"
)

// evalBuilder builds test evaluations: pending, service, priority 50, in the
// default namespace, unless told otherwise.
type evalBuilder struct{ e structs.Evaluation }

func newEval(jobID string) *evalBuilder {
	return &evalBuilder{e: structs.Evaluation{
		ID: structs.GenerateUUID(), Namespace: structs.DefaultNamespace, JobID: jobID,
		Type: structs.JobTypeService, Priority: structs.DefaultJobPriority, Status: structs.EvalStatusPending,
		TriggeredBy: structs.EvalTriggerJobRegister,
	}}
}

func (b *evalBuilder) ID(id string) *evalBuilder           { b.e.ID = id; return b }
func (b *evalBuilder) Priority(p int) *evalBuilder         { b.e.Priority = p; return b }
func (b *evalBuilder) Type(t structs.JobType) *evalBuilder { b.e.Type = t; return b }
func (b *evalBuilder) Namespace(ns string) *evalBuilder    { b.e.Namespace = ns; return b }
func (b *evalBuilder) Index(create, modify uint64) *evalBuilder {
	b.e.CreateIndex, b.e.ModifyIndex = create, modify
	return b
}
func (b *evalBuilder) Blocked(snapshot uint64) *evalBuilder {
	b.e.Status, b.e.SnapshotIndex = structs.EvalStatusBlocked, snapshot
	return b
}
func (b *evalBuilder) Build() *structs.Evaluation { e := b.e; return &e }

var (
	serviceOnly = []structs.JobType{structs.JobTypeService}
	failedOnly  = []structs.JobType{FailedQueue}
)

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// testBroker returns an enabled broker on a fake clock.
func testBroker(t *testing.T, cfg Config) (*Broker, *fakeClock) {
	t.Helper()
	clock := newFakeClock()
	cfg.Clock = clock
	b := New(cfg, testLogger(t))
	b.SetEnabled(true)
	return b, clock
}

// mustDequeue dequeues an evaluation that must be ready now (the deadline
// only guards against a hang).
func mustDequeue(t *testing.T, b *Broker, types []structs.JobType) (*structs.Evaluation, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	e, token, err := b.Dequeue(ctx, types)
	if err != nil {
		t.Fatalf("Dequeue(%v): %v", types, err)
	}
	if token == "" {
		t.Fatalf("Dequeue(%v) returned eval %s with an empty token", types, e.ID)
	}
	return e, token
}

func mustDequeueID(t *testing.T, b *Broker, types []structs.JobType, wantID string) string {
	t.Helper()
	e, token := mustDequeue(t, b, types)
	if e.ID != wantID {
		t.Fatalf("Dequeue(%v) = eval %s (job %s), want %s", types, e.ID, e.JobID, wantID)
	}
	return token
}

// totals is Stats without ByType, for comparisons.
type totals struct{ Ready, Unacked, Delayed, Pending, Failed, Cancelable int }

func statTotals(b *Broker) totals {
	s := b.Stats()
	return totals{s.Ready, s.Unacked, s.Delayed, s.Pending, s.Failed, s.Cancelable}
}

func wantTotals(t *testing.T, b *Broker, want totals) {
	t.Helper()
	if got := statTotals(b); got != want {
		t.Fatalf("broker stats = %+v, want %+v", got, want)
	}
}

func TestBrokerDequeueOrder(t *testing.T) {
	b, _ := testBroker(t, Config{})
	// Each eval is for its own job so that per-job serialization plays no part.
	low := newEval("low").Priority(10).Index(1, 1).Build()
	midLate := newEval("mid-late").Priority(50).Index(9, 9).Build()
	midEarly := newEval("mid-early").Priority(50).Index(3, 3).Build()
	midEarlyTwin := newEval("mid-early-twin").Priority(50).Index(3, 3).Build() // same index: arrival order
	high := newEval("high").Priority(90).Index(20, 20).Build()
	for _, e := range []*structs.Evaluation{low, midLate, midEarly, midEarlyTwin, high} {
		b.Enqueue(e)
	}
	for _, want := range []*structs.Evaluation{high, midEarly, midEarlyTwin, midLate, low} {
		mustDequeueID(t, b, serviceOnly, want.ID)
	}
}

func TestBrokerDequeueOnlyRequestedTypesOldestFirstAcrossTypes(t *testing.T) {
	b, _ := testBroker(t, Config{})
	svc := newEval("svc").Index(5, 5).Build()
	batch := newEval("batch").Type(structs.JobTypeBatch).Index(2, 2).Build()
	sys := newEval("sys").Type(structs.JobTypeSystem).Index(1, 1).Build()
	b.Enqueue(svc)
	b.Enqueue(batch)
	b.Enqueue(sys)

	both := []structs.JobType{structs.JobTypeService, structs.JobTypeBatch}
	// Equal priority across types: the older batch eval first, so neither type
	// starves the other; the system eval is never offered.
	mustDequeueID(t, b, both, batch.ID)
	mustDequeueID(t, b, both, svc.ID)
	s := b.Stats()
	if s.Ready != 1 || s.ByType[structs.JobTypeSystem].Ready != 1 {
		t.Fatalf("the system eval should still be ready: %+v", s)
	}
	mustDequeueID(t, b, []structs.JobType{structs.JobTypeSystem}, sys.ID)
}

func TestBrokerDequeueWaitsForEnqueue(t *testing.T) {
	b, _ := testBroker(t, Config{})
	type result struct {
		eval  *structs.Evaluation
		token string
		err   error
	}
	got := make(chan result, 1)
	go func() {
		e, tok, err := b.Dequeue(context.Background(), serviceOnly)
		got <- result{e, tok, err}
	}()
	select {
	case r := <-got:
		t.Fatalf("Dequeue returned %+v with nothing enqueued", r)
	default:
	}
	// An eval of another type must not wake it with a result.
	b.Enqueue(newEval("other").Type(structs.JobTypeBatch).Build())
	e := newEval("job").Build()
	b.Enqueue(e)
	select {
	case r := <-got:
		if r.err != nil || r.eval.ID != e.ID {
			t.Fatalf("Dequeue = %+v, want eval %s", r, e.ID)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Dequeue still blocked 10s after Enqueue")
	}
}

func TestBrokerDequeueReturnsCtxErr(t *testing.T) {
	b, _ := testBroker(t, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, _, err := b.Dequeue(ctx, serviceOnly)
		errc <- err
	}()
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Dequeue after cancel = %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Dequeue did not return 10s after its ctx was canceled")
	}

	// An ended ctx wins over a ready eval, which stays ready for someone else.
	b.Enqueue(newEval("job").Build())
	if _, _, err := b.Dequeue(ctx, serviceOnly); !errors.Is(err, context.Canceled) {
		t.Fatalf("Dequeue with a canceled ctx = %v, want context.Canceled", err)
	}
	wantTotals(t, b, totals{Ready: 1})

	dctx, dcancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer dcancel()
	if _, _, err := b.Dequeue(dctx, serviceOnly); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Dequeue past deadline = %v, want context.DeadlineExceeded", err)
	}
	if _, _, err := b.Dequeue(context.Background(), nil); !errors.Is(err, ErrNoTypes) {
		t.Fatalf("Dequeue with no types = %v, want ErrNoTypes", err)
	}
}

func TestBrokerOneInFlightPerJob(t *testing.T) {
	b, _ := testBroker(t, Config{})
	first := newEval("web").Index(10, 10).Build()
	older := newEval("web").Index(11, 11).Build()
	newest := newEval("web").Index(12, 14).Build()
	middle := newEval("web").Index(13, 13).Build() // created later, but modified earlier than newest
	otherNS := newEval("web").Namespace("prod").Index(15, 15).Build()
	otherJob := newEval("api").Index(16, 16).Build()
	for _, e := range []*structs.Evaluation{first, older, newest, middle, otherNS, otherJob} {
		b.Enqueue(e)
	}
	wantTotals(t, b, totals{Ready: 3, Pending: 3})

	tok := mustDequeueID(t, b, serviceOnly, first.ID)
	// While first is outstanding, only the other jobs come out.
	mustDequeueID(t, b, serviceOnly, otherNS.ID)
	mustDequeueID(t, b, serviceOnly, otherJob.ID)
	wantTotals(t, b, totals{Unacked: 3, Pending: 3})

	if err := b.Ack(first.ID, tok); err != nil {
		t.Fatal(err)
	}
	// The newest pending eval (highest ModifyIndex) runs; the others are superseded.
	wantTotals(t, b, totals{Ready: 1, Unacked: 2, Cancelable: 2})
	tok = mustDequeueID(t, b, serviceOnly, newest.ID)
	canceled := b.Cancelable(0)
	if len(canceled) != 2 || canceled[0].ID != older.ID || canceled[1].ID != middle.ID {
		t.Fatalf("Cancelable = %v, want [%s %s]", evalIDs(canceled), older.ID, middle.ID)
	}
	if err := b.Ack(newest.ID, tok); err != nil {
		t.Fatal(err)
	}
	wantTotals(t, b, totals{Unacked: 2})

	// Superseded evals are forgotten: enqueued again, they are new to the broker.
	b.Enqueue(older)
	mustDequeueID(t, b, serviceOnly, older.ID)
}

func TestBrokerPendingTieGoesToLaterArrival(t *testing.T) {
	b, _ := testBroker(t, Config{})
	first := newEval("web").Index(1, 1).Build()
	a := newEval("web").Index(5, 5).Build()
	c := newEval("web").Index(5, 5).Build()
	b.Enqueue(first)
	b.Enqueue(a)
	b.Enqueue(c)
	tok := mustDequeueID(t, b, serviceOnly, first.ID)
	if err := b.Ack(first.ID, tok); err != nil {
		t.Fatal(err)
	}
	mustDequeueID(t, b, serviceOnly, c.ID)
	if got := b.Cancelable(0); len(got) != 1 || got[0].ID != a.ID {
		t.Fatalf("Cancelable = %v, want [%s]", evalIDs(got), a.ID)
	}
}

func TestBrokerAckNackErrors(t *testing.T) {
	b, _ := testBroker(t, Config{})
	e := newEval("web").Build()
	b.Enqueue(e)

	err := b.Ack(e.ID, "any")
	if !errors.Is(err, ErrNotOutstanding) {
		t.Fatalf("Ack of a ready (not dequeued) eval = %v, want ErrNotOutstanding", err)
	}
	if msg := err.Error(); !strings.HasPrefix(msg, "broker: ") || !strings.Contains(msg, e.ID) || !strings.Contains(msg, "ack") {
		t.Fatalf("error %q should start with \"broker: \" and name the operation and eval ID", msg)
	}
	if err := b.Nack("no-such-eval", "x"); !errors.Is(err, ErrNotOutstanding) {
		t.Fatalf("Nack of an unknown eval = %v, want ErrNotOutstanding", err)
	}
	if err := b.OutstandingReset("no-such-eval", "x"); !errors.Is(err, ErrNotOutstanding) {
		t.Fatalf("OutstandingReset of an unknown eval = %v, want ErrNotOutstanding", err)
	}

	tok := mustDequeueID(t, b, serviceOnly, e.ID)
	for name, op := range map[string]func(string, string) error{"ack": b.Ack, "nack": b.Nack, "reset": b.OutstandingReset} {
		err := op(e.ID, "wrong-token")
		if !errors.Is(err, ErrTokenMismatch) {
			t.Fatalf("%s with a wrong token = %v, want ErrTokenMismatch", name, err)
		}
		if !strings.HasPrefix(err.Error(), "broker: ") || !strings.Contains(err.Error(), e.ID) {
			t.Fatalf("%s error %q should start with \"broker: \" and name the eval", name, err)
		}
	}
	if got, ok := b.Outstanding(e.ID); !ok || got != tok {
		t.Fatalf("Outstanding = %q, %v; want %q, true", got, ok, tok)
	}
	if err := b.Ack(e.ID, tok); err != nil {
		t.Fatalf("Ack with the right token: %v", err)
	}
	if err := b.Ack(e.ID, tok); !errors.Is(err, ErrNotOutstanding) {
		t.Fatalf("second Ack = %v, want ErrNotOutstanding", err)
	}
	if err := b.Nack(e.ID, tok); !errors.Is(err, ErrNotOutstanding) {
		t.Fatalf("Nack after Ack = %v, want ErrNotOutstanding", err)
	}
	if _, ok := b.Outstanding(e.ID); ok {
		t.Fatal("Outstanding after Ack reports the eval")
	}
}

func TestBrokerNackRedeliversBacksOffThenFails(t *testing.T) {
	b, clock := testBroker(t, Config{DeliveryLimit: 3, SubsequentNackDelay: 5 * time.Second})
	e := newEval("web").Index(1, 1).Build()
	next := newEval("web").Index(2, 2).Build()
	b.Enqueue(e)
	b.Enqueue(next)

	// First nack: ready again at once.
	tok1 := mustDequeueID(t, b, serviceOnly, e.ID)
	if err := b.Nack(e.ID, tok1); err != nil {
		t.Fatal(err)
	}
	wantTotals(t, b, totals{Ready: 1, Pending: 1})

	// Second nack: waits SubsequentNackDelay; the job stays held meanwhile.
	tok2 := mustDequeueID(t, b, serviceOnly, e.ID)
	if tok2 == tok1 {
		t.Fatal("a redelivery must get a fresh token")
	}
	if err := b.Nack(e.ID, tok1); !errors.Is(err, ErrTokenMismatch) {
		t.Fatalf("Nack with the first delivery's token = %v, want ErrTokenMismatch", err)
	}
	if err := b.Nack(e.ID, tok2); err != nil {
		t.Fatal(err)
	}
	wantTotals(t, b, totals{Delayed: 1, Pending: 1})
	b.Enqueue(e) // known while delayed: no-op
	wantTotals(t, b, totals{Delayed: 1, Pending: 1})
	clock.Advance(5*time.Second - time.Nanosecond)
	wantTotals(t, b, totals{Delayed: 1, Pending: 1})
	clock.Advance(time.Nanosecond)
	wantTotals(t, b, totals{Ready: 1, Pending: 1})

	// Third delivery reaches the limit: the nack sends it to the FailedQueue.
	tok3 := mustDequeueID(t, b, serviceOnly, e.ID)
	if err := b.Nack(e.ID, tok3); err != nil {
		t.Fatal(err)
	}
	wantTotals(t, b, totals{Failed: 1, Pending: 1})
	if s := b.Stats(); s.ByType[structs.JobTypeService].Failed != 1 {
		t.Fatalf("failed eval not counted under its type: %+v", s.ByType)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if got, _, err := b.Dequeue(ctx, serviceOnly); err == nil {
		t.Fatalf("a service worker received eval %s from the failed queue", got.ID)
	}

	// The leader's reaper takes it from the FailedQueue; a nack there keeps it
	// failed (no delay); its ack frees the job for the pending eval.
	tokF := mustDequeueID(t, b, failedOnly, e.ID)
	if err := b.Nack(e.ID, tokF); err != nil {
		t.Fatal(err)
	}
	wantTotals(t, b, totals{Failed: 1, Pending: 1})
	tokF = mustDequeueID(t, b, failedOnly, e.ID)
	if err := b.Ack(e.ID, tokF); err != nil {
		t.Fatal(err)
	}
	mustDequeueID(t, b, serviceOnly, next.ID)
	if clock.Pending() != 1 { // next's nack timer only
		t.Fatalf("%d timers pending, want 1 (the outstanding eval's nack timer)", clock.Pending())
	}
}

func TestBrokerInitialNackDelay(t *testing.T) {
	b, clock := testBroker(t, Config{InitialNackDelay: time.Second, SubsequentNackDelay: 3 * time.Second})
	e := newEval("web").Build()
	b.Enqueue(e)
	tok := mustDequeueID(t, b, serviceOnly, e.ID)
	if err := b.Nack(e.ID, tok); err != nil {
		t.Fatal(err)
	}
	wantTotals(t, b, totals{Delayed: 1})
	clock.Advance(time.Second)
	tok = mustDequeueID(t, b, serviceOnly, e.ID)
	if err := b.Nack(e.ID, tok); err != nil {
		t.Fatal(err)
	}
	clock.Advance(2 * time.Second)
	wantTotals(t, b, totals{Delayed: 1})
	clock.Advance(time.Second)
	wantTotals(t, b, totals{Ready: 1})
}

func TestBrokerNackTimeout(t *testing.T) {
	b, clock := testBroker(t, Config{NackTimeout: time.Minute})
	e := newEval("web").Build()
	b.Enqueue(e)
	tok := mustDequeueID(t, b, serviceOnly, e.ID)
	clock.Advance(time.Minute - time.Nanosecond)
	wantTotals(t, b, totals{Unacked: 1})
	clock.Advance(time.Nanosecond)
	wantTotals(t, b, totals{Ready: 1}) // nacked for the worker; first nack: no delay

	if err := b.Ack(e.ID, tok); !errors.Is(err, ErrNotOutstanding) {
		t.Fatalf("Ack after the nack timeout = %v, want ErrNotOutstanding", err)
	}
	tok2 := mustDequeueID(t, b, serviceOnly, e.ID)
	if err := b.Ack(e.ID, tok); !errors.Is(err, ErrTokenMismatch) {
		t.Fatalf("Ack with the timed-out delivery's token = %v, want ErrTokenMismatch", err)
	}
	if err := b.Ack(e.ID, tok2); err != nil {
		t.Fatal(err)
	}
	if clock.Pending() != 0 {
		t.Fatalf("%d timers pending after ack", clock.Pending())
	}
}

func TestBrokerNackTimeoutCountsTowardsDeliveryLimit(t *testing.T) {
	b, clock := testBroker(t, Config{NackTimeout: time.Second, DeliveryLimit: 2, SubsequentNackDelay: -1})
	e := newEval("web").Build()
	b.Enqueue(e)
	mustDequeueID(t, b, serviceOnly, e.ID)
	clock.Advance(time.Second)
	mustDequeueID(t, b, serviceOnly, e.ID)
	clock.Advance(time.Second)
	wantTotals(t, b, totals{Failed: 1})
}

func TestBrokerOutstandingResetPushesDeadline(t *testing.T) {
	b, clock := testBroker(t, Config{NackTimeout: time.Minute})
	e := newEval("web").Build()
	b.Enqueue(e)
	tok := mustDequeueID(t, b, serviceOnly, e.ID)
	clock.Advance(50 * time.Second)
	if err := b.OutstandingReset(e.ID, tok); err != nil {
		t.Fatal(err)
	}
	if clock.Pending() != 1 {
		t.Fatalf("%d timers pending after reset, want 1: the old timer must be stopped", clock.Pending())
	}
	clock.Advance(50 * time.Second) // 100s after dequeue, 50s after reset
	wantTotals(t, b, totals{Unacked: 1})
	clock.Advance(10 * time.Second)
	wantTotals(t, b, totals{Ready: 1})
	if err := b.OutstandingReset(e.ID, tok); !errors.Is(err, ErrNotOutstanding) {
		t.Fatalf("OutstandingReset after the timeout = %v, want ErrNotOutstanding", err)
	}
}

func TestBrokerStaleTimerCallbacksAreIgnored(t *testing.T) {
	// A real timer may fire just as it is stopped; its callback must then do
	// nothing. Call the callbacks by hand with stale arguments.
	b, _ := testBroker(t, Config{SubsequentNackDelay: time.Second})
	e := newEval("web").Build()
	b.Enqueue(e)
	tok := mustDequeueID(t, b, serviceOnly, e.ID)
	b.mu.Lock()
	seq := b.mu.unacked[e.ID].timerSeq
	b.mu.Unlock()
	if err := b.OutstandingReset(e.ID, tok); err != nil {
		t.Fatal(err)
	}
	b.nackTimerFired(e.ID, tok, seq) // the timer replaced by the reset
	b.nackTimerFired(e.ID, "other-token", seq+1)
	wantTotals(t, b, totals{Unacked: 1})

	if err := b.Nack(e.ID, tok); err != nil {
		t.Fatal(err)
	}
	tok = mustDequeueID(t, b, serviceOnly, e.ID)
	if err := b.Nack(e.ID, tok); err != nil {
		t.Fatal(err)
	}
	wantTotals(t, b, totals{Delayed: 1})
	b.mu.Lock()
	dseq := b.mu.delayed[e.ID].seq
	b.mu.Unlock()
	b.nackDelayElapsed(e.ID, dseq-1)
	wantTotals(t, b, totals{Delayed: 1})
	b.nackDelayElapsed(e.ID, dseq)
	wantTotals(t, b, totals{Ready: 1})
	b.nackDelayElapsed(e.ID, dseq) // a second call finds nothing
	wantTotals(t, b, totals{Ready: 1})
}

func TestBrokerEnqueueKnownIDIsNoop(t *testing.T) {
	b, _ := testBroker(t, Config{})
	e := newEval("web").Build()
	pending := newEval("web").Build()
	b.Enqueue(e)
	b.Enqueue(e.Copy()) // same ID, other pointer: still the same eval
	b.Enqueue(pending)
	wantTotals(t, b, totals{Ready: 1, Pending: 1})
	tok := mustDequeueID(t, b, serviceOnly, e.ID)
	b.Enqueue(e)
	b.Enqueue(pending)
	wantTotals(t, b, totals{Unacked: 1, Pending: 1})
	if err := b.Ack(e.ID, tok); err != nil {
		t.Fatal(err)
	}
	wantTotals(t, b, totals{Ready: 1})
}

func TestBrokerDisabled(t *testing.T) {
	clock := newFakeClock()
	b := New(Config{Clock: clock}, nil)
	if b.Enabled() {
		t.Fatal("a new broker must start disabled")
	}
	b.Enqueue(newEval("web").Build())
	wantTotals(t, b, totals{})
	b.SetEnabled(true)
	wantTotals(t, b, totals{})
	if !b.Enabled() {
		t.Fatal("SetEnabled(true) did not enable")
	}
}

func TestBrokerDisableDropsEverythingAndStopsTimers(t *testing.T) {
	b, clock := testBroker(t, Config{SubsequentNackDelay: time.Second})
	delayed := newEval("delayed").Build()
	b.Enqueue(delayed)
	tok := mustDequeueID(t, b, serviceOnly, delayed.ID)
	_ = b.Nack(delayed.ID, tok)
	tok = mustDequeueID(t, b, serviceOnly, delayed.ID)
	_ = b.Nack(delayed.ID, tok)

	outstanding := newEval("out").Index(1, 1).Build()
	b.Enqueue(outstanding)
	b.Enqueue(newEval("out").Index(2, 2).Build())
	b.Enqueue(newEval("out").Index(3, 3).Build())
	outTok := mustDequeueID(t, b, serviceOnly, outstanding.ID)
	b.Enqueue(newEval("ready").Build())
	wantTotals(t, b, totals{Ready: 1, Unacked: 1, Delayed: 1, Pending: 2})
	if clock.Pending() != 2 {
		t.Fatalf("%d timers pending, want 2 (one nack timer, one nack delay)", clock.Pending())
	}

	b.SetEnabled(false)
	wantTotals(t, b, totals{})
	if clock.Pending() != 0 {
		t.Fatalf("%d timers still pending after disable", clock.Pending())
	}
	if err := b.Ack(outstanding.ID, outTok); !errors.Is(err, ErrNotOutstanding) {
		t.Fatalf("Ack of an eval dropped by disable = %v, want ErrNotOutstanding", err)
	}
	b.SetEnabled(true)
	clock.Advance(time.Hour)
	wantTotals(t, b, totals{})
	// The job slots were freed too: a new eval of the job runs at once.
	e := newEval("out").Build()
	b.Enqueue(e)
	mustDequeueID(t, b, serviceOnly, e.ID)
}

func TestBrokerDequeueWaitsAcrossDisable(t *testing.T) {
	b, _ := testBroker(t, Config{})
	type result struct {
		eval *structs.Evaluation
		err  error
	}
	got := make(chan result, 1)
	go func() {
		e, _, err := b.Dequeue(context.Background(), serviceOnly)
		got <- result{e, err}
	}()
	b.SetEnabled(false)
	b.Enqueue(newEval("dropped").Build()) // dropped: nothing for the waiter
	select {
	case r := <-got:
		t.Fatalf("Dequeue returned %+v while disabled", r)
	default:
	}
	b.SetEnabled(true)
	e := newEval("web").Build()
	b.Enqueue(e)
	select {
	case r := <-got:
		if r.err != nil || r.eval.ID != e.ID {
			t.Fatalf("Dequeue = %+v, want eval %s: a disable must not end a waiting Dequeue", r, e.ID)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Dequeue still blocked 10s after re-enable and Enqueue")
	}
}

func TestBrokerStatsByType(t *testing.T) {
	b, _ := testBroker(t, Config{})
	b.Enqueue(newEval("a").Build())
	b.Enqueue(newEval("a").Build())
	b.Enqueue(newEval("b").Type(structs.JobTypeBatch).Build())
	b.Enqueue(newEval("c").Type(structs.JobTypeBatch).Build())
	mustDequeue(t, b, []structs.JobType{structs.JobTypeBatch})
	s := b.Stats()
	want := map[structs.JobType]TypeStats{
		structs.JobTypeService: {Ready: 1, Pending: 1},
		structs.JobTypeBatch:   {Ready: 1, Unacked: 1},
	}
	if len(s.ByType) != len(want) {
		t.Fatalf("ByType = %+v, want %+v", s.ByType, want)
	}
	for typ, w := range want {
		if s.ByType[typ] != w {
			t.Fatalf("ByType[%s] = %+v, want %+v", typ, s.ByType[typ], w)
		}
	}
	if s.Ready != 2 || s.Unacked != 1 || s.Pending != 1 {
		t.Fatalf("totals = %+v", s)
	}
}

func TestBrokerCancelableDrainsInBatches(t *testing.T) {
	b, _ := testBroker(t, Config{})
	first := newEval("web").Index(1, 1).Build()
	b.Enqueue(first)
	var superseded []string
	for i := uint64(2); i <= 6; i++ {
		e := newEval("web").Index(i, i).Build()
		b.Enqueue(e)
		if i < 6 {
			superseded = append(superseded, e.ID)
		}
	}
	tok := mustDequeueID(t, b, serviceOnly, first.ID)
	if err := b.Ack(first.ID, tok); err != nil {
		t.Fatal(err)
	}
	var drained []string
	for _, n := range []int{3, 3} {
		batch := b.Cancelable(n)
		if len(batch) > n {
			t.Fatalf("Cancelable(%d) returned %d", n, len(batch))
		}
		drained = append(drained, evalIDs(batch)...)
	}
	if fmt.Sprint(drained) != fmt.Sprint(superseded) {
		t.Fatalf("drained %v, want %v in order", drained, superseded)
	}
	if got := b.Cancelable(0); got != nil {
		t.Fatalf("Cancelable on empty = %v, want nil", got)
	}
}

// TestBrokerConcurrentWorkers runs workers and producers at once (under -race)
// and checks that no job ever has two evaluations outstanding and that every
// evaluation ends either acked or cancelable.
func TestBrokerConcurrentWorkers(t *testing.T) {
	b := New(Config{DeliveryLimit: 1000, SubsequentNackDelay: -1}, nil) // real clock; no timer fires
	b.SetEnabled(true)
	const (
		jobs    = 20
		perJob  = 15
		workers = 4
	)
	total := jobs * perJob
	types := []structs.JobType{structs.JobTypeService, structs.JobTypeBatch}

	var (
		mu       sync.Mutex
		held     = make(map[string]string) // job → eval being processed
		acked    = make(map[string]bool)
		failures []string
	)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			for {
				e, tok, err := b.Dequeue(ctx, types)
				if err != nil {
					return
				}
				mu.Lock()
				if other, busy := held[e.JobID]; busy {
					failures = append(failures, fmt.Sprintf("job %s: eval %s dequeued while %s outstanding", e.JobID, e.ID, other))
				}
				held[e.JobID] = e.ID
				mu.Unlock()
				// "Schedule": yield so that other workers run while this job is held.
				for range rng.IntN(5) {
					runtime.Gosched()
				}
				nack := rng.IntN(4) == 0
				mu.Lock()
				delete(held, e.JobID)
				if !nack {
					acked[e.ID] = true
				}
				mu.Unlock()
				if nack {
					err = b.Nack(e.ID, tok)
				} else {
					err = b.Ack(e.ID, tok)
				}
				if err != nil {
					mu.Lock()
					failures = append(failures, err.Error())
					mu.Unlock()
				}
			}
		}()
	}
	for p := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := p; j < jobs; j += 2 {
				typ := types[j%2]
				for i := range perJob {
					b.Enqueue(newEval(fmt.Sprintf("job-%d", j)).Type(typ).Priority(1+i%3*40).Index(uint64(i+1), uint64(i+1)).Build())
				}
			}
		}()
	}

	canceled := make(map[string]bool)
	deadline := time.Now().Add(30 * time.Second)
	poll := time.NewTicker(5 * time.Millisecond)
	defer poll.Stop()
	for {
		for _, e := range b.Cancelable(0) {
			canceled[e.ID] = true
		}
		mu.Lock()
		done := len(acked) + len(canceled)
		mu.Unlock()
		if done == total {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 30s: %d acked + %d canceled of %d; stats %+v", len(acked), len(canceled), total, b.Stats())
		}
		<-poll.C
	}
	cancel()
	wg.Wait()
	for _, f := range failures {
		t.Error(f)
	}
	for id := range canceled {
		if acked[id] {
			t.Errorf("eval %s both acked and canceled", id)
		}
	}
	wantTotals(t, b, totals{})
}

func evalIDs(evals []*structs.Evaluation) []string {
	ids := make([]string, len(evals))
	for i, e := range evals {
		ids[i] = e.ID
	}
	return ids
}
