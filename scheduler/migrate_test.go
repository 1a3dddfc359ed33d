package scheduler

import (
	"testing"

	"github.com/orch-io/orch/structs"
)

// markMigrate sets the desired transition the drainer (or alloc stop) sets.
func (h *harness) markMigrate(allocID string) {
	h.t.Helper()
	w := h.store.Begin(h.nextIndex())
	must(h.t, w.UpdateAllocsDesiredTransitions(map[string]structs.DesiredTransition{allocID: {Migrate: true}}))
	must(h.t, w.Commit())
}

func TestMigrateStopsOnlyOnceTheReplacementIsPlaced(t *testing.T) {
	h := newHarness(t)
	h.upsertNodes(mockNodes(1, "a", nil)...)
	job := h.run(mockJob().Build())
	first := h.onlyLive(job.ID)

	// Its node drains: ineligible; no other node yet.
	w := h.store.Begin(h.nextIndex())
	must(t, w.UpdateNodeEligibility(first.NodeID, structs.NodeIneligible, nil))
	must(t, w.Commit())
	h.markMigrate(first.ID)
	h.process(job.Type, h.newEval(job, structs.EvalTriggerAllocStop))
	if got := h.store.AllocByID(first.ID); got.DesiredStatus != structs.AllocDesiredStatusRun {
		t.Fatalf("allocation stopped (%s) though its replacement found no node", got.DesiredStatus)
	}
	if ev := h.lastEval(); len(ev.FailedTGAllocs) == 0 {
		t.Fatalf("eval %+v records no placement failure", ev)
	}

	// A node joins: the replacement goes there and the allocation stops.
	h.upsertNodes(mockNodes(1, "b", nil)...)
	h.process(job.Type, h.newEval(job, structs.EvalTriggerNodeUpdate))
	old := h.store.AllocByID(first.ID)
	if old.DesiredStatus != structs.AllocDesiredStatusStop || old.DesiredDescription != allocMigrating {
		t.Fatalf("migrated allocation: %s %q", old.DesiredStatus, old.DesiredDescription)
	}
	next := h.onlyLive(job.ID)
	if next.NodeID == first.NodeID || next.PreviousAllocation != first.ID || next.Name != first.Name {
		t.Fatalf("replacement %+v", next)
	}
}

func TestAllocStopReplacesInPlaceWhenNodeIsEligible(t *testing.T) {
	h := newHarness(t)
	h.upsertNodes(mockNodes(1, "a", nil)...)
	job := h.run(mockJob().Build())
	first := h.onlyLive(job.ID)
	h.markMigrate(first.ID)
	h.process(job.Type, h.newEval(job, structs.EvalTriggerAllocStop))
	next := h.onlyLive(job.ID)
	if next.ID == first.ID || next.NodeID != first.NodeID {
		t.Fatalf("replacement %+v: want a new allocation on the same (only) node", next)
	}
	if h.store.AllocByID(first.ID).DesiredStatus != structs.AllocDesiredStatusStop {
		t.Fatal("stopped allocation still wanted running")
	}
}
