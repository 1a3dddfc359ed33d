package server

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/orch-io/orch/structs"
)

func TestNodeEndpoint_RegisterHeartbeatAndSecret(t *testing.T) {
	s := startServer(t, testConfig(t.TempDir()))
	node := testNode()
	resp := registerNode(t, s, node)
	if resp.HeartbeatTTL < s.config.MinHeartbeatTTL || resp.Index == 0 || len(resp.Servers) != 1 || resp.Servers[0] != s.RPCAddr() {
		t.Errorf("Node.Register = %+v: want TTL >= %s, an index and this server", resp, s.config.MinHeartbeatTTL)
	}
	stored := s.state.NodeByID(node.ID)
	if stored == nil || stored.Status != structs.NodeStatusReady || stored.StatusUpdatedAt == 0 {
		t.Fatalf("stored node = %+v, want it ready", stored)
	}
	// The server fills the pool and computes the class the scheduler caches by.
	want := node.Copy()
	want.NodePool = structs.NodePoolDefault
	want.ComputeClass()
	if stored.NodePool != "default" || stored.ComputedClass == "" || stored.ComputedClass != want.ComputedClass {
		t.Errorf("stored pool %q, class %q; want pool default, class %q", stored.NodePool, stored.ComputedClass, want.ComputedClass)
	}
	if s.heartbeats.activeTimers() != 1 {
		t.Errorf("%d heartbeat timers, want 1", s.heartbeats.activeTimers())
	}

	var hb structs.NodeUpdateResponse
	if err := s.RPC(t.Context(), "Node.UpdateStatus", &structs.NodeUpdateStatusRequest{NodeID: node.ID, SecretID: node.SecretID, Status: structs.NodeStatusReady}, &hb); err != nil {
		t.Fatalf("heartbeat: %v", err)
	}
	if hb.HeartbeatTTL == 0 {
		t.Errorf("heartbeat reply has no TTL")
	}
	err := s.RPC(t.Context(), "Node.UpdateStatus", &structs.NodeUpdateStatusRequest{NodeID: node.ID, SecretID: "wrong"}, &hb)
	if !errors.Is(err, structs.ErrPermissionDenied) {
		t.Errorf("heartbeat with a wrong secret: err = %v, want %q", err, structs.ErrPermissionDenied)
	}
	impostor := testNode()
	impostor.ID = node.ID
	if err := s.RPC(t.Context(), "Node.Register", &structs.NodeRegisterRequest{Node: impostor}, &hb); !errors.Is(err, structs.ErrPermissionDenied) {
		t.Errorf("re-register with another secret: err = %v, want %q", err, structs.ErrPermissionDenied)
	}
	err = s.RPC(t.Context(), "Node.UpdateStatus", &structs.NodeUpdateStatusRequest{NodeID: "unknown"}, &hb)
	if !errors.Is(err, structs.ErrNotFound) {
		t.Errorf("heartbeat of an unknown node: err = %v, want not found", err)
	}

	var get structs.SingleNodeResponse
	if err := s.RPC(t.Context(), "Node.GetNode", &structs.NodeSpecificRequest{NodeID: node.ID}, &get); err != nil {
		t.Fatal(err)
	}
	if get.Node == nil || get.Node.ID != node.ID || get.Node.SecretID != "" {
		t.Errorf("Node.GetNode = %+v: want the node without its secret", get.Node)
	}
	var list structs.NodeListResponse
	if err := s.RPC(t.Context(), "Node.List", &structs.NodeListRequest{}, &list); err != nil || len(list.Nodes) != 1 {
		t.Errorf("Node.List = %d nodes, %v; want 1", len(list.Nodes), err)
	}
}

func TestNodeEndpoint_RegisterValidates(t *testing.T) {
	s := startServer(t, testConfig(t.TempDir()))
	var resp structs.NodeUpdateResponse
	bad := testNode()
	bad.ID, bad.SecretID = "", ""
	err := s.RPC(t.Context(), "Node.Register", &structs.NodeRegisterRequest{Node: bad}, &resp)
	if err == nil {
		t.Fatal("registered a node without ID and secret")
	}
	for _, want := range []string{`ID = ""`, `SecretID = ""`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

// TestHeartbeat_ExpiryMarksNodeDownWithEvals: a node that stops heartbeating
// is marked down through Raft, with a node-update eval for each job that had
// allocations on it; a heartbeat brings it back to ready.
func TestHeartbeat_ExpiryMarksNodeDownWithEvals(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.MinHeartbeatTTL = 100 * time.Millisecond
	cfg.HeartbeatGrace = 50 * time.Millisecond
	cfg.NumSchedulers = 1
	s := startServer(t, cfg)

	node := testNode()
	job := storeJobUnscheduled(t, s, testJob("on-node", 1, 128))
	// Place an allocation on the node the way the plan applier does, so that
	// this test does not depend on the scheduler; before the node registers,
	// so that its timer cannot run out first.
	alloc := &structs.Allocation{
		ID: structs.GenerateUUID(), Name: structs.AllocName(job.ID, "web", 0), NodeID: node.ID,
		JobID: job.ID, TaskGroup: "web", DesiredStatus: structs.AllocDesiredStatusRun, ClientStatus: structs.AllocClientStatusRunning,
		AllocatedResources: &structs.AllocatedResources{Tasks: map[string]*structs.Resources{"server": {CPU: 100, MemoryMB: 128}}},
	}
	if _, err := s.raftApply(MsgApplyPlanResults, &ApplyPlanResultsEntry{Job: job, Allocs: []*structs.Allocation{alloc}}); err != nil {
		t.Fatal(err)
	}
	resp := registerNode(t, s, node)
	if resp.HeartbeatTTL < 100*time.Millisecond || resp.HeartbeatTTL >= 200*time.Millisecond {
		t.Errorf("TTL = %s, want in [100ms, 200ms): the minimum plus a stagger", resp.HeartbeatTTL)
	}

	waitFor(t, 10*time.Second, "node marked down after its TTL", func() bool {
		n := s.state.NodeByID(node.ID)
		return n != nil && n.Status == structs.NodeStatusDown
	})
	down := s.state.NodeByID(node.ID)
	var nodeEval *structs.Evaluation
	for _, e := range s.state.Snapshot().EvalsByJob("default", job.ID) {
		if e.TriggeredBy == structs.EvalTriggerNodeUpdate {
			nodeEval = e
		}
	}
	if nodeEval == nil || nodeEval.NodeID != node.ID || nodeEval.CreateIndex != down.ModifyIndex {
		t.Fatalf("node-update eval = %+v, node down at %d: want an eval for the node, committed with the status", nodeEval, down.ModifyIndex)
	}
	if s.heartbeats.activeTimers() != 0 {
		t.Errorf("%d heartbeat timers left after the node went down, want 0", s.heartbeats.activeTimers())
	}

	// A heartbeat from the down node makes it ready again.
	var hb structs.NodeUpdateResponse
	if err := s.RPC(t.Context(), "Node.UpdateStatus", &structs.NodeUpdateStatusRequest{NodeID: node.ID, SecretID: node.SecretID, Status: structs.NodeStatusReady}, &hb); err != nil {
		t.Fatal(err)
	}
	if n := s.state.NodeByID(node.ID); n.Status != structs.NodeStatusReady || hb.Index != n.ModifyIndex {
		t.Errorf("after a heartbeat: node %s at %d, reply index %d: want ready at the reply's index", n.Status, n.ModifyIndex, hb.Index)
	}
}

// TestHeartbeat_NewLeaderGivesEveryNodeAFullTTL: after a restart the nodes are
// not marked down at once: each gets its TTL and grace from the new term.
func TestHeartbeat_NewLeaderGivesEveryNodeAFullTTL(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	cfg.MinHeartbeatTTL = time.Hour
	s := startServer(t, cfg)
	node := testNode()
	registerNode(t, s, node)
	if err := s.Shutdown(); err != nil {
		t.Fatal(err)
	}
	s2 := startServer(t, testConfig(dir))
	if n := s2.heartbeats.activeTimers(); n != 1 {
		t.Errorf("new leader has %d heartbeat timers, want 1 for the known node", n)
	}
	if st := s2.state.NodeByID(node.ID).Status; st != structs.NodeStatusReady {
		t.Errorf("node status after restart = %s, want ready", st)
	}
}

func TestNodeEndpoint_UpdateAllocBatchesIntoOneEntry(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.AllocUpdateBatchWindow = 200 * time.Millisecond
	s := startServer(t, cfg)
	node := testNode()
	registerNode(t, s, node)
	job := storeJobUnscheduled(t, s, testJob("batched", 2, 128))
	var allocs []*structs.Allocation
	for i := range 2 {
		allocs = append(allocs, &structs.Allocation{
			ID: structs.GenerateUUID(), Name: structs.AllocName(job.ID, "web", i), NodeID: node.ID, JobID: job.ID, TaskGroup: "web",
			DesiredStatus: structs.AllocDesiredStatusRun, ClientStatus: structs.AllocClientStatusPending,
		})
	}
	if _, err := s.raftApply(MsgApplyPlanResults, &ApplyPlanResultsEntry{Job: job, Allocs: allocs}); err != nil {
		t.Fatal(err)
	}

	indexes := make(chan uint64, 2)
	errs := make(chan error, 2)
	for _, a := range allocs {
		go func() {
			var resp structs.GenericResponse
			err := s.RPC(t.Context(), "Node.UpdateAlloc", &structs.AllocUpdateRequest{Alloc: []*structs.Allocation{{
				ID: a.ID, ClientStatus: structs.AllocClientStatusRunning, ClientDescription: "running", DesiredStatus: structs.AllocDesiredStatusStop,
			}}}, &resp)
			errs <- err
			indexes <- resp.Index
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	i1, i2 := <-indexes, <-indexes
	if i1 != i2 || i1 == 0 {
		t.Errorf("updates sent together committed at %d and %d, want one entry", i1, i2)
	}
	for _, a := range allocs {
		got := s.state.Snapshot().AllocByID(a.ID)
		if got.ClientStatus != structs.AllocClientStatusRunning || got.ClientDescription != "running" {
			t.Errorf("alloc %s: client status %q (%q), want running", a.ID, got.ClientStatus, got.ClientDescription)
		}
		if got.DesiredStatus != structs.AllocDesiredStatusRun {
			t.Errorf("alloc %s: a client update changed the desired status to %q", a.ID, got.DesiredStatus)
		}
	}

	var resp structs.GenericResponse
	err := s.RPC(t.Context(), "Node.UpdateAlloc", &structs.AllocUpdateRequest{Alloc: []*structs.Allocation{{ID: allocs[0].ID, ClientStatus: "exploded"}}}, &resp)
	if err == nil || !strings.Contains(err.Error(), `client status = "exploded"`) {
		t.Errorf("update with an unknown client status: err = %v", err)
	}
}

func TestNodeEndpoint_GetClientAllocsBlocksOnTheNodesAllocs(t *testing.T) {
	s := startServer(t, testConfig(t.TempDir()))
	node := testNode()
	registerNode(t, s, node)
	job := storeJobUnscheduled(t, s, testJob("watched", 1, 128))

	var first structs.NodeClientAllocsResponse
	req := &structs.NodeSpecificRequest{NodeID: node.ID, SecretID: node.SecretID}
	if err := s.RPC(t.Context(), "Node.GetClientAllocs", req, &first); err != nil {
		t.Fatal(err)
	}
	if len(first.Allocs) != 0 || first.Index == 0 {
		t.Fatalf("first GetClientAllocs = %d allocs at %d, want none at a non-zero index", len(first.Allocs), first.Index)
	}
	done := make(chan *structs.NodeClientAllocsResponse, 1)
	go func() {
		var resp structs.NodeClientAllocsResponse
		r := *req
		r.MinQueryIndex, r.MaxQueryTime = first.Index, time.Minute
		if err := s.RPC(t.Context(), "Node.GetClientAllocs", &r, &resp); err != nil {
			t.Error(err)
		}
		done <- &resp
	}()
	alloc := &structs.Allocation{
		ID: structs.GenerateUUID(), Name: structs.AllocName(job.ID, "web", 0), NodeID: node.ID, JobID: job.ID, TaskGroup: "web",
		DesiredStatus: structs.AllocDesiredStatusRun, ClientStatus: structs.AllocClientStatusPending,
	}
	index, err := s.raftApply(MsgApplyPlanResults, &ApplyPlanResultsEntry{Job: job, Allocs: []*structs.Allocation{alloc}})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case resp := <-done:
		if len(resp.Allocs) != 1 || resp.Allocs[alloc.ID] != index || resp.Index != index {
			t.Errorf("GetClientAllocs = %v at %d: want the new alloc, AllocModifyIndex %d, at %d", resp.Allocs, resp.Index, index, index)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("GetClientAllocs did not return when an alloc was placed on the node")
	}

	var resp structs.NodeClientAllocsResponse
	if err := s.RPC(t.Context(), "Node.GetClientAllocs", &structs.NodeSpecificRequest{NodeID: node.ID, SecretID: "wrong"}, &resp); !errors.Is(err, structs.ErrPermissionDenied) {
		t.Errorf("GetClientAllocs with a wrong secret: err = %v", err)
	}
}

// A node without allocations is not answered when other nodes get theirs
// (its answer's index stays put), and is answered when the servers collect
// one of its allocations, so its client forgets it.
func TestNodeEndpoint_GetClientAllocsOfAnEmptyNode(t *testing.T) {
	s := startServer(t, testConfig(t.TempDir()))
	empty, busy := testNode(), testNode()
	registerNode(t, s, empty)
	registerNode(t, s, busy)
	job := storeJobUnscheduled(t, s, testJob("watched", 1, 128))
	watch := func(node *structs.Node, min uint64, wait time.Duration) *structs.NodeClientAllocsResponse {
		t.Helper()
		var resp structs.NodeClientAllocsResponse
		req := &structs.NodeSpecificRequest{NodeID: node.ID, SecretID: node.SecretID,
			QueryOptions: structs.QueryOptions{MinQueryIndex: min, MaxQueryTime: wait}}
		if err := s.RPC(t.Context(), "Node.GetClientAllocs", req, &resp); err != nil {
			t.Error(err) // not Fatal: one call runs in a goroutine of its own
		}
		return &resp
	}
	place := func(node *structs.Node) (*structs.Allocation, uint64) {
		t.Helper()
		a := &structs.Allocation{
			ID: structs.GenerateUUID(), Name: structs.AllocName(job.ID, "web", 0), NodeID: node.ID, JobID: job.ID, TaskGroup: "web",
			DesiredStatus: structs.AllocDesiredStatusRun, ClientStatus: structs.AllocClientStatusPending,
		}
		index, err := s.raftApply(MsgApplyPlanResults, &ApplyPlanResultsEntry{Job: job, Allocs: []*structs.Allocation{a}})
		if err != nil {
			t.Fatal(err)
		}
		return a, index
	}

	first := watch(empty, 0, 0)
	place(busy)
	// Answered at the end of its wait, at the same index: its client lists
	// nothing again.
	if resp := watch(empty, first.Index, 200*time.Millisecond); resp.Index != first.Index || len(resp.Allocs) != 0 {
		t.Errorf("after another node's placement the empty node is answered %v at %d, want nothing new at %d", resp.Allocs, resp.Index, first.Index)
	}

	a, placed := place(empty)
	if resp := watch(empty, first.Index, time.Minute); resp.Index != placed || len(resp.Allocs) != 1 {
		t.Fatalf("after its own placement the node is answered %v at %d, want the allocation at %d", resp.Allocs, resp.Index, placed)
	}
	done := make(chan *structs.NodeClientAllocsResponse, 1)
	go func() { done <- watch(empty, placed, time.Minute) }()
	collected, err := s.raftApply(MsgCoreGC, &CoreGCEntry{AllocIDs: []string{a.ID}})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case resp := <-done:
		if resp.Index != collected || len(resp.Allocs) != 0 {
			t.Errorf("after the collection of its allocation the node is answered %v at %d, want none at %d", resp.Allocs, resp.Index, collected)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the collection of the node's allocation did not answer its watch")
	}
}
