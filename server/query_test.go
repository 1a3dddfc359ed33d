package server

import (
	"context"
	"testing"
	"time"

	"github.com/orch-io/orch/server/state"
	"github.com/orch-io/orch/structs"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// waitingQueries is a Config.testHooks.queryWaiting that hands the test the
// Watch of every blocking query about to wait.
func waitingQueries(cfg *Config) <-chan *state.Watch {
	ch := make(chan *state.Watch, 16)
	cfg.testHooks.queryWaiting = func(w *state.Watch) { ch <- w }
	return ch
}

// nextWait returns the Watch of the next wait of a blocking query.
func nextWait(t *testing.T, waits <-chan *state.Watch, what string) *state.Watch {
	t.Helper()
	select {
	case w := <-waits:
		return w
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for a blocking query to wait: %s", what)
		return nil
	}
}

// placeAlloc commits a new allocation of job on node and returns it with the
// index of the entry.
func placeAlloc(t *testing.T, s *Server, job *structs.Job, nodeID string) (*structs.Allocation, uint64) {
	t.Helper()
	a := &structs.Allocation{
		ID: structs.GenerateUUID(), Name: structs.AllocName(job.ID, "web", 0), NodeID: nodeID, Namespace: job.Namespace, JobID: job.ID, TaskGroup: "web",
		DesiredStatus: structs.AllocDesiredStatusRun, ClientStatus: structs.AllocClientStatusPending,
	}
	index, err := s.raftApply(MsgApplyPlanResults, &ApplyPlanResultsEntry{Job: job, Allocs: []*structs.Allocation{a}})
	if err != nil {
		t.Fatal(err)
	}
	return a, index
}

// A client's allocation watch (the blocking query every client holds) wakes
// for the servers' changes to its own node's allocations only. A write returns after the
// FSM applied it, which closes the watch channels of what it changed, so
// Watch.Changed is exact right after it.
func TestBlockingQuery_ClientAllocsWakeOnlyForTheirNode(t *testing.T) {
	cfg := testConfig(t.TempDir())
	waits := waitingQueries(&cfg)
	s := startServer(t, cfg)
	nodeA, nodeB := testNode(), testNode()
	// IDs without a common prefix: a node's first allocation may wake the
	// watch of a node whose ID shares a prefix with it (state/watch.go).
	nodeA.ID, nodeB.ID = "a"+nodeA.ID[1:], "b"+nodeB.ID[1:]
	registerNode(t, s, nodeA)
	registerNode(t, s, nodeB)
	job := storeJobUnscheduled(t, s, testJob("watched", 1, 128))
	allocA, indexA := placeAlloc(t, s, job, nodeA.ID)

	done := make(chan *structs.NodeClientAllocsResponse, 1)
	go func() {
		var resp structs.NodeClientAllocsResponse
		req := &structs.NodeSpecificRequest{NodeID: nodeA.ID, SecretID: nodeA.SecretID,
			QueryOptions: structs.QueryOptions{MinQueryIndex: indexA, MaxQueryTime: time.Minute}}
		if err := s.RPC(t.Context(), "Node.GetClientAllocs", req, &resp); err != nil {
			t.Error(err)
		}
		done <- &resp
	}()
	watch := nextWait(t, waits, "node A's allocation watch")

	// Writes the query did not read: node B's allocations, node A's
	// registration, a job.
	_, _ = placeAlloc(t, s, job, nodeB.ID)
	registerNode(t, s, nodeA)
	storeJobUnscheduled(t, s, testJob("other", 1, 128))
	if watch.Changed() {
		t.Fatal("writes to other nodes' allocations, node A's registration and another job woke node A's allocation watch")
	}

	// Nor does the client's own status report: the query waits on the index
	// of the servers' writes to the node's allocations, which a report does
	// not raise (nothing there for the client to act on).
	update := &structs.Allocation{ID: allocA.ID, ClientStatus: structs.AllocClientStatusRunning}
	if _, err := s.raftApply(MsgAllocClientUpdate, &AllocClientUpdateEntry{Allocs: []*structs.Allocation{update}}); err != nil {
		t.Fatal(err)
	}
	if watch.Changed() {
		t.Fatal("the client's own status report woke its allocation watch")
	}

	// A change by the servers (a stop) answers it.
	stop := &structs.Allocation{ID: allocA.ID, DesiredStatus: structs.AllocDesiredStatusStop, DesiredDescription: "stopped by a test"}
	stopped, err := s.raftApply(MsgApplyPlanResults, &ApplyPlanResultsEntry{Job: job, Allocs: []*structs.Allocation{stop}})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case resp := <-done:
		if len(resp.Allocs) != 1 || resp.Allocs[allocA.ID] != stopped || resp.Index != stopped {
			t.Fatalf("GetClientAllocs = %v at %d, want node A's alloc at AllocModifyIndex %d, at %d", resp.Allocs, resp.Index, stopped, stopped)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("GetClientAllocs did not return when the servers stopped node A's allocation")
	}
	select {
	case <-waits:
		t.Fatal("the query waited a third time: something other than the two changes woke it")
	default:
	}
}

// A snapshot restore replaces the state store's database, whose watch
// channels then never fire: every waiting query must run again on the
// restored state.
func TestBlockingQuery_WakesOnSnapshotRestore(t *testing.T) {
	cfg := testConfig(t.TempDir())
	waits := waitingQueries(&cfg)
	s := startServer(t, cfg)
	node := testNode()
	registerNode(t, s, node)
	job := storeJobUnscheduled(t, s, testJob("watched", 1, 128))
	_, index := placeAlloc(t, s, job, node.ID)
	var saved structs.SnapshotSaveResponse
	if err := s.RPC(t.Context(), "Operator.SnapshotSave", &structs.GenericRequest{}, &saved); err != nil {
		t.Fatal(err)
	}

	go func() {
		var resp structs.NodeClientAllocsResponse
		req := &structs.NodeSpecificRequest{NodeID: node.ID, SecretID: node.SecretID,
			QueryOptions: structs.QueryOptions{MinQueryIndex: index, MaxQueryTime: time.Minute}}
		_ = s.RPC(t.Context(), "Node.GetClientAllocs", req, &resp) // ends with the server
	}()
	watch := nextWait(t, waits, "the query before the restore")
	var resp structs.GenericResponse
	if err := s.RPC(t.Context(), "Operator.SnapshotRestore", &structs.SnapshotRestoreRequest{Snapshot: saved.Snapshot}, &resp); err != nil {
		t.Fatal(err)
	}
	if !watch.Changed() {
		t.Fatal("a snapshot restore did not fire a watch taken before it")
	}
	// The restored allocations are the same, at the same index: the query
	// runs again and waits again, now on the restored state.
	if again := nextWait(t, waits, "the query after the restore"); again.Changed() {
		t.Fatal("the watch taken on the restored state fired without a write")
	}
}

// A query run waits for a turn at the server's gate: with every turn taken,
// a query does not run (it gives up when its context ends), and it runs once
// a turn is given back.
func TestBlockingQuery_WaitsForATurnAtTheGate(t *testing.T) {
	st := state.NewStateStore()
	gate := make(queryGate, 1)
	gate <- struct{}{} // the only turn, taken
	ran := make(chan struct{}, 2)
	query := func(*state.Snapshot) (uint64, error) {
		ran <- struct{}{}
		return 1, nil
	}

	// Its context ends while the turn is taken: it returns without running.
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- runBlockingQuery(ctx, st, gate, 0, nil, query) }()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(ran) != 0 {
		t.Fatal("the query ran while the gate's only turn was taken")
	}

	// The turn is given back: it runs, and gives the turn back in turn.
	go func() { done <- runBlockingQuery(t.Context(), st, gate, 0, nil, query) }()
	gate.leave()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(ran) != 1 {
		t.Fatal("the query did not run once the turn was given back")
	}
	if len(gate) != 0 {
		t.Errorf("the query kept its turn: %d taken after it ended", len(gate))
	}
}

// A client's stale watch on a follower that does not know the node (it has
// not applied the registration yet) is answered by the leader, not with
// "node not found".
func TestClientWatchOfANodeUnknownToTheFollowerGoesToTheLeader(t *testing.T) {
	servers := startCluster(t, 3)
	follower := followerOf(servers)
	req := &structs.NodeSpecificRequest{NodeID: structs.GenerateUUID(), SecretID: structs.GenerateUUID(),
		QueryOptions: structs.QueryOptions{AllowStale: true}}
	var resp structs.NodeClientAllocsResponse
	err := follower.RPC(t.Context(), "Node.GetClientAllocs", req, &resp)
	if structs.CodeOf(err) != structs.CodeNotFound {
		t.Fatalf("GetClientAllocs of a node nobody knows = %v, want not found (from the leader)", err)
	}
	forwarded := testutil.ToFloat64(follower.metrics.rpcRequests.WithLabelValues("Node.GetClientAllocs", "forwarded", string(structs.CodeNotFound)))
	if forwarded != 1 {
		t.Errorf("the follower forwarded %v GetClientAllocs calls to the leader, want 1", forwarded)
	}
}
