package server

import (
	"testing"
	"time"

	"github.com/orch-io/orch/internal/structstest"
	"github.com/orch-io/orch/server/state"
	"github.com/orch-io/orch/structs"
)

func TestAllocFailureEvalsOnePerJobWhenThePolicyAllows(t *testing.T) {
	st := state.NewStateStore()
	node := structstest.Node("n1", "n1")
	web := structstest.Job("web")
	web.Canonicalize() // the default service policy: unlimited
	sys := structstest.Job("sys")
	sys.Type = structs.JobTypeSystem
	sys.Canonicalize() // no policy
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(st.UpsertNode(1, node))
	must(st.UpsertJob(2, web))
	must(st.UpsertJob(3, sys))
	allocs := []*structs.Allocation{
		structstest.Alloc("w1", "e", web, node, "web", 0),
		structstest.Alloc("w2", "e", web, node, "web", 1),
		structstest.Alloc("s1", "e", sys, node, "web", 0),
	}
	must(st.UpsertPlanResults(4, nil, allocs))

	fail := func(id string) *structs.Allocation {
		a := st.AllocByID(id).Copy()
		a.ClientStatus = structs.AllocClientStatusFailed
		a.ModifyTime = time.Now().UnixNano()
		return a
	}
	updates := []*structs.Allocation{fail("w1"), fail("w2"), fail("s1")}
	evals := allocFailureEvals(st.Snapshot(), 5, updates)
	if len(evals) != 1 || evals[0].JobID != "web" || evals[0].TriggeredBy != structs.EvalTriggerRetryFailedAlloc ||
		evals[0].Status != structs.EvalStatusPending {
		t.Fatalf("evals = %+v, want one pending alloc-failure eval for web", evals)
	}
	if again := allocFailureEvals(st.Snapshot(), 5, updates); again[0].ID != evals[0].ID {
		t.Fatal("the eval ID is not deterministic: servers would disagree")
	}

	// Reported failed again (a later update of the same failure): no new eval.
	must(st.UpdateAllocsFromClient(6, updates))
	if evals := allocFailureEvals(st.Snapshot(), 7, updates); len(evals) != 0 {
		t.Fatalf("evals for an allocation already failed: %+v", evals)
	}
}
