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
		s := newNodeSource(snap, dcs, "", rand.New(rand.NewPCG(1, 1)), newPlanUsage(snap, nil))
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
	s := newNodeSource(snap, []string{"*"}, "", rand.New(rand.NewPCG(1, 1)), newPlanUsage(snap, nil))
	if want := map[string]int{"dc1": 1, "dc2": 1, "eu-1": 1}; !equalMaps(s.available, want) {
		t.Errorf("available %v, want %v", s.available, want)
	}
}

func TestNodeSourceKeepsTheJobsNodePool(t *testing.T) {
	store := state.NewStateStore()
	gpu1 := mockNode("gpu1").Build()
	gpu1.NodePool = "gpu"
	gpu2 := mockNode("gpu2").Build()
	gpu2.NodePool = "gpu"
	def := mockNode("def").Build()
	def.NodePool = "default"
	for i, n := range []*structs.Node{gpu1, gpu2, def, mockNode("unset").Build()} {
		must(t, store.UpsertNode(uint64(i+1), n))
	}
	snap := store.Snapshot()
	names := func(pool string) []string {
		s := newNodeSource(snap, nil, pool, rand.New(rand.NewPCG(1, 1)), newPlanUsage(snap, nil))
		var out []string
		for range s.len() {
			out = append(out, s.nextNode().node.Name)
		}
		slices.Sort(out)
		return out
	}
	for pool, want := range map[string][]string{
		"gpu":     {"gpu1", "gpu2"},
		"default": {"def", "unset"}, // a node without a pool is in "default"
		"all":     {"def", "gpu1", "gpu2", "unset"},
		"none":    nil,
	} {
		if got := names(pool); !slices.Equal(got, want) {
			t.Errorf("pool %q: %v, want %v", pool, got, want)
		}
	}
}

func TestJobsOnlyRunInTheirNodePool(t *testing.T) {
	h := newHarness(t)
	gpu := mockNode("gpu").Build()
	gpu.NodePool = "gpu"
	h.upsertNodes(gpu, mockNode("plain").Build())
	job := mockJob().Count(3).CPU(100).Mem(100).Build()
	job.NodePool = "gpu"
	h.run(job)
	if per := h.perNode(job.ID); len(per) != 1 || per["gpu"] != 3 {
		t.Fatalf("per node %v, want 3 on gpu", per)
	}
	other := mockJob().ID("other").Count(3).CPU(100).Mem(100).Build()
	other.NodePool = "default"
	h.run(other)
	if per := h.perNode(other.ID); len(per) != 1 || per["plain"] != 3 {
		t.Fatalf("per node %v, want 3 on plain", per)
	}
}

func TestNodeSourceShufflesWithTheSeedAndWrapsAround(t *testing.T) {
	store := state.NewStateStore()
	for i, n := range mockNodes(50, "n", nil) {
		must(t, store.UpsertNode(uint64(i+1), n))
	}
	snap := store.Snapshot()
	order := func(seed uint64) []string {
		s := newNodeSource(snap, nil, "", rand.New(rand.NewPCG(seed, 1)), newPlanUsage(snap, nil))
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
