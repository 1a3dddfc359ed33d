package server

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/orch-io/orch/internal/structstest"
	"github.com/orch-io/orch/structs"
)

func batch(index uint64) *structs.EventBatch {
	return &structs.EventBatch{Index: index, Events: []*structs.Event{{Topic: structs.TopicJob, Key: "j", Index: index}}}
}

func nextWithin(t *testing.T, s *Subscription) ([]*structs.EventBatch, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return s.Next(ctx)
}

// A consumer that reads nothing never holds up publishing; once the batch it
// needs next is overwritten, it is dropped.
func TestEventBufferDropsSlowConsumer(t *testing.T) {
	b := NewEventBuffer(4)
	slow := b.Subscribe(0)
	fast := b.Subscribe(0)
	for i := uint64(1); i <= 3; i++ {
		b.Publish(batch(i)) // returns at once: nobody reads
	}
	got, err := nextWithin(t, fast)
	if err != nil || len(got) != 3 || got[0].Index != 1 || got[2].Index != 3 {
		t.Fatalf("fast consumer: %v %v", got, err)
	}
	for i := uint64(4); i <= 10; i++ {
		b.Publish(batch(i))
	}
	if _, err := nextWithin(t, slow); !errors.Is(err, ErrSubscriptionDropped) {
		t.Errorf("slow consumer after 10 batches in a ring of 4: %v, want dropped", err)
	}
	// fast read up to 3 and the ring holds 7..10: it fell behind too.
	if _, err := nextWithin(t, fast); !errors.Is(err, ErrSubscriptionDropped) {
		t.Errorf("consumer behind by 6: %v, want dropped", err)
	}
	// Resuming at an index no longer held starts at the oldest held.
	got, err = nextWithin(t, b.Subscribe(2))
	if err != nil || len(got) != 4 || got[0].Index != 7 {
		t.Errorf("resume at 2: %v %v, want 7..10", got, err)
	}
	got, err = nextWithin(t, b.Subscribe(9))
	if err != nil || len(got) != 2 || got[0].Index != 9 {
		t.Errorf("resume at 9: %v %v, want 9 and 10", got, err)
	}
}

// A subscriber waits for the next batch, and its context ends the wait.
func TestEventBufferWaits(t *testing.T) {
	b := NewEventBuffer(8)
	s := b.Subscribe(0)
	done := make(chan []*structs.EventBatch)
	go func() {
		got, _ := s.Next(context.Background())
		done <- got
	}()
	b.Publish(batch(5))
	select {
	case got := <-done:
		if len(got) != 1 || got[0].Index != 5 {
			t.Errorf("woken with %v", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("subscriber not woken by a publish")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Next(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled wait: %v", err)
	}
}

// The FSM publishes the objects each entry wrote.
func TestFSMPublishesEvents(t *testing.T) {
	f := testFSM(t)
	sub := f.events.Subscribe(0)
	job := structstest.Job("web")
	eval := structstest.Eval("e1000000-0000-0000-0000-000000000000", job)
	if resp := applyEntry(t, f, 3, MsgJobRegister, &JobRegisterEntry{Job: job, Eval: eval}); resp != nil {
		t.Fatal(resp)
	}
	got, err := nextWithin(t, sub)
	if err != nil || len(got) != 1 || got[0].Index != 3 {
		t.Fatalf("batches: %v %v", got, err)
	}
	topics := map[structs.EventTopic]string{}
	for _, ev := range got[0].Events {
		topics[ev.Topic] = ev.Type
		if ev.Index != 3 {
			t.Errorf("event %+v: index %d", ev, ev.Index)
		}
	}
	if topics[structs.TopicJob] != "JobRegistered" || topics[structs.TopicEvaluation] != "EvaluationUpdated" || len(topics) != 2 {
		t.Errorf("events of a job register: %v", topics)
	}
}
