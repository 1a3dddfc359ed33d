package structs

import "testing"

// The cached sum serves only the resources it was computed from: a copy
// with other resources sums its own.
func TestAllocationCacheComparable(t *testing.T) {
	a := &Allocation{AllocatedResources: &AllocatedResources{
		Tasks:  map[string]*Resources{"a": {CPU: 100, MemoryMB: 64}, "b": {CPU: 50, MemoryMB: 32}},
		Shared: AllocatedSharedResources{DiskMB: 10},
	}}
	want := ComparableResources{CPU: 150, MemoryMB: 96, DiskMB: 10}
	a.CacheComparable()
	if got := a.Comparable(); got != want {
		t.Errorf("cached Comparable = %+v, want %+v", got, want)
	}
	c := a.Copy()
	c.AllocatedResources.Tasks["a"].CPU = 1000
	if got := c.Comparable(); got.CPU != 1050 {
		t.Errorf("a copy with other resources sums CPU %d, want 1050", got.CPU)
	}
	if got := a.Comparable(); got != want {
		t.Errorf("the original's Comparable = %+v after its copy changed, want %+v", got, want)
	}
}
