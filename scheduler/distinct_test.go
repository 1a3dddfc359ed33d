package scheduler

import (
	"fmt"
	"testing"

	"github.com/orch-io/orch/structs"
)

func TestDistinctHostsGroupLevelPlacesOnePerNode(t *testing.T) {
	h := newHarness(t)
	h.upsertNodes(mockNodes(3, "n", nil)...)
	// Three nodes with room for many: five allocations, at most one per node.
	job := h.run(mockJob().Count(5).CPU(100).Mem(100).GroupConstraint("", "distinct_hosts", "true").Build())
	per := h.perNode(job.ID)
	if len(per) != 3 {
		t.Fatalf("per node %v, want one on each of 3 nodes", per)
	}
	for n, c := range per {
		if c != 1 {
			t.Fatalf("node %s runs %d allocations: %v", n, c, per)
		}
	}
	fm := h.lastEval().FailedTGAllocs["web"]
	if fm == nil || fm.ConstraintFiltered["distinct_hosts"] != 3 || fm.CoalescedFailures != 1 {
		t.Fatalf("failure metric %+v", fm)
	}

	// A later evaluation counts the allocations already running: scaling to 4
	// places nothing more.
	job = job.Copy()
	job.TaskGroups[0].Count = 4
	h.run(job)
	if got := len(h.running(job.ID)); got != 3 {
		t.Fatalf("%d running after scaling to 4, want 3", got)
	}
}

func TestDistinctHostsOffAndGroupScope(t *testing.T) {
	h := newHarness(t)
	h.upsertNodes(mockNodes(2, "n", nil)...)
	// distinct_hosts = false: no limit.
	off := h.run(mockJob().ID("off").Count(4).CPU(100).Mem(100).GroupConstraint("", "distinct_hosts", "false").Build())
	if got := len(h.running(off.ID)); got != 4 {
		t.Fatalf("%d running with distinct_hosts off, want 4", got)
	}
	// Group level: two groups may share a node; job level: they may not.
	grp := h.run(mockJob().ID("grp").CPU(100).Mem(100).GroupConstraint("", "distinct_hosts", "").
		Group("api").Count(2).GroupConstraint("", "distinct_hosts", "").Build())
	if got := len(h.running(grp.ID)); got != 3 {
		t.Fatalf("group level: %d running, want 3 (web 1, api 2)", got)
	}
	whole := h.run(mockJob().ID("whole").CPU(100).Mem(100).Constraint("", "distinct_hosts", "true").
		Group("api").Count(2).Build())
	per := h.perNode(whole.ID)
	if len(h.running(whole.ID)) != 2 || len(per) != 2 {
		t.Fatalf("job level: per node %v, want 2 allocations on 2 nodes", per)
	}
}

func TestDistinctPropertyLimitsAllocationsPerValue(t *testing.T) {
	h := newHarness(t)
	var nodes []*structs.Node
	for i := range 6 {
		nodes = append(nodes, mockNode(fmt.Sprint("n", i)).Meta("rack", fmt.Sprint("r", i%3)).Build())
	}
	nodes = append(nodes, mockNode("norack").Build()) // rejected: no property
	h.upsertNodes(nodes...)
	job := h.run(mockJob().Count(8).CPU(100).Mem(100).GroupConstraint("${meta.rack}", "distinct_property", "2").Build())
	perRack := map[string]int{}
	snap := h.store.Snapshot()
	for _, a := range h.running(job.ID) {
		perRack[snap.NodeByID(a.NodeID).Meta["rack"]]++
	}
	if len(perRack) != 3 || perRack["r0"] != 2 || perRack["r1"] != 2 || perRack["r2"] != 2 {
		t.Fatalf("per rack %v, want 2 on each of r0, r1, r2", perRack)
	}
	fm := h.lastEval().FailedTGAllocs["web"]
	if fm == nil || fm.CoalescedFailures != 1 || fm.ConstraintFiltered["${meta.rack} distinct_property 2"] != 7 {
		t.Fatalf("failure metric %+v", fm)
	}

	// Default limit 1, job level: counts every group. A down node that still
	// runs an allocation of the job (not a candidate) counts for its rack.
	h2 := newHarness(t)
	h2.upsertNodes(nodes...)
	j2 := mockJob().ID("j2").CPU(100).Mem(100).Constraint("${meta.rack}", "distinct_property", "").Group("api").Count(5).Build()
	h2.run(j2)
	perRack = map[string]int{}
	for _, a := range h2.running(j2.ID) {
		perRack[h2.store.Snapshot().NodeByID(a.NodeID).Meta["rack"]]++
	}
	if len(perRack) != 3 || perRack["r0"] != 1 || perRack["r1"] != 1 || perRack["r2"] != 1 {
		t.Fatalf("job level, limit 1: per rack %v", perRack)
	}
}

func TestDistinctPropertyCountsAllocationsOnNodesThatAreNotCandidates(t *testing.T) {
	h := newHarness(t)
	h.upsertNodes(mockNode("a").Meta("rack", "r1").Build(), mockNode("b").Meta("rack", "r1").Build())
	job := h.run(mockJob().CPU(100).Mem(100).GroupConstraint("${meta.rack}", "distinct_property", "2").Build())
	placed := h.running(job.ID)
	if len(placed) != 1 {
		t.Fatalf("placed %d", len(placed))
	}
	var on string
	for _, a := range placed {
		on = a.NodeID
	}
	// The node is made ineligible: its allocation keeps running and counts
	// for r1, so of 3 only one more fits in r1.
	n := h.store.Snapshot().NodeByID(on).Copy()
	n.SchedulingEligibility = structs.NodeIneligible
	h.upsertNodes(n)
	job = job.Copy()
	job.TaskGroups[0].Count = 3
	h.run(job)
	if got := len(h.running(job.ID)); got != 2 {
		t.Fatalf("%d running, want 2 (limit 2 in rack r1)", got)
	}
}
