package scheduler

import (
	"testing"

	"github.com/orch-io/orch/structs"
)

// A blocked evaluation records which computed classes the class checks found
// infeasible (false) and which passed them but were full (true), and the
// failure metric counts exhausted nodes by node class.
func TestBlockedEvalRecordsClassEligibility(t *testing.T) {
	h := newHarness(t)
	fits := mockNode("full").Class("big").Mem(1024).Build()
	wrong := mockNode("windows").Class("win").Attr("kernel.name", "windows").Build()
	fits.ComputeClass()
	wrong.ComputeClass()
	h.upsertNodes(fits, wrong)
	h.run(mockJob().Count(2).Mem(600).Constraint("${attr.kernel.name}", "=", "linux").Build())

	m := h.lastEval().FailedTGAllocs["web"]
	if m == nil || m.ClassExhausted["big"] != 1 || m.ClassFiltered["win"] != 1 {
		t.Fatalf("failure metric %+v: want 1 exhausted node of class big and 1 filtered of class win", m)
	}
	if len(h.created) != 1 {
		t.Fatalf("%d evals created, want 1 blocked", len(h.created))
	}
	got := h.created[0].ClassEligibility
	if len(got) != 2 || got[fits.ComputedClass] != true || got[wrong.ComputedClass] != false {
		t.Fatalf("blocked eval ClassEligibility = %v, want %s: true (full) and %s: false (infeasible)", got, fits.ComputedClass, wrong.ComputedClass)
	}
}

func TestBlockedClassEligibilityMergesGroups(t *testing.T) {
	failed := map[string]*structs.AllocMetric{
		"a": {ClassEligibility: map[string]bool{"c1": false, "c2": false, "c3": true}},
		"b": {ClassEligibility: map[string]bool{"c1": false, "c2": true}},
	}
	got := blockedClassEligibility(failed)
	// c1: infeasible for both; c2: feasible for b; c3: not seen by b.
	want := map[string]bool{"c1": false, "c2": true, "c3": true}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
	if blockedClassEligibility(nil) != nil {
		t.Fatal("no failed group: want nil")
	}
}
