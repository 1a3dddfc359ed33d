package scheduler

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/orch-io/orch/server/state"
	"github.com/orch-io/orch/structs"
)

func TestGlobMatch(t *testing.T) {
	for _, tc := range []struct {
		pattern, s string
		want       bool
	}{
		{"*", "", true},
		{"*", "dc1", true},
		{"dc1", "dc1", true},
		{"dc1", "dc10", false},
		{"dc*", "dc10", true},
		{"dc*", "eu-dc1", false},
		{"*-1", "eu-west-1", true},
		{"eu-*-1", "eu-west-1", true},
		{"eu-*-1", "eu-west-2", false},
		{"*a*b*", "xxaxxbxx", true},
		{"*a*b", "xxaxxbxxb", true},
		{"a*a", "a", false},
		{"**", "x", true},
		{"[", "[", true}, // no character classes: not malformed, just literal
		{"", "", true},
		{"", "x", false},
	} {
		if got := globMatch(tc.pattern, tc.s); got != tc.want {
			t.Errorf("globMatch(%q, %q) = %v, want %v", tc.pattern, tc.s, got, tc.want)
		}
	}
}

func TestNodeSourceKeepsReadyEligibleNodesOfTheJobsDatacenters(t *testing.T) {
	store := state.NewStateStore()
	nodes := []*structs.Node{
		mockNode("a").DC("dc1").Build(),
		mockNode("b").DC("dc2").Build(),
		mockNode("c").DC("eu-1").Build(),
		mockNode("down").DC("dc1").Status(structs.NodeStatusDown).Build(),
		mockNode("init").DC("dc1").Status(structs.NodeStatusInit).Build(),
		mockNode("drained").DC("dc1").Ineligible().Build(),
	}
	for i, n := range nodes {
		must(t, store.UpsertNode(uint64(i+1), n))
	}
	snap := store.Snapshot()
	names := func(dcs ...string) []string {
		s := newNodeSource(snap, dcs, rand.New(rand.NewPCG(1, 1)), newPlanUsage(snap, nil))
		var out []string
		for range s.len() {
			out = append(out, s.nextNode().node.Name)
		}
		slices.Sort(out)
		return out
	}
	if got := names("dc*"); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("dc*: %v", got)
	}
	if got := names(); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("no datacenters (all): %v", got)
	}
	if got := names("eu-1", "dc2"); !slices.Equal(got, []string{"b", "c"}) {
		t.Errorf("eu-1, dc2: %v", got)
	}
	s := newNodeSource(snap, []string{"*"}, rand.New(rand.NewPCG(1, 1)), newPlanUsage(snap, nil))
	if want := map[string]int{"dc1": 1, "dc2": 1, "eu-1": 1}; !equalMaps(s.available, want) {
		t.Errorf("available %v, want %v", s.available, want)
	}
}

func TestNodeSourceShufflesWithTheSeedAndWrapsAround(t *testing.T) {
	store := state.NewStateStore()
	for i, n := range mockNodes(50, "n", nil) {
		must(t, store.UpsertNode(uint64(i+1), n))
	}
	snap := store.Snapshot()
	order := func(seed uint64) []string {
		s := newNodeSource(snap, nil, rand.New(rand.NewPCG(seed, 1)), newPlanUsage(snap, nil))
		var out []string
		for range 2 * s.len() {
			out = append(out, s.nextNode().id)
		}
		return out
	}
	a, b, c := order(1), order(1), order(2)
	if !slices.Equal(a, b) {
		t.Error("same seed, different order")
	}
	if slices.Equal(a, c) {
		t.Error("different seeds, same order: not shuffled")
	}
	if !slices.Equal(a[:50], a[50:]) {
		t.Error("the second round does not repeat the first")
	}
	if slices.IsSorted(a[:50]) {
		t.Error("candidates come in ID order: not shuffled")
	}
}

func equalMaps[K comparable, V comparable](a, b map[K]V) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
