package broker

import (
	"testing"
	"time"

	"github.com/orch-io/orch/structs"
)

func TestBrokerHoldsEvalUntilWaitUntil(t *testing.T) {
	b, clock := testBroker(t, Config{})
	later := newEval("job").Build()
	later.WaitUntil = clock.Now().Add(10 * time.Second)
	past := newEval("other").Build()
	past.WaitUntil = clock.Now().Add(-time.Second) // already passed: ready now
	b.Enqueue(later)
	b.Enqueue(past)
	if s := b.Stats(); s.Waiting != 1 || s.Ready != 1 || s.ByType[structs.JobTypeService].Waiting != 1 {
		t.Fatalf("stats = %+v, want 1 waiting and 1 ready", s)
	}
	mustDequeueID(t, b, serviceOnly, past.ID)

	// An eval of the same job enqueued meanwhile is not held behind it.
	now := newEval("job").Build()
	b.Enqueue(now)
	tok := mustDequeueID(t, b, serviceOnly, now.ID)

	clock.Advance(10*time.Second - time.Nanosecond)
	if s := b.Stats(); s.Waiting != 1 || s.Ready != 0 {
		t.Fatalf("just before WaitUntil: stats = %+v, want it still waiting", s)
	}
	clock.Advance(time.Nanosecond)
	// Its job has an eval outstanding: it is pending behind it, then ready.
	if s := b.Stats(); s.Waiting != 0 || s.Pending != 1 {
		t.Fatalf("at WaitUntil: stats = %+v, want it pending behind its job's outstanding eval", s)
	}
	if err := b.Ack(now.ID, tok); err != nil {
		t.Fatal(err)
	}
	mustDequeueID(t, b, serviceOnly, later.ID)
}

func TestBrokerDisableDropsWaitingEvals(t *testing.T) {
	b, clock := testBroker(t, Config{})
	e := newEval("job").Build()
	e.WaitUntil = clock.Now().Add(time.Minute)
	b.Enqueue(e)
	b.SetEnabled(false)
	if clock.Pending() != 0 {
		t.Fatalf("%d timers still pending after disable", clock.Pending())
	}
	b.SetEnabled(true)
	b.Enqueue(e) // the next leader restores it from the state store
	if s := b.Stats(); s.Waiting != 1 {
		t.Fatalf("stats after restore = %+v, want it waiting again", s)
	}
	clock.Advance(time.Minute)
	mustDequeueID(t, b, serviceOnly, e.ID)
}

func TestBrokerFollowupWaitUntil(t *testing.T) {
	b, clock := testBroker(t, Config{FailedFollowupDelay: time.Minute, FailedFollowupDelayRange: 5 * time.Minute})
	for range 100 {
		d := b.FollowupWaitUntil().Sub(clock.Now())
		if d < time.Minute || d >= 6*time.Minute {
			t.Fatalf("follow-up delay %s, want in [1m, 6m)", d)
		}
	}
	b, clock = testBroker(t, Config{FailedFollowupDelay: time.Second, FailedFollowupDelayRange: -1})
	if d := b.FollowupWaitUntil().Sub(clock.Now()); d != time.Second {
		t.Fatalf("follow-up delay without range = %s, want 1s", d)
	}
}
