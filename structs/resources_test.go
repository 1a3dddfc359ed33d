package structs

import "testing"

func TestAllocsFitNamesExhaustedDimension(t *testing.T) {
	node := &Node{
		NodeResources:     &NodeResources{CPU: 4000, MemoryMB: 8192, DiskMB: 10000},
		ReservedResources: &NodeResources{CPU: 100, MemoryMB: 192},
	}
	alloc := func(cpu, mem int) *Allocation {
		return &Allocation{
			DesiredStatus: AllocDesiredStatusRun, ClientStatus: AllocClientStatusRunning,
			AllocatedResources: &AllocatedResources{Tasks: map[string]*Resources{"t": {CPU: cpu, MemoryMB: mem}}, Shared: AllocatedSharedResources{DiskMB: 300}},
		}
	}
	fit, dim, used := AllocsFit(node, []*Allocation{alloc(1000, 4000), alloc(1000, 4000)})
	if !fit || dim != "" || used.MemoryMB != 8000 || used.DiskMB != 600 {
		t.Fatalf("8000 MB on 8000 free: fit=%v dim=%q used=%+v", fit, dim, used)
	}
	fit, dim, _ = AllocsFit(node, []*Allocation{alloc(1000, 4000), alloc(1000, 4001)})
	if fit || dim != "memory" {
		t.Fatalf("8001 MB on 8000 free: fit=%v dim=%q, want memory exhausted", fit, dim)
	}
	stopped := alloc(3000, 8000)
	stopped.DesiredStatus = AllocDesiredStatusStop
	if fit, _, _ := AllocsFit(node, []*Allocation{stopped, alloc(3900, 8000)}); !fit {
		t.Fatal("a stopped allocation must not count against the node")
	}
}

func TestAllocIndexParsesName(t *testing.T) {
	for name, want := range map[string]int{"web.web[0]": 0, "a.b[12]": 12, "a.b[]": -1, "ab": -1, "": -1, "a[b].c[3]": 3} {
		if got := (&Allocation{Name: name}).Index(); got != want {
			t.Errorf("Index(%q) = %d, want %d", name, got, want)
		}
	}
}
