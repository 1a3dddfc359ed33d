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

// A node without allocations has its own key from its registration: its
// client's watch (NodeAllocsIndex) sleeps through every other node's
// placements and reports. Without the key it watched the nearest existing
// node of the index table's radix tree, which those writes change.
func TestWatchOfEmptyNodeIgnoresOtherNodes(t *testing.T) {
	s := NewStateStore()
	job := testJob("web")
	must(t, s.UpsertJob(1, job))
	index := uint64(1)
	var others []string
	for range 300 {
		index++
		id := structs.GenerateUUID()
		must(t, s.UpsertNode(index, &structs.Node{ID: id}))
		others = append(others, id)
	}
	empty := structs.GenerateUUID()
	index++
	must(t, s.UpsertNode(index, &structs.Node{ID: empty}))
	registered := index

	snap, w := s.WatchSnapshot()
	if got := snap.NodeAllocsIndex(empty); got != registered {
		t.Fatalf("NodeAllocsIndex of a node without allocations = %d, want its registration's %d", got, registered)
	}
	var placed []*structs.Allocation
	for _, id := range others {
		index++
		a := testAlloc(job, id)
		must(t, s.UpsertPlanResults(index, job, []*structs.Allocation{a}))
		placed = append(placed, a)
	}
	for _, a := range placed {
		index++
		must(t, s.UpdateAllocsFromClient(index, []*structs.Allocation{{ID: a.ID, ClientStatus: structs.AllocClientStatusRunning}}))
	}
	if w.Changed() {
		t.Fatal("placements on and reports of 300 other nodes fired the watch of a node without allocations")
	}
	index++
	must(t, s.UpsertPlanResults(index, job, []*structs.Allocation{testAlloc(job, empty)}))
	if !w.Changed() {
		t.Fatal("the node's first allocation did not fire its watch")
	}
}

// The nodes' keys travel in snapshots; a snapshot written before they did
// gets them back on restore, from the nodes' allocations.
func TestNodeAllocsIndexSurvivesSnapshots(t *testing.T) {
	s := NewStateStore()
	job := testJob("web")
	must(t, s.UpsertJob(1, job))
	must(t, s.UpsertNode(2, &structs.Node{ID: "busy"}))
	must(t, s.UpsertNode(3, &structs.Node{ID: "idle"}))
	must(t, s.UpsertPlanResults(4, job, []*structs.Allocation{testAlloc(job, "busy")}))
	must(t, s.UpsertJob(5, testJob("other"))) // a later index that is not a node's
	want := map[string]uint64{"busy": 4, "idle": 3}

	restored := func(s *StateStore) *Snapshot {
		t.Helper()
		var buf bytes.Buffer
		must(t, s.Snapshot().Persist(&buf))
		r := NewStateStore()
		must(t, r.Restore(&buf))
		return r.Snapshot()
	}
	for node, index := range want {
		if got := restored(s).NodeAllocsIndex(node); got != index {
			t.Errorf("NodeAllocsIndex(%s) after a restore = %d, want %d", node, got, index)
		}
	}

	// An older snapshot: without the keys.
	txn := s.db.Load().Txn(true)
	for node := range want {
		if _, err := txn.DeleteAll(tableIndex, "id", nodeAllocsKey(node)); err != nil {
			t.Fatal(err)
		}
	}
	txn.Commit()
	if got := s.Snapshot().NodeAllocsIndex("idle"); got != 0 {
		t.Fatalf("NodeAllocsIndex after deleting the key = %d, want 0", got)
	}
	for node, index := range want {
		if got := restored(s).NodeAllocsIndex(node); got != index {
			t.Errorf("NodeAllocsIndex(%s) after a restore of a snapshot without the keys = %d, want %d", node, got, index)
		}
	}
}
