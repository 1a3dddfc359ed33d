package scheduler

import (
	"testing"

	"github.com/orch-io/orch/structs"
)

// Affinity builds a job-level affinity.
func (b *jobBuilder) Affinity(l, op, r string, weight int8) *jobBuilder {
	b.j.Affinities = append(b.j.Affinities, &structs.Affinity{LTarget: l, Operand: op, RTarget: r, Weight: weight})
	return b
}

// TaskAffinity adds an affinity to the last task.
func (b *jobBuilder) TaskAffinity(l, op, r string, weight int8) *jobBuilder {
	t := b.task()
	t.Affinities = append(t.Affinities, &structs.Affinity{LTarget: l, Operand: op, RTarget: r, Weight: weight})
	return b
}

func TestNodeAffinityScore(t *testing.T) {
	job := mockJob().Affinity("${node.datacenter}", "=", "dc1", 60).
		TaskAffinity("${meta.kind}", "==", "spot", -20).
		Affinity("${attr.cpu.arch}", "!=", "arm64", 20).Build()
	a := newNodeAffinity(job, job.TaskGroups[0], 4)
	for _, tc := range []struct {
		node    *structs.Node
		want    float64
		applies bool
	}{
		{mockNode("a").Build(), 0.8, true},                                    // dc1, amd64
		{mockNode("b").Meta("kind", "spot").Build(), 0.6, true},               // dc1, amd64, spot
		{mockNode("c").DC("dc2").Attr("cpu.arch", "arm64").Build(), 0, false}, // matches none
		{mockNode("d").DC("dc2").Attr("cpu.arch", "arm64").Meta("kind", "spot").Build(), -0.2, true},
	} {
		for range 2 { // computed, then cached
			nu := &nodeUsage{node: tc.node, cand: 1 + int(tc.node.Name[0]-'a')}
			got, applies := a.score(nu)
			if applies != tc.applies || (applies && abs(got-tc.want) > 1e-9) {
				t.Errorf("node %s: score %v (applies %v), want %v (applies %v)", tc.node.Name, got, applies, tc.want, tc.applies)
			}
		}
	}
	if newNodeAffinity(mockJob().Build(), mockJob().Build().TaskGroups[0], 1) != nil {
		t.Error("a job without affinities has an affinity stage")
	}
}

func abs(f float64) float64 { return max(f, -f) }

// A positive affinity draws allocations to the matching nodes while they
// have room; a negative one keeps them off while others have room.
func TestAffinityPlacement(t *testing.T) {
	h := newHarness(t)
	h.upsertNodes(mockNodes(40, "a", func(b *nodeBuilder) { b.Meta("zone", "a") })...)
	h.upsertNodes(mockNodes(40, "b", func(b *nodeBuilder) { b.Meta("zone", "b") })...)
	h.upsertNodes(mockNodes(40, "c", func(b *nodeBuilder) { b.Meta("zone", "c") })...)
	// 40 allocations of 2000 MHz: two fit per node, zone b alone holds 80.
	h.run(mockJob().ID("pref").Count(40).CPU(2000).Affinity("${meta.zone}", "=", "b", 100).Build())
	if got := h.perMeta("pref", "zone"); got["b"] != 40 {
		t.Errorf("with affinity for zone b: allocations per zone %v, want all 40 in b", got)
	}
	h.run(mockJob().ID("avoid").Count(30).CPU(1000).Affinity("${meta.zone}", "=", "a", -100).Build())
	if got := h.perMeta("avoid", "zone"); got["a"] != 0 {
		t.Errorf("with anti-affinity for zone a: allocations per zone %v, want none in a", got)
	}
}
