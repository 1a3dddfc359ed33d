package broker

import (
	"testing"

	"github.com/orch-io/orch/structs"
)

// A placement that fits only because of its preemptions is accepted with
// them; the same placement without them is rejected.
func TestEvaluatePlanPreemptionsFreeRoom(t *testing.T) {
	snap := newFakePlanState(10)
	snap.addNode(testNode("n1", 4000, 1024))
	victim := snap.addAlloc(testAlloc("low", "n1", 500, 1000))
	place := testAlloc("high", "n1", 500, 500)

	without := planOf(nil, []*structs.Allocation{place})
	if r := EvaluatePlan(snap, without); len(r.NodeAllocation["n1"]) != 0 || r.RefreshIndex == 0 {
		t.Fatalf("without preemption: placed %d, refresh %d; want rejected", len(r.NodeAllocation["n1"]), r.RefreshIndex)
	}

	with := planOf(nil, []*structs.Allocation{place})
	with.AppendPreemptedAlloc(victim, place.ID)
	r := EvaluatePlan(snap, with)
	if len(r.NodeAllocation["n1"]) != 1 || r.RefreshIndex != 0 {
		t.Fatalf("with preemption: placed %d, refresh %d; want accepted", len(r.NodeAllocation["n1"]), r.RefreshIndex)
	}
	got := r.NodePreemptions["n1"]
	if len(got) != 1 || got[0].ID != "low" || got[0].DesiredStatus != structs.AllocDesiredStatusEvict || got[0].PreemptedByAllocation != "high" {
		t.Errorf("NodePreemptions = %+v, want low evicted by high", got)
	}
}

// A node whose placements are rejected loses its preemptions too; an
// already-terminal victim is not evicted again.
func TestEvaluatePlanPreemptionsDroppedWithTheirPlacements(t *testing.T) {
	snap := newFakePlanState(10)
	snap.addNode(testNode("n1", 4000, 1024))
	victim := snap.addAlloc(testAlloc("low", "n1", 500, 600))
	snap.addAlloc(testAlloc("other", "n1", 500, 400))
	place := testAlloc("high", "n1", 500, 900) // does not fit even with low gone

	p := planOf(nil, []*structs.Allocation{place})
	p.AppendPreemptedAlloc(victim, place.ID)
	r := EvaluatePlan(snap, p)
	if len(r.NodePreemptions["n1"]) != 0 || len(r.NodeAllocation["n1"]) != 0 || r.RefreshIndex == 0 {
		t.Errorf("preemptions %d, placements %d, refresh %d; want both dropped and a refresh",
			len(r.NodePreemptions["n1"]), len(r.NodeAllocation["n1"]), r.RefreshIndex)
	}

	snap2 := newFakePlanState(11)
	snap2.addNode(testNode("n1", 4000, 1024))
	gone := testAlloc("low", "n1", 500, 600)
	gone.ClientStatus = structs.AllocClientStatusComplete
	snap2.addAlloc(gone)
	p2 := planOf(nil, []*structs.Allocation{testAlloc("high", "n1", 500, 900)})
	p2.AppendPreemptedAlloc(testAlloc("low", "n1", 500, 600), "high")
	r2 := EvaluatePlan(snap2, p2)
	if len(r2.NodeAllocation["n1"]) != 1 || len(r2.NodePreemptions["n1"]) != 0 {
		t.Errorf("placements %d, preemptions %d; want the placement and no eviction of a finished alloc",
			len(r2.NodeAllocation["n1"]), len(r2.NodePreemptions["n1"]))
	}
}
