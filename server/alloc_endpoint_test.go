package server

import (
	"errors"
	"fmt"
	"testing"

	"github.com/orch-io/orch/structs"
)

// Alloc.GetAllocs answers the allocations asked for that exist, in the
// order asked, each job version once, without their placement metrics, and
// leaves the store's allocations whole; too many IDs are refused by code.
func TestAllocEndpoint_GetAllocsSendsEachJobOnce(t *testing.T) {
	s := startServer(t, testConfig(t.TempDir()))
	node := testNode()
	registerNode(t, s, node)
	web := storeJobUnscheduled(t, s, testJob("web", 2, 128))
	db := storeJobUnscheduled(t, s, testJob("db", 1, 128))
	w1, _ := placeAlloc(t, s, web, node.ID)
	w2, _ := placeAlloc(t, s, web, node.ID)
	d1 := &structs.Allocation{ID: structs.GenerateUUID(), Name: structs.AllocName(db.ID, "web", 0), NodeID: node.ID,
		Namespace: db.Namespace, JobID: db.ID, TaskGroup: "web", DesiredStatus: structs.AllocDesiredStatusRun,
		ClientStatus: structs.AllocClientStatusPending, Metrics: &structs.AllocMetric{NodesEvaluated: 3}}
	index, err := s.raftApply(MsgApplyPlanResults, &ApplyPlanResultsEntry{Job: db, Allocs: []*structs.Allocation{d1}})
	if err != nil {
		t.Fatal(err)
	}

	var resp structs.AllocsGetResponse
	req := &structs.AllocsGetRequest{AllocIDs: []string{d1.ID, "no-such-alloc", w1.ID, w2.ID},
		QueryOptions: structs.QueryOptions{MinQueryIndex: index - 1}}
	if err := s.RPC(t.Context(), "Alloc.GetAllocs", req, &resp); err != nil {
		t.Fatal(err)
	}
	if len(resp.Jobs) != 2 {
		t.Errorf("%d jobs in the answer, want 2 (web once for its two allocations, db)", len(resp.Jobs))
	}
	for _, a := range resp.Allocs {
		if a.Job != nil {
			t.Errorf("allocation %s carries its job on the wire; want it in Jobs only", a.ID)
		}
		if a.Metrics != nil {
			t.Errorf("allocation %s carries its placement metrics to the client", a.ID)
		}
	}
	if err := resp.Resolve(); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range resp.Allocs {
		got = append(got, a.ID+"/"+a.Job.ID)
	}
	if want := []string{d1.ID + "/db", w1.ID + "/web", w2.ID + "/web"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("allocations = %v, want %v (the existing ones, in the order asked, with their jobs)", got, want)
	}
	if a := s.state.Snapshot().AllocByID(w1.ID); a.Job == nil {
		t.Error("answering took the job off the state store's allocation")
	}
	if a := s.state.Snapshot().AllocByID(d1.ID); a.Metrics == nil {
		t.Error("answering took the placement metrics off the state store's allocation")
	}

	tooMany := &structs.AllocsGetRequest{AllocIDs: make([]string, structs.MaxAllocsGet+1)}
	err = s.RPC(t.Context(), "Alloc.GetAllocs", tooMany, &structs.AllocsGetResponse{})
	if !errors.Is(err, structs.ErrInvalid) {
		t.Errorf("%d IDs: err = %v, want an invalid-request error", len(tooMany.AllocIDs), err)
	}
}

// What a client's watch relies on: Node.GetClientAllocs names each
// allocation with its AllocModifyIndex, which a server-side change (a stop)
// raises and a client's own update leaves alone, so the client fetches the
// stopped allocation again and nothing after its own reports.
func TestNodeEndpoint_GetClientAllocsRaisesAllocModifyIndexOnServerChanges(t *testing.T) {
	s := startServer(t, testConfig(t.TempDir()))
	node := testNode()
	registerNode(t, s, node)
	job := storeJobUnscheduled(t, s, testJob("web", 1, 128))
	a, placed := placeAlloc(t, s, job, node.ID)
	list := func() map[string]uint64 {
		t.Helper()
		var resp structs.NodeClientAllocsResponse
		if err := s.RPC(t.Context(), "Node.GetClientAllocs", &structs.NodeSpecificRequest{NodeID: node.ID, SecretID: node.SecretID}, &resp); err != nil {
			t.Fatal(err)
		}
		return resp.Allocs
	}
	if got := list()[a.ID]; got != placed {
		t.Fatalf("AllocModifyIndex %d after placement, want %d", got, placed)
	}

	running := &structs.Allocation{ID: a.ID, ClientStatus: structs.AllocClientStatusRunning}
	if _, err := s.raftApply(MsgAllocClientUpdate, &AllocClientUpdateEntry{Allocs: []*structs.Allocation{running}}); err != nil {
		t.Fatal(err)
	}
	if got := list()[a.ID]; got != placed {
		t.Errorf("AllocModifyIndex %d after the client's own update, want it left at %d", got, placed)
	}

	stop := &structs.Allocation{ID: a.ID, DesiredStatus: structs.AllocDesiredStatusStop, DesiredDescription: "stopped by a test"}
	stopped, err := s.raftApply(MsgApplyPlanResults, &ApplyPlanResultsEntry{Job: job, Allocs: []*structs.Allocation{stop}})
	if err != nil {
		t.Fatal(err)
	}
	if got := list()[a.ID]; got != stopped {
		t.Errorf("AllocModifyIndex %d after the servers stopped it, want %d", got, stopped)
	}
}
