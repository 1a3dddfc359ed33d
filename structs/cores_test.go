package structs

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseCoreList(t *testing.T) {
	for in, want := range map[string][]int{"": nil, "0": {0}, "0-1,3": {0, 1, 3}, " 3 , 1-2,2": {1, 2, 3}} {
		got, err := ParseCoreList(in)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("ParseCoreList(%q) = %v, %v; want %v", in, got, err, want)
		}
		if want != nil && roundTripCores(t, FormatCoreList(got)) != FormatCoreList(want) {
			t.Errorf("FormatCoreList(%v) does not round-trip", got)
		}
	}
	for _, in := range []string{"a", "1-", "3-1", "-1", "0,,1", "99999"} {
		if _, err := ParseCoreList(in); err == nil || !strings.Contains(err.Error(), in) {
			t.Errorf("ParseCoreList(%q) = %v, want an error naming the value", in, err)
		}
	}
	if got := FormatCoreList([]int{0, 1, 2, 5, 7, 8}); got != "0-2,5,7-8" {
		t.Errorf("FormatCoreList = %q", got)
	}
}

func roundTripCores(t *testing.T, s string) string {
	t.Helper()
	c, err := ParseCoreList(s)
	if err != nil {
		t.Fatal(err)
	}
	return FormatCoreList(c)
}

func TestAllocsFitRejectsSharedOrUnofferedCores(t *testing.T) {
	node := &Node{
		NodeResources:     &NodeResources{CPU: 4000, MemoryMB: 4096, Cores: []int{0, 1, 2, 3}},
		ReservedResources: &NodeResources{Cores: []int{0}},
	}
	if got := node.SchedulableCores(); !reflect.DeepEqual(got, []int{1, 2, 3}) || node.MHzPerCore() != 1000 {
		t.Fatalf("schedulable %v, MHz per core %d", got, node.MHzPerCore())
	}
	alloc := func(id string, cores ...int) *Allocation {
		return &Allocation{ID: id, AllocatedResources: &AllocatedResources{Tasks: map[string]*Resources{
			"t": {CPU: 1000 * len(cores), Cores: len(cores), MemoryMB: 10, ReservedCores: cores}}}}
	}
	if ok, dim, _ := AllocsFit(node, []*Allocation{alloc("a", 1, 2), alloc("b", 3)}); !ok {
		t.Fatalf("disjoint cores do not fit: %s", dim)
	}
	if ok, dim, _ := AllocsFit(node, []*Allocation{alloc("a", 1, 2), alloc("b", 2)}); ok || dim != DimensionCores {
		t.Fatalf("a core held twice fits (%v, %q)", ok, dim)
	}
	if ok, dim, _ := AllocsFit(node, []*Allocation{alloc("a", 0)}); ok || dim != DimensionCores {
		t.Fatalf("a reserved core fits (%v, %q)", ok, dim)
	}
	stopped := alloc("b", 2)
	stopped.DesiredStatus = AllocDesiredStatusStop
	if ok, dim, _ := AllocsFit(node, []*Allocation{alloc("a", 1, 2), stopped}); !ok {
		t.Fatalf("a stopped allocation's core counts: %s", dim)
	}
}
