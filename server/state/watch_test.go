package state

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/orch-io/orch/structs"
)

// Writes close watch channels before they return, so these tests check a
// Watch right after a write, without waiting.

func TestWatchOfNodeAllocsIgnoresOtherNodes(t *testing.T) {
	s := NewStateStore()
	job := testJob("web")
	must(t, s.UpsertJob(1, job))
	onA, onB := testAlloc(job, "node-a"), testAlloc(job, "node-b")
	must(t, s.UpsertPlanResults(2, job, []*structs.Allocation{onA, onB}))

	snap, w := s.WatchSnapshot()
	if got := snap.AllocsByNode("node-a"); len(got) != 1 {
		t.Fatalf("allocs of node-a: %d, want 1", len(got))
	}
	if got := snap.IndexUnwatched(TableAllocs); got != 2 {
		t.Fatalf("allocs index %d, want 2", got)
	}
	must(t, s.UpdateAllocsFromClient(3, []*structs.Allocation{{ID: onB.ID, ClientStatus: structs.AllocClientStatusRunning}}))
	must(t, s.UpsertPlanResults(4, job, []*structs.Allocation{testAlloc(job, "node-b")}))
	must(t, s.UpsertNode(5, &structs.Node{ID: "node-a"}))
	if w.Changed() {
		t.Fatal("writes to node-b's allocations and to node-a's registration fired a watch on node-a's allocations")
	}
	must(t, s.UpdateAllocsFromClient(6, []*structs.Allocation{{ID: onA.ID, ClientStatus: structs.AllocClientStatusRunning}}))
	if !w.Changed() {
		t.Fatal("a change to node-a's allocation did not fire the watch on them")
	}
	if err := w.Wait(context.Background()); err != nil {
		t.Fatalf("Wait after the change: %v", err)
	}
}

func TestWatchOfNewNodeFiresOnItsFirstAlloc(t *testing.T) {
	s := NewStateStore()
	job := testJob("web")
	must(t, s.UpsertJob(1, job))
	snap, w := s.WatchSnapshot()
	if got := snap.AllocsByNode("node-a"); len(got) != 0 {
		t.Fatalf("allocs of node-a: %d, want 0", len(got))
	}
	must(t, s.UpsertPlanResults(2, job, []*structs.Allocation{testAlloc(job, "node-a")}))
	if !w.Changed() {
		t.Fatal("the first allocation of a node did not fire the watch of its empty list")
	}
}

func TestWatchOfOneObject(t *testing.T) {
	s := NewStateStore()
	must(t, s.UpsertJob(1, testJob("api")))
	must(t, s.UpsertJob(2, testJob("web")))
	must(t, s.UpsertEvals(3, []*structs.Evaluation{{ID: "e1", JobID: "web", Status: structs.EvalStatusPending}}))

	snap, w := s.WatchSnapshot()
	if snap.JobByID("default", "web") == nil || snap.EvalByID("e1") == nil {
		t.Fatal("missing job or eval")
	}
	must(t, s.UpsertJob(4, testJob("api-2")))
	if w.Changed() {
		t.Fatal("registering another job fired the watch of job web")
	}
	changed := testJob("web")
	changed.TaskGroups[0].Count = 2
	must(t, s.UpsertJob(5, changed))
	if !w.Changed() {
		t.Fatal("changing job web did not fire its watch")
	}
}

func TestWatchOfIndex(t *testing.T) {
	s := NewStateStore()
	snap, w := s.WatchSnapshot()
	if snap.IndexUnwatched(TableJobs) != 0 || w.Len() != 1 { // the abandon channel only
		t.Fatalf("IndexUnwatched added to the watch: %d channels", w.Len())
	}
	if snap.LatestIndex() != 0 {
		t.Fatal("empty store has an index")
	}
	must(t, s.UpsertNode(1, &structs.Node{ID: "n1"}))
	if !w.Changed() {
		t.Fatal("the first write did not fire a watch on LatestIndex of an empty store")
	}
}

func TestWatchFiresOnRestore(t *testing.T) {
	s := NewStateStore()
	must(t, s.UpsertJob(1, testJob("web")))
	var buf bytes.Buffer
	must(t, s.Snapshot().Persist(&buf))

	snap, w := s.WatchSnapshot()
	snap.JobByID("default", "web")
	must(t, s.Restore(&buf))
	if !w.Changed() {
		t.Fatal("a restore did not fire a watch taken before it")
	}
	if _, w := s.WatchSnapshot(); w.Changed() {
		t.Fatal("a watch taken after the restore fired")
	}
}

func TestWatchWaitEndsWithContext(t *testing.T) {
	s := NewStateStore()
	snap, w := s.WatchSnapshot()
	snap.Jobs("*", "")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := w.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait with a canceled context: %v, want context.Canceled", err)
	}
}
