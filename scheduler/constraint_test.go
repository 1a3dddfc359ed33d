package scheduler

import (
	"testing"

	"github.com/orch-io/orch/structs"
)

func TestCheckConstraint(t *testing.T) {
	node := mockNode("n1").DC("eu-1").Class("large").Attr("kernel.name", "linux").Meta("rack", "r1").Build()
	for _, tc := range []struct {
		l, op, r string
		want     bool
	}{
		{"${attr.kernel.name}", "=", "linux", true},
		{"${attr.kernel.name}", "=", "windows", false},
		{"${attr.kernel.name}", "!=", "windows", true},
		{"${attr.kernel.name}", "!=", "linux", false},
		{"${meta.rack}", "=", "r1", true},
		{"${meta.rack}", "==", "r1", true},
		{"${meta.rack}", "is", "r2", false},
		{"${meta.missing}", "=", "r1", false},
		{"${meta.missing}", "!=", "r1", true}, // missing differs from any value, as in Nomad
		{"${meta.missing}", "!=", "${attr.missing}", false},
		{"${node.unique.id}", "=", "node-n1", true},
		{"${node.unique.name}", "=", "n1", true},
		{"${node.datacenter}", "=", "eu-1", true},
		{"${node.class}", "=", "large", true},
		{"${node.class}", "not", "small", true},
		{"${unknown.thing}", "=", "", false},
		{"r1", "=", "${meta.rack}", true}, // literals on either side
		{"a", "=", "a", true},
		{"${attr.kernel.name}", "regexp", "lin.*", false}, // unsupported operand: never satisfied
	} {
		c := &structs.Constraint{LTarget: tc.l, Operand: tc.op, RTarget: tc.r}
		if got := checkConstraint(node, c); got != tc.want {
			t.Errorf("%s on n1 = %v, want %v", constraintKey(c), got, tc.want)
		}
	}
}

func TestConstraintFilterCollectsJobGroupAndTaskConstraintsInOrder(t *testing.T) {
	job := mockJob().
		Constraint("${attr.kernel.name}", "=", "linux").
		GroupConstraint("${meta.rack}", "=", "r1").
		TaskConstraint("${node.class}", "!=", "tiny").
		Build()
	f := newConstraintFilter(job, job.TaskGroups[0])
	for _, tc := range []struct {
		node   *structs.Node
		reason string
	}{
		{mockNode("ok").Meta("rack", "r1").Build(), ""},
		{mockNode("win").Attr("kernel.name", "windows").Meta("rack", "r9").Build(), "${attr.kernel.name} = linux"},
		{mockNode("r9").Meta("rack", "r9").Build(), "${meta.rack} = r1"},
		{mockNode("tiny").Meta("rack", "r1").Class("tiny").Build(), "${node.class} != tiny"},
	} {
		ok, reason := f.feasible(tc.node)
		if ok != (tc.reason == "") || reason != tc.reason {
			t.Errorf("node %s: ok=%v reason=%q, want reason %q", tc.node.Name, ok, reason, tc.reason)
		}
	}
}

func TestConstraintFilteringIsRecordedInMetrics(t *testing.T) {
	h := newHarness(t)
	h.upsertNodes(
		mockNode("win1").Attr("kernel.name", "windows").Build(),
		mockNode("win2").Attr("kernel.name", "windows").Build(),
		mockNode("lin").Build(),
	)
	h.run(mockJob().Constraint("${attr.kernel.name}", "=", "linux").Build())
	placed := planAllocs(h.lastPlan().NodeAllocation)
	if len(placed) != 1 || placed[0].NodeName != "lin" {
		t.Fatalf("placed %+v, want one on lin", placed)
	}
	// Only one node is feasible, so the scan visits all three.
	m := placed[0].Metrics
	if m.NodesEvaluated != 3 || m.NodesFiltered != 2 || m.ConstraintFiltered["${attr.kernel.name} = linux"] != 2 ||
		m.NodesAvailable["dc1"] != 3 || m.NodesExhausted != 0 {
		t.Fatalf("metrics %+v", m)
	}

	// A constraint no node satisfies: the failure names it.
	job := h.run(mockJob().ID("racked").Count(2).GroupConstraint("${meta.rack}", "=", "r9").Build())
	e := h.lastEval()
	fm := e.FailedTGAllocs["web"]
	if fm == nil {
		t.Fatalf("no failure recorded: %+v", e)
	}
	got := FailureSummary("web", job.TaskGroups[0].Count, fm.CoalescedFailures+1, fm)
	if want := `could not place 2 of 2 allocations of group web: constraint "${meta.rack} = r9" filtered 3 nodes`; got != want {
		t.Fatalf("summary:\n got %q\nwant %q", got, want)
	}
}
