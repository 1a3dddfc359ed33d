package server

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/orch-io/orch/structs"
)

func TestPlanQueue_PriorityThenArrival(t *testing.T) {
	q := newPlanQueue()
	q.SetEnabled(true)
	in := []struct {
		eval     string
		priority int
	}{{"a", 50}, {"b", 70}, {"c", 50}, {"d", 10}, {"e", 70}}
	for _, p := range in {
		if _, err := q.Enqueue(&structs.Plan{EvalID: p.eval, Priority: p.priority}); err != nil {
			t.Fatal(err)
		}
	}
	var got string
	for range in {
		p, err := q.Dequeue(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		got += p.plan.EvalID
	}
	if want := "beacd"; got != want {
		t.Fatalf("dequeue order = %q, want %q (priority, then arrival)", got, want)
	}
}

func TestPlanQueue_DisabledRefusesAndFlushesWaiters(t *testing.T) {
	q := newPlanQueue()
	if _, err := q.Enqueue(&structs.Plan{EvalID: "x"}); !errors.Is(err, structs.ErrNoLeader) {
		t.Fatalf("Enqueue on a disabled queue: err = %v, want ErrNoLeader", err)
	}
	q.SetEnabled(true)
	pending, err := q.Enqueue(&structs.Plan{EvalID: "x"})
	if err != nil {
		t.Fatal(err)
	}
	dequeued := make(chan error, 1)
	q2 := newPlanQueue()
	q2.SetEnabled(true)
	go func() {
		_, err := q2.Dequeue(context.Background())
		dequeued <- err
	}()

	q.SetEnabled(false)
	q2.SetEnabled(false)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := pending.Wait(ctx); !errors.Is(err, structs.ErrNoLeader) || ctx.Err() != nil {
		t.Fatalf("queued plan after disable: err = %v, want ErrNoLeader from the flush", err)
	}
	if q.Len() != 0 {
		t.Fatalf("queue holds %d plans after disable, want 0", q.Len())
	}
	select {
	case err := <-dequeued:
		if !errors.Is(err, structs.ErrNoLeader) {
			t.Fatalf("Dequeue woken by disable: err = %v, want ErrNoLeader", err)
		}
	case <-ctx.Done():
		t.Fatal("Dequeue still blocked after the queue was disabled")
	}
}

func TestPlanQueue_DequeueWaitsForEnqueue(t *testing.T) {
	q := newPlanQueue()
	q.SetEnabled(true)
	got := make(chan string, 1)
	go func() {
		p, err := q.Dequeue(context.Background())
		if err != nil {
			got <- err.Error()
			return
		}
		got <- p.plan.EvalID
	}()
	if _, err := q.Enqueue(&structs.Plan{EvalID: "late"}); err != nil {
		t.Fatal(err)
	}
	select {
	case id := <-got:
		if id != "late" {
			t.Fatalf("dequeued %q, want late", id)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Dequeue did not return the plan enqueued after it started waiting")
	}
}
