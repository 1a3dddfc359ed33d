package server

import (
	"context"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/orch-io/orch/structs"
)

// runFakeClient plays node's client agent against whichever server of
// servers answers, through the real RPCs, until ctx ends: it heartbeats,
// starts the allocations it is given (running, tasks started now) and
// stops those the servers stop (complete).
func runFakeClient(ctx context.Context, servers []*Server, node *structs.Node) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		for _, s := range servers {
			if s.shutdownCtx.Err() != nil {
				continue
			}
			var hb structs.NodeUpdateResponse
			_ = s.RPC(ctx, "Node.UpdateStatus", &structs.NodeUpdateStatusRequest{NodeID: node.ID, SecretID: node.SecretID,
				Status: structs.NodeStatusReady}, &hb)
			var ca structs.NodeClientAllocsResponse
			if err := s.RPC(ctx, "Node.GetClientAllocs", &structs.NodeSpecificRequest{NodeID: node.ID, SecretID: node.SecretID}, &ca); err != nil {
				continue
			}
			// The watch answers IDs; read the allocations themselves (a test
			// fetches them all each time).
			var got structs.AllocsGetResponse
			if err := s.RPC(ctx, "Alloc.GetAllocs", &structs.AllocsGetRequest{AllocIDs: slices.Collect(maps.Keys(ca.Allocs))}, &got); err != nil {
				continue
			}
			now := time.Now().UnixNano()
			var report []*structs.Allocation
			for _, a := range got.Allocs {
				switch {
				case a.ServerTerminal() && !a.ClientTerminal():
					report = append(report, &structs.Allocation{ID: a.ID, ClientStatus: structs.AllocClientStatusComplete, ModifyTime: now})
				case a.ClientStatus == structs.AllocClientStatusPending && !a.ServerTerminal():
					report = append(report, &structs.Allocation{ID: a.ID, ClientStatus: structs.AllocClientStatusRunning, ModifyTime: now,
						TaskStates: map[string]*structs.TaskState{"server": {State: structs.TaskStateRunning, StartedAt: now}}})
				}
			}
			if len(report) > 0 {
				var r structs.GenericResponse
				_ = s.RPC(ctx, "Node.UpdateAlloc", &structs.AllocUpdateRequest{Alloc: report}, &r)
			}
			break
		}
	}
}

// A drain survives a leader failover: the new leader's drain loop picks it
// up from the state and completes it, one allocation at a time.
func TestDrainContinuesAcrossLeaderFailover(t *testing.T) {
	servers := startCluster(t, 3)
	leader := leaderOf(servers)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	a, b := testNode(), testNode()
	registerNode(t, leader, a)
	go runFakeClient(ctx, servers, a)

	job := testJob("web", 4, 64)
	job.TaskGroups[0].Migrate = &structs.MigrateStrategy{MaxParallel: 1, HealthCheck: structs.MigrateHealthTaskStates,
		MinHealthyTime: 200 * time.Millisecond, HealthyDeadline: time.Minute}
	registerJob(t, leader, job)
	waitFor(t, 10*time.Second, "4 allocations running on a", func() bool {
		n := 0
		for _, al := range jobAllocs(t, leader, "web") {
			if al.ClientStatus == structs.AllocClientStatusRunning && al.NodeID == a.ID {
				n++
			}
		}
		return n == 4
	})
	registerNode(t, leader, b)
	go runFakeClient(ctx, servers, b)

	var resp structs.NodeDrainUpdateResponse
	if err := leader.RPC(t.Context(), "Node.UpdateDrain", &structs.NodeUpdateDrainRequest{NodeID: a.ID,
		DrainStrategy: &structs.DrainStrategy{}}, &resp); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "a first allocation migrated to b", func() bool {
		for _, al := range jobAllocs(t, leader, "web") {
			if al.NodeID == b.ID && al.ClientStatus == structs.AllocClientStatusRunning {
				return true
			}
		}
		return false
	})
	leader.Shutdown()
	var next *Server
	waitFor(t, 15*time.Second, "a new leader", func() bool {
		next = leaderOf(servers)
		return next != nil && next != leader && next.broker.Enabled()
	})
	waitFor(t, 30*time.Second, "the drain complete, 4 allocations running on b", func() bool {
		n := next.state.NodeByID(a.ID)
		if n.DrainStrategy != nil || n.LastDrain == nil || n.LastDrain.Status != structs.DrainStatusComplete {
			return false
		}
		onB := 0
		for _, al := range jobAllocs(t, next, "web") {
			if al.NodeID == b.ID && al.ClientStatus == structs.AllocClientStatusRunning && al.DesiredStatus == structs.AllocDesiredStatusRun {
				onB++
			}
		}
		return onB == 4
	})
	n := next.state.NodeByID(a.ID)
	if n.SchedulingEligibility != structs.NodeIneligible {
		t.Errorf("drained node is %s, want ineligible", n.SchedulingEligibility)
	}
	msgs := map[string]bool{}
	for _, e := range n.Events {
		msgs[e.Message] = true
	}
	if !msgs[structs.NodeEventDrainStarted] || !msgs[structs.NodeEventDrainComplete] {
		t.Errorf("node events %v lack drain started/complete", msgs)
	}
}

// Eligibility: an ineligible node keeps its allocations and gets no new
// ones; a draining node cannot be made eligible; bad values are refused.
func TestNodeEligibility(t *testing.T) {
	s := startServer(t, testConfig(t.TempDir()))
	node := testNode()
	registerNode(t, s, node)
	var resp structs.NodeDrainUpdateResponse
	set := func(e structs.NodeEligibility) error {
		return s.RPC(t.Context(), "Node.UpdateEligibility", &structs.NodeUpdateEligibilityRequest{NodeID: node.ID, Eligibility: e}, &resp)
	}
	if err := set("maybe"); structs.CodeOf(err) != structs.CodeInvalid {
		t.Fatalf("eligibility maybe: %v, want invalid", err)
	}
	if err := s.RPC(t.Context(), "Node.UpdateEligibility", &structs.NodeUpdateEligibilityRequest{NodeID: "nope", Eligibility: structs.NodeEligible}, &resp); structs.CodeOf(err) != structs.CodeNotFound {
		t.Fatalf("unknown node: %v, want not found", err)
	}
	if err := set(structs.NodeIneligible); err != nil {
		t.Fatal(err)
	}
	registerJob(t, s, testJob("web", 1, 64))
	waitFor(t, 10*time.Second, "the job blocked", func() bool { return s.blocked.Stats().Blocked == 1 })
	if n := len(jobAllocs(t, s, "web")); n != 0 {
		t.Fatalf("%d allocations placed on an ineligible node", n)
	}
	// A client registering again does not make it eligible.
	registerNode(t, s, node)
	if e := s.state.NodeByID(node.ID).SchedulingEligibility; e != structs.NodeIneligible {
		t.Fatalf("after re-registration the node is %s", e)
	}
	if err := set(structs.NodeEligible); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the job placed once the node is eligible", func() bool { return len(jobAllocs(t, s, "web")) == 1 })

	if err := s.RPC(t.Context(), "Node.UpdateDrain", &structs.NodeUpdateDrainRequest{NodeID: node.ID,
		DrainStrategy: &structs.DrainStrategy{DrainSpec: structs.DrainSpec{Deadline: time.Hour}}}, &resp); err != nil {
		t.Fatal(err)
	}
	if err := set(structs.NodeEligible); structs.CodeOf(err) != structs.CodeInvalid {
		t.Fatalf("eligible while draining: %v, want invalid", err)
	}
	n := s.state.NodeByID(node.ID)
	if n.SchedulingEligibility != structs.NodeIneligible || n.DrainStrategy == nil || n.LastDrain.Status != structs.DrainStatusDraining ||
		!n.DrainStrategy.ForceDeadline.After(time.Now().Add(59*time.Minute)) {
		t.Fatalf("draining node: %+v %+v %+v", n.SchedulingEligibility, n.DrainStrategy, n.LastDrain)
	}
	// Cancelling makes it eligible again; LastDrain says canceled.
	if err := s.RPC(t.Context(), "Node.UpdateDrain", &structs.NodeUpdateDrainRequest{NodeID: node.ID, MarkEligible: true}, &resp); err != nil {
		t.Fatal(err)
	}
	n = s.state.NodeByID(node.ID)
	if n.SchedulingEligibility != structs.NodeEligible || n.DrainStrategy != nil || n.LastDrain.Status != structs.DrainStatusCanceled {
		t.Fatalf("after cancel: %+v %+v %+v", n.SchedulingEligibility, n.DrainStrategy, n.LastDrain)
	}
}
