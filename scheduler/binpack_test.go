package scheduler

import (
	"testing"

	"github.com/orch-io/orch/structs"
)

func TestBinPackRejectsWhatDoesNotFitAndPrefersFullerNodes(t *testing.T) {
	job := mockJob().CPU(1000).Mem(1024).Disk(500).Build()
	b := newBinPack(job.TaskGroups[0], false)
	if b.ask != (structs.ComparableResources{CPU: 1000, MemoryMB: 1024, DiskMB: 500}) {
		t.Fatalf("ask %+v", b.ask)
	}
	node := mockNode("n").CPU(4000).Mem(4096).Disk(2000).Build()
	node.ReservedResources = &structs.NodeResources{CPU: 1000}
	at := func(used structs.ComparableResources) *nodeUsage {
		return &nodeUsage{id: node.ID, node: node, scanned: true, used: used}
	}

	empty, dim := b.fit(at(structs.ComparableResources{}))
	if dim != "" || empty <= 0 || empty >= 1 {
		t.Fatalf("empty node: score %v exhausted %q", empty, dim)
	}
	half, _ := b.fit(at(structs.ComparableResources{CPU: 1000, MemoryMB: 2048}))
	if half <= empty {
		t.Errorf("a fuller node must score higher: half %v, empty %v", half, empty)
	}
	full, dim := b.fit(at(structs.ComparableResources{CPU: 2000, MemoryMB: 3072, DiskMB: 1500}))
	if dim != "" || full != 1 {
		t.Errorf("exactly full: score %v exhausted %q, want 1", full, dim)
	}
	for _, tc := range []struct {
		used structs.ComparableResources
		dim  string
	}{
		{structs.ComparableResources{CPU: 2001}, "cpu"}, // 3000 offered after the reservation
		{structs.ComparableResources{MemoryMB: 3073}, "memory"},
		{structs.ComparableResources{DiskMB: 1501}, "disk"},
	} {
		if _, dim := b.fit(at(tc.used)); dim != tc.dim {
			t.Errorf("used %+v: exhausted %q, want %q", tc.used, dim, tc.dim)
		}
	}
}

func TestAllocatedResourcesMatchTheGroupsAsk(t *testing.T) {
	job := mockJob().CPU(300).Mem(128).Disk(700).Build()
	tg := job.TaskGroups[0]
	side := tg.Tasks[0].Copy()
	side.Name = "side"
	side.Resources = nil // treated as asking nothing
	tg.Tasks = append(tg.Tasks, side)
	a := &structs.Allocation{AllocatedResources: allocatedResources(tg)}
	if a.Comparable() != groupAsk(tg) || groupAsk(tg) != (structs.ComparableResources{CPU: 300, MemoryMB: 128, DiskMB: 700}) {
		t.Fatalf("allocated %+v, ask %+v", a.Comparable(), groupAsk(tg))
	}
	if a.AllocatedResources.Tasks["side"] == nil || a.AllocatedResources.Tasks["web"] == tg.Tasks[0].Resources {
		t.Fatal("every task gets its own copy of its resources")
	}
}
