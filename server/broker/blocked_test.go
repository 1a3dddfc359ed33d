package broker

import (
	"fmt"
	"sync"
	"testing"

	"github.com/orch-io/orch/structs"
)

// testBlocked returns enabled Blocked evals over an enabled broker on a fake clock.
func testBlocked(t *testing.T) (*Blocked, *Broker) {
	t.Helper()
	b, _ := testBroker(t, Config{})
	bl := NewBlocked(b)
	bl.SetEnabled(true)
	return bl, b
}

func wantBlocked(t *testing.T, bl *Blocked, blocked, cancelable int) {
	t.Helper()
	if s := bl.Stats(); s.Blocked != blocked || s.Cancelable != cancelable {
		t.Fatalf("blocked stats = %+v, want %d blocked, %d cancelable", s, blocked, cancelable)
	}
}

func TestBlockedUnblockEnqueuesPendingCopiesOfOlderSnapshots(t *testing.T) {
	bl, b := testBlocked(t)
	old := newEval("old").Blocked(5).Build()
	fresh := newEval("fresh").Blocked(10).Build()
	bl.Block(old)
	bl.Block(fresh)
	wantBlocked(t, bl, 2, 0)

	bl.Unblock("", 5) // old planned at 5 already saw what changed at 5
	wantBlocked(t, bl, 2, 0)
	wantTotals(t, b, totals{})

	bl.Unblock("", 10)
	wantBlocked(t, bl, 1, 0)
	got, _ := mustDequeue(t, b, serviceOnly)
	if got.ID != old.ID || got.Status != structs.EvalStatusPending || got.SnapshotIndex != 5 {
		t.Fatalf("unblocked eval = %+v, want a pending copy of %s", got, old.ID)
	}
	if got == old || old.Status != structs.EvalStatusBlocked {
		t.Fatal("Unblock must enqueue a copy and leave the blocked eval untouched")
	}
	if s := bl.Stats(); s.ByType[structs.JobTypeService] != 1 {
		t.Fatalf("ByType = %+v, want 1 service eval still blocked", s.ByType)
	}
	bl.Unblock("", 11)
	wantBlocked(t, bl, 0, 0)
	mustDequeueID(t, b, serviceOnly, fresh.ID)
}

func TestBlockedOnePerJob(t *testing.T) {
	bl, b := testBlocked(t)
	first := newEval("web").Index(10, 10).Blocked(9).Build()
	second := newEval("web").Index(20, 20).Blocked(19).Build()
	stale := newEval("web").Index(15, 15).Blocked(14).Build()
	otherNS := newEval("web").Namespace("prod").Index(11, 11).Blocked(9).Build()

	bl.Block(first)
	bl.Block(first) // the same eval again: no change
	bl.Block(otherNS)
	wantBlocked(t, bl, 2, 0)
	bl.Block(second) // newer: replaces first
	wantBlocked(t, bl, 2, 1)
	bl.Block(stale) // older than the one held: itself superseded
	wantBlocked(t, bl, 2, 2)

	canceled := bl.Cancelable(0)
	if len(canceled) != 2 || canceled[0].ID != first.ID || canceled[1].ID != stale.ID {
		t.Fatalf("Cancelable = %v, want [%s %s]", evalIDs(canceled), first.ID, stale.ID)
	}
	wantBlocked(t, bl, 2, 0)

	bl.Unblock("", 100)
	ids := map[string]bool{}
	for range 2 {
		e, _ := mustDequeue(t, b, serviceOnly)
		ids[e.ID] = true
	}
	if !ids[second.ID] || !ids[otherNS.ID] {
		t.Fatalf("unblocked %v, want %s and %s", ids, second.ID, otherNS.ID)
	}
}

func TestBlockedNoLostUnblock(t *testing.T) {
	bl, b := testBlocked(t)
	// Capacity appears at 10 while a scheduler that planned at 7 is still running.
	bl.Unblock("", 10)
	missed := newEval("missed").Blocked(7).Build()
	bl.Block(missed)
	wantBlocked(t, bl, 0, 0)
	mustDequeueID(t, b, serviceOnly, missed.ID)
	// One that planned at 10 saw the capacity and still did not fit: it waits.
	saw := newEval("saw").Blocked(10).Build()
	bl.Block(saw)
	wantBlocked(t, bl, 1, 0)
	// A lower Unblock later must not lower the recorded index.
	bl.Unblock("", 3)
	late := newEval("late").Blocked(8).Build()
	bl.Block(late)
	wantBlocked(t, bl, 1, 0)
	mustDequeueID(t, b, serviceOnly, late.ID)
}

func TestBlockedMissedUnblockStillSupersedesOlder(t *testing.T) {
	bl, b := testBlocked(t)
	older := newEval("web").Index(5, 5).Blocked(4).Build()
	bl.Block(older)
	bl.Unblock("", 4) // not above older's snapshot: it stays blocked
	wantBlocked(t, bl, 1, 0)
	// A newer blocked eval of the job, planned at 3, before the unblock at 4:
	// it replaces older and, having missed that unblock, goes straight to the
	// broker; older is superseded.
	newer := newEval("web").Index(8, 8).Blocked(3).Build()
	bl.Block(newer)
	wantBlocked(t, bl, 0, 1)
	if c := bl.Cancelable(1); len(c) != 1 || c[0].ID != older.ID {
		t.Fatalf("Cancelable = %v, want [%s]", evalIDs(c), older.ID)
	}
	mustDequeueID(t, b, serviceOnly, newer.ID)
}

func TestBlockedUntrack(t *testing.T) {
	bl, _ := testBlocked(t)
	web := newEval("web").Blocked(1).Build()
	api := newEval("api").Blocked(1).Build()
	bl.Block(web)
	bl.Block(api)
	bl.Untrack("default", "web")
	bl.Untrack("default", "no-such-job")
	wantBlocked(t, bl, 1, 1)
	if c := bl.Cancelable(0); len(c) != 1 || c[0].ID != web.ID {
		t.Fatalf("Cancelable = %v, want the untracked eval %s", evalIDs(c), web.ID)
	}
}

func TestBlockedDisabled(t *testing.T) {
	b, _ := testBroker(t, Config{})
	bl := NewBlocked(b)
	if bl.Enabled() {
		t.Fatal("NewBlocked must start disabled")
	}
	bl.Block(newEval("web").Blocked(1).Build())
	bl.Unblock("", 100) // ignored: not even recorded
	wantBlocked(t, bl, 0, 0)
	bl.SetEnabled(true)
	bl.Block(newEval("web").Blocked(1).Build())
	wantBlocked(t, bl, 1, 0)
	wantTotals(t, b, totals{})

	bl.Block(newEval("web").Index(9, 9).Blocked(2).Build()) // supersedes: one cancelable
	bl.Unblock("", 50)
	bl.Block(newEval("api").Blocked(60).Build())
	wantBlocked(t, bl, 1, 1)
	mustDequeue(t, b, serviceOnly)

	bl.SetEnabled(false)
	wantBlocked(t, bl, 0, 0)
	bl.SetEnabled(true)
	// The recorded unblock index was dropped with everything else.
	bl.Block(newEval("late").Blocked(10).Build())
	wantBlocked(t, bl, 1, 0)
}

// TestBlockedConcurrentBlockAndUnblock races Block against Unblock (under
// -race) and checks that no evaluation stays blocked although an Unblock above
// its snapshot happened.
func TestBlockedConcurrentBlockAndUnblock(t *testing.T) {
	b := New(Config{}, nil)
	b.SetEnabled(true)
	bl := NewBlocked(b)
	bl.SetEnabled(true)
	const jobs = 200
	const maxIndex = 100

	evals := make([]*structs.Evaluation, jobs)
	for i := range evals {
		evals[i] = newEval(fmt.Sprintf("job-%d", i)).Blocked(uint64(i % (maxIndex + 20))).Build()
	}
	var wg sync.WaitGroup
	wg.Add(3)
	go func() {
		defer wg.Done()
		for _, e := range evals[:jobs/2] {
			bl.Block(e)
		}
	}()
	go func() {
		defer wg.Done()
		for _, e := range evals[jobs/2:] {
			bl.Block(e)
		}
	}()
	go func() {
		defer wg.Done()
		for i := uint64(1); i <= maxIndex; i++ {
			bl.Unblock("", i)
		}
	}()
	wg.Wait()

	bl.mu.Lock()
	for _, e := range bl.mu.byJob {
		if e.SnapshotIndex < maxIndex {
			t.Errorf("eval %s (snapshot %d) still blocked after Unblock(%d): a lost unblock", e.ID, e.SnapshotIndex, maxIndex)
		}
	}
	stillBlocked := len(bl.mu.byJob)
	bl.mu.Unlock()
	wantUnblocked := 0
	for _, e := range evals {
		if e.SnapshotIndex < maxIndex {
			wantUnblocked++
		}
	}
	if s := b.Stats(); s.Ready != wantUnblocked || stillBlocked != jobs-wantUnblocked {
		t.Fatalf("%d ready in the broker and %d blocked; want %d and %d", s.Ready, stillBlocked, wantUnblocked, jobs-wantUnblocked)
	}
}
