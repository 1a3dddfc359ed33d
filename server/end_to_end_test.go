package server

import (
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/orch-io/orch/structs"
)

// End to end inside one server: real Raft, state store, broker, workers,
// scheduler and plan applier; nodes are registered through the RPC endpoints
// as a client agent would.

func jobAllocs(t *testing.T, s *Server, jobID string) []*structs.AllocListStub {
	t.Helper()
	var resp structs.JobAllocationsResponse
	if err := s.RPC(t.Context(), "Job.Allocations", &structs.JobSpecificRequest{JobID: jobID}, &resp); err != nil {
		t.Fatalf("Job.Allocations: %v", err)
	}
	return resp.Allocations
}

func getEval(t *testing.T, s *Server, id string) *structs.Evaluation {
	t.Helper()
	var resp structs.SingleEvalResponse
	if err := s.RPC(t.Context(), "Eval.GetEval", &structs.EvalSpecificRequest{EvalID: id}, &resp); err != nil {
		t.Fatalf("Eval.GetEval: %v", err)
	}
	return resp.Eval
}

func running(allocs []*structs.AllocListStub) []*structs.AllocListStub {
	var out []*structs.AllocListStub
	for _, a := range allocs {
		if a.DesiredStatus == structs.AllocDesiredStatusRun {
			out = append(out, a)
		}
	}
	return out
}

// heartbeatUntil heartbeats node every interval, as its client would, until
// stop is closed.
func heartbeatUntil(t *testing.T, s *Server, node *structs.Node, interval time.Duration, stop <-chan struct{}) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		var resp structs.NodeUpdateResponse
		if err := s.RPC(t.Context(), "Node.UpdateStatus", &structs.NodeUpdateStatusRequest{NodeID: node.ID, SecretID: node.SecretID, Status: structs.NodeStatusReady}, &resp); err != nil {
			t.Errorf("heartbeat: %v", err)
			return
		}
	}
}

func TestEndToEnd_PlaceThenNodeDownThenReplace(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.MinHeartbeatTTL = time.Second
	cfg.HeartbeatGrace = 200 * time.Millisecond
	s := startServer(t, cfg)

	node := testNode()
	registerNode(t, s, node)
	stopHeartbeats := make(chan struct{})
	heartbeatsDone := make(chan struct{})
	go func() {
		defer close(heartbeatsDone)
		heartbeatUntil(t, s, node, 100*time.Millisecond, stopHeartbeats)
	}()
	reg := registerJob(t, s, testJob("web", 2, 256))

	waitFor(t, 10*time.Second, "2 allocations placed on the node", func() bool {
		return len(running(jobAllocs(t, s, "web"))) == 2
	})
	for _, a := range jobAllocs(t, s, "web") {
		if a.NodeID != node.ID || a.EvalID != reg.EvalID {
			t.Errorf("alloc %s on node %s from eval %s, want node %s, eval %s", a.ID, a.NodeID, a.EvalID, node.ID, reg.EvalID)
		}
	}
	waitFor(t, 5*time.Second, "register eval complete", func() bool {
		e := getEval(t, s, reg.EvalID)
		return e != nil && e.Status == structs.EvalStatusComplete
	})
	var job structs.SingleJobResponse
	if err := s.RPC(t.Context(), "Job.GetJob", &structs.JobSpecificRequest{JobID: "web"}, &job); err != nil || job.Job.Status != structs.JobStatusRunning {
		t.Errorf("job status = %v (%v), want running", job.Job, err)
	}

	// The client sees its allocations, and fetches them with their job.
	var list structs.NodeClientAllocsResponse
	if err := s.RPC(t.Context(), "Node.GetClientAllocs", &structs.NodeSpecificRequest{NodeID: node.ID, SecretID: node.SecretID}, &list); err != nil {
		t.Fatal(err)
	}
	var ca structs.AllocsGetResponse
	if err := s.RPC(t.Context(), "Alloc.GetAllocs", &structs.AllocsGetRequest{AllocIDs: slices.Sorted(maps.Keys(list.Allocs))}, &ca); err != nil {
		t.Fatal(err)
	}
	if err := ca.Resolve(); err != nil {
		t.Fatal(err)
	}
	if len(ca.Allocs) != 2 || ca.Allocs[0].Job == nil || ca.Allocs[0].Job.ID != "web" {
		t.Fatalf("Alloc.GetAllocs = %d allocs (first %+v), want 2 with their job", len(ca.Allocs), ca.Allocs)
	}
	// It reports them running.
	var upd structs.GenericResponse
	var report []*structs.Allocation
	for _, a := range ca.Allocs {
		report = append(report, &structs.Allocation{ID: a.ID, ClientStatus: structs.AllocClientStatusRunning})
	}
	if err := s.RPC(t.Context(), "Node.UpdateAlloc", &structs.AllocUpdateRequest{Alloc: report}, &upd); err != nil {
		t.Fatal(err)
	}

	// The node stops heartbeating: it goes down, a node-update eval runs and
	// stops its allocations; with no other node their replacements block.
	close(stopHeartbeats)
	<-heartbeatsDone
	waitFor(t, 10*time.Second, "node down", func() bool { return s.state.NodeByID(node.ID).Status == structs.NodeStatusDown })
	var nodeEval *structs.Evaluation
	waitFor(t, 10*time.Second, "node-update eval complete and allocs stopped", func() bool {
		nodeEval = nil
		for _, e := range s.state.Snapshot().EvalsByJob("default", "web") {
			if e.TriggeredBy == structs.EvalTriggerNodeUpdate {
				nodeEval = e
			}
		}
		return nodeEval != nil && nodeEval.Status == structs.EvalStatusComplete && len(running(jobAllocs(t, s, "web"))) == 0
	})
	if nodeEval.NodeID != node.ID {
		t.Errorf("node-update eval names node %q, want %q", nodeEval.NodeID, node.ID)
	}
	waitFor(t, 5*time.Second, "a blocked eval waits for capacity", func() bool { return s.blocked.Stats().Blocked == 1 })

	// A new node appears: the blocked eval is unblocked and the two
	// allocations are replaced there.
	other := testNode()
	registerNode(t, s, other)
	waitFor(t, 10*time.Second, "2 replacements on the new node", func() bool {
		r := running(jobAllocs(t, s, "web"))
		return len(r) == 2 && r[0].NodeID == other.ID && r[1].NodeID == other.ID
	})
}

func TestEndToEnd_TooBigJobBlocksUntilCapacity(t *testing.T) {
	s := startServer(t, testConfig(t.TempDir()))
	small := testNode() // 8 GiB
	registerNode(t, s, small)

	reg := registerJob(t, s, testJob("huge", 1, 16*1024))
	var eval *structs.Evaluation
	waitFor(t, 10*time.Second, "register eval complete", func() bool {
		eval = getEval(t, s, reg.EvalID)
		return eval != nil && eval.Status == structs.EvalStatusComplete
	})
	if len(eval.FailedTGAllocs) == 0 || eval.FailedTGAllocs["web"] == nil {
		t.Fatalf("eval.FailedTGAllocs = %+v, want group web's failure", eval.FailedTGAllocs)
	}
	if eval.BlockedEval == "" {
		t.Fatalf("eval.BlockedEval is empty, want the blocked eval's ID")
	}
	blocked := getEval(t, s, eval.BlockedEval)
	if blocked == nil || blocked.Status != structs.EvalStatusBlocked || blocked.JobID != "huge" {
		t.Fatalf("blocked eval = %+v, want a blocked eval of job huge", blocked)
	}
	if st := s.blocked.Stats(); st.Blocked != 1 {
		t.Errorf("blocked evals tracked = %d, want 1", st.Blocked)
	}
	if n := len(jobAllocs(t, s, "huge")); n != 0 {
		t.Errorf("%d allocations placed for a job that fits nowhere", n)
	}

	// A node big enough registers: the blocked eval runs and places it.
	big := testNode()
	big.NodeResources.MemoryMB = 32 * 1024
	registerNode(t, s, big)
	waitFor(t, 10*time.Second, "job placed on the big node", func() bool {
		r := running(jobAllocs(t, s, "huge"))
		return len(r) == 1 && r[0].NodeID == big.ID
	})
	waitFor(t, 10*time.Second, "unblocked eval complete", func() bool {
		e := getEval(t, s, eval.BlockedEval)
		return e != nil && e.Status == structs.EvalStatusComplete
	})
}

func TestEndToEnd_StopJobStopsAllocsAndTerminalAllocFreesCapacity(t *testing.T) {
	s := startServer(t, testConfig(t.TempDir()))
	node := testNode()
	node.NodeResources.MemoryMB = 1024
	registerNode(t, s, node)

	registerJob(t, s, testJob("first", 1, 768))
	waitFor(t, 10*time.Second, "first placed", func() bool { return len(running(jobAllocs(t, s, "first"))) == 1 })
	reg := registerJob(t, s, testJob("second", 1, 768)) // does not fit next to first
	waitFor(t, 10*time.Second, "second blocked", func() bool {
		e := getEval(t, s, reg.EvalID)
		return e != nil && e.Status == structs.EvalStatusComplete && e.BlockedEval != ""
	})

	// Stopping first stops its allocation: the capacity it frees unblocks
	// second.
	var dereg structs.JobDeregisterResponse
	if err := s.RPC(t.Context(), "Job.Deregister", &structs.JobDeregisterRequest{JobID: "first"}, &dereg); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "first stopped, second placed", func() bool {
		return len(running(jobAllocs(t, s, "first"))) == 0 && len(running(jobAllocs(t, s, "second"))) == 1
	})
	waitFor(t, 5*time.Second, "stop eval complete", func() bool {
		e := getEval(t, s, dereg.EvalID)
		return e != nil && e.Status == structs.EvalStatusComplete
	})
}

func TestEndToEnd_ClientTerminalAllocFreesCapacity(t *testing.T) {
	s := startServer(t, testConfig(t.TempDir()))
	node := testNode()
	node.NodeResources.MemoryMB = 1024
	registerNode(t, s, node)

	first := testJob("batch-first", 1, 768)
	first.Type = structs.JobTypeBatch
	registerJob(t, s, first)
	waitFor(t, 10*time.Second, "batch job placed", func() bool { return len(running(jobAllocs(t, s, "batch-first"))) == 1 })
	reg := registerJob(t, s, testJob("waits", 1, 768))
	waitFor(t, 10*time.Second, "second job blocked", func() bool {
		e := getEval(t, s, reg.EvalID)
		return e != nil && e.Status == structs.EvalStatusComplete && e.BlockedEval != ""
	})

	// The batch task finishes on the client: its capacity is free again.
	done := jobAllocs(t, s, "batch-first")[0]
	var upd structs.GenericResponse
	if err := s.RPC(t.Context(), "Node.UpdateAlloc", &structs.AllocUpdateRequest{Alloc: []*structs.Allocation{{
		ID: done.ID, ClientStatus: structs.AllocClientStatusComplete,
	}}}, &upd); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "second job placed in the freed capacity", func() bool {
		return len(running(jobAllocs(t, s, "waits"))) == 1
	})
	var job structs.SingleJobResponse
	waitFor(t, 5*time.Second, "finished batch job is dead", func() bool {
		if err := s.RPC(t.Context(), "Job.GetJob", &structs.JobSpecificRequest{JobID: "batch-first"}, &job); err != nil {
			t.Fatal(err)
		}
		return job.Job.Status == structs.JobStatusDead
	})
}
