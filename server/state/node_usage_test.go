package state

import (
	"bytes"
	"testing"

	"github.com/orch-io/orch/structs"
)

// checkNodeUsage compares every node's kept usage with the sum of its live
// allocations, listed.
func checkNodeUsage(t *testing.T, step string, s *StateStore, nodes ...string) {
	t.Helper()
	snap := s.Snapshot()
	for _, n := range nodes {
		var want structs.ComparableResources
		wantPlain := true
		for _, a := range snap.AllocsByNode(n) {
			if !a.TerminalStatus() {
				want.Add(a.Comparable())
				wantPlain = wantPlain && !a.HoldsPortsOrCores()
			}
		}
		if got, plain := snap.NodeUsage(n); got != want || plain != wantPlain {
			t.Errorf("%s: node %s usage %+v plain=%v, its allocations sum %+v plain=%v", step, n, got, plain, want, wantPlain)
		}
	}
}

// The usage kept per node follows every kind of write of an allocation:
// placements, client reports, stops, in-place updates, garbage collection,
// and a snapshot's restore.
func TestNodeUsageFollowsAllocationWrites(t *testing.T) {
	job := testJob("web")
	s := storeWithJob(t, job, "n1", "n2")
	res := func(cpu, mem int, ports ...int) *structs.AllocatedResources {
		r := &structs.AllocatedResources{Tasks: map[string]*structs.Resources{"t": {CPU: cpu, MemoryMB: mem}},
			Shared: structs.AllocatedSharedResources{DiskMB: 10}}
		for _, p := range ports {
			r.Shared.Ports = append(r.Shared.Ports, structs.AllocatedPortMapping{Label: "http", Value: p})
		}
		return r
	}
	a1, a2, a3, b1 := testAlloc(job, "n1"), testAlloc(job, "n1"), testAlloc(job, "n1"), testAlloc(job, "n2")
	a1.AllocatedResources, a2.AllocatedResources, a3.AllocatedResources = res(100, 64), res(200, 128), res(300, 256)
	b1.AllocatedResources = res(500, 512, 8080)
	must(t, s.UpsertPlanResults(4, job, []*structs.Allocation{a1, a2, a3, b1}))
	checkNodeUsage(t, "placed", s, "n1", "n2", "n3")

	must(t, s.UpdateAllocsFromClient(5, []*structs.Allocation{
		{ID: a1.ID, ClientStatus: structs.AllocClientStatusRunning},
		{ID: a2.ID, ClientStatus: structs.AllocClientStatusFailed},
		{ID: b1.ID, ClientStatus: structs.AllocClientStatusRunning},
	}))
	checkNodeUsage(t, "reported", s, "n1", "n2")

	grown := &structs.Allocation{ID: a1.ID, NodeID: "n1", JobID: "web", DesiredStatus: structs.AllocDesiredStatusRun,
		AllocatedResources: res(150, 64)}
	stop := &structs.Allocation{ID: a3.ID, NodeID: "n1", JobID: "web", DesiredStatus: structs.AllocDesiredStatusStop}
	must(t, s.UpsertPlanResults(6, nil, []*structs.Allocation{grown, stop}))
	checkNodeUsage(t, "updated in place and stopped", s, "n1")

	var buf bytes.Buffer
	must(t, s.Snapshot().Persist(&buf))
	r := NewStateStore()
	must(t, r.Restore(&buf))
	checkNodeUsage(t, "restored", r, "n1", "n2")
	if used, _ := r.Snapshot().NodeUsage("n1"); used.CPU != 150 {
		t.Errorf("restored n1 uses %d MHz, want the in-place update's 150", used.CPU)
	}

	must(t, s.write(7, func(w *WriteTxn) error { return w.DeleteAllocs([]string{a1.ID, b1.ID}) }))
	checkNodeUsage(t, "garbage collected", s, "n1", "n2")
	if _, plain := s.Snapshot().NodeUsage("n2"); !plain {
		t.Error("n2 holds no port any more, its usage must be plain")
	}
}
