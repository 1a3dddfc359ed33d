package server

import (
	"testing"
	"time"

	"github.com/orch-io/orch/structs"
)

// systemJob is a system job of one group asking 100 MHz and 64 MB.
func systemJob(id string) *structs.Job {
	j := testJob(id, 1, 64)
	j.Type = structs.JobTypeSystem
	return j
}

// liveByNode returns the job's allocations the servers want running, by node.
func liveByNode(t *testing.T, s *Server, jobID string) map[string]*structs.AllocListStub {
	t.Helper()
	out := map[string]*structs.AllocListStub{}
	for _, a := range running(jobAllocs(t, s, jobID)) {
		if prev := out[a.NodeID]; prev != nil {
			t.Errorf("node %s runs two allocations of system job %s: %s and %s", a.NodeID, jobID, prev.ID, a.ID)
		}
		out[a.NodeID] = a
	}
	return out
}

func TestEndToEnd_SystemJobFollowsNodes(t *testing.T) {
	s := startServer(t, testConfig(t.TempDir()))
	n1, n2 := testNode(), testNode()
	registerNode(t, s, n1)
	registerNode(t, s, n2)
	registerJob(t, s, systemJob("sys"))
	// A stopped system job must not be evaluated when nodes join.
	registerJob(t, s, systemJob("stopped"))
	var dereg structs.JobDeregisterResponse
	if err := s.RPC(t.Context(), "Job.Deregister", &structs.JobDeregisterRequest{JobID: "stopped"}, &dereg); err != nil {
		t.Fatal(err)
	}

	waitFor(t, 10*time.Second, "one allocation on each of the 2 nodes", func() bool {
		live := liveByNode(t, s, "sys")
		return len(live) == 2 && live[n1.ID] != nil && live[n2.ID] != nil
	})

	// A third node registers: it gets one, through a node-update eval for it.
	n3 := testNode()
	registerNode(t, s, n3)
	waitFor(t, 10*time.Second, "an allocation on the third node", func() bool {
		return liveByNode(t, s, "sys")[n3.ID] != nil
	})
	var nodeEval *structs.Evaluation
	for _, e := range s.state.Snapshot().EvalsByJob("default", "sys") {
		if e.TriggeredBy == structs.EvalTriggerNodeUpdate && e.NodeID == n3.ID {
			nodeEval = e
		}
	}
	if nodeEval == nil || nodeEval.Type != structs.JobTypeSystem {
		t.Fatalf("no system node-update eval for node %s: %+v", n3.ID, nodeEval)
	}
	if a := liveByNode(t, s, "sys")[n3.ID]; a.EvalID != nodeEval.ID {
		t.Errorf("allocation on node 3 came from eval %s, want the node-update eval %s", a.EvalID, nodeEval.ID)
	}
	for _, e := range s.state.Snapshot().EvalsByJob("default", "stopped") {
		if e.TriggeredBy == structs.EvalTriggerNodeUpdate {
			t.Errorf("stopped job got node-update eval %s", e.ID)
		}
	}

	// Node 3 leaves: its allocation stops. It comes back: it gets a new one.
	var resp structs.NodeUpdateResponse
	if err := s.RPC(t.Context(), "Node.UpdateStatus", &structs.NodeUpdateStatusRequest{NodeID: n3.ID, SecretID: n3.SecretID, Status: structs.NodeStatusDown}, &resp); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the allocation on the departed node stopped", func() bool {
		live := liveByNode(t, s, "sys")
		return len(live) == 2 && live[n3.ID] == nil
	})
	if err := s.RPC(t.Context(), "Node.UpdateStatus", &structs.NodeUpdateStatusRequest{NodeID: n3.ID, SecretID: n3.SecretID, Status: structs.NodeStatusReady}, &resp); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "an allocation on the returned node", func() bool {
		return len(liveByNode(t, s, "sys")) == 3
	})
}

func TestNodeChangeNeedsSystemEvals(t *testing.T) {
	base := testNode()
	base.Status = structs.NodeStatusReady
	with := func(f func(n *structs.Node)) *structs.Node {
		n := base.Copy()
		f(n)
		return n
	}
	for _, tc := range []struct {
		name     string
		old, cur *structs.Node
		want     bool
	}{
		{"new node", nil, base, true},
		{"unchanged re-registration", base, base.Copy(), false},
		{"driver fingerprinted again, same health", base, with(func(n *structs.Node) { n.Drivers["raw_exec"].UpdateTime = 42 }), false},
		{"was down", with(func(n *structs.Node) { n.Status = structs.NodeStatusDown }), base, true},
		{"was ineligible", with(func(n *structs.Node) { n.SchedulingEligibility = structs.NodeIneligible }), base, true},
		{"attribute changed", base, with(func(n *structs.Node) { n.Attributes["os.name"] = "freebsd" }), true},
		{"meta added", base, with(func(n *structs.Node) { n.Meta = map[string]string{"rack": "r1"} }), true},
		{"driver turned unhealthy", base, with(func(n *structs.Node) { n.Drivers["raw_exec"].Healthy = false }), true},
		{"driver added", base, with(func(n *structs.Node) { n.Drivers["exec"] = &structs.DriverInfo{Detected: true, Healthy: true} }), true},
		{"more memory", base, with(func(n *structs.Node) { n.NodeResources.MemoryMB *= 2 }), true},
		{"ineligible now", nil, with(func(n *structs.Node) { n.SchedulingEligibility = structs.NodeIneligible }), false},
	} {
		if got := nodeChangeNeedsSystemEvals(tc.old, tc.cur); got != tc.want {
			t.Errorf("%s: nodeChangeNeedsSystemEvals = %v, want %v", tc.name, got, tc.want)
		}
	}
}
