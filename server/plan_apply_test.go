package server

import (
	"context"
	"testing"

	"github.com/orch-io/orch/structs"
)

// readyNode registers a ready 8 GiB test node through Raft.
func readyNode(t testing.TB, s *Server) *structs.Node {
	t.Helper()
	node := testNode()
	node.Status = structs.NodeStatusReady
	if _, err := s.raftApply(MsgNodeRegister, &NodeRegisterEntry{Node: node}); err != nil {
		t.Fatal(err)
	}
	return node
}

// memPlan is a plan of job placing one allocation per node in nodes of
// memoryMB each.
func memPlan(job *structs.Job, memoryMB int, nodes ...*structs.Node) *structs.Plan {
	plan := &structs.Plan{EvalID: structs.GenerateUUID(), Priority: job.Priority, Job: job}
	for i, node := range nodes {
		plan.AppendAlloc(&structs.Allocation{
			ID: structs.GenerateUUID(), Namespace: job.Namespace, EvalID: plan.EvalID,
			Name: structs.AllocName(job.ID, "web", i), NodeID: node.ID, NodeName: node.Name,
			JobID: job.ID, Job: job, TaskGroup: "web",
			AllocatedResources: &structs.AllocatedResources{
				Tasks:  map[string]*structs.Resources{"server": {CPU: 100, MemoryMB: memoryMB}},
				Shared: structs.AllocatedSharedResources{DiskMB: 100},
			},
			DesiredStatus: structs.AllocDesiredStatusRun, ClientStatus: structs.AllocClientStatusPending,
		})
	}
	return plan
}

func placedOn(r *structs.PlanResult, nodeID string) int { return len(r.NodeAllocation[nodeID]) }

// A plan checked while the previous one commits sees the previous one's
// allocations: two plans that each fit an 8 GiB node alone but not together
// never both commit, whether or not the first commit has reached the FSM
// when the second is checked.
func TestPlanApply_OverlapSeesPlanInFlight(t *testing.T) {
	s := startServer(t, testConfig(t.TempDir()))
	job := testJob("overlap", 2, 5000)
	job.Canonicalize()
	full, other := readyNode(t, s), readyNode(t, s)

	p1 := &pendingPlan{plan: memPlan(job, 5000, full), done: make(chan planOutcome, 1)}
	p2 := &pendingPlan{plan: memPlan(job, 5000, full, other), done: make(chan planOutcome, 1)}
	inflight1, err := s.applyPlanAsync(p1, nil)
	if err != nil || inflight1 == nil {
		t.Fatalf("first plan: inflight=%v err=%v", inflight1, err)
	}
	inflight2, err := s.applyPlanAsync(p2, []*inflightPlan{inflight1})
	if err != nil || inflight2 == nil {
		t.Fatalf("second plan: inflight=%v err=%v", inflight2, err)
	}
	r1, err := p1.Wait(context.Background())
	if err != nil || placedOn(r1, full.ID) != 1 {
		t.Fatalf("first plan: result %+v err %v, want its allocation placed", r1, err)
	}
	r2, err := p2.Wait(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if placedOn(r2, full.ID) != 0 || placedOn(r2, other.ID) != 1 {
		t.Fatalf("second plan placed %d on the full node and %d on the other, want 0 and 1", placedOn(r2, full.ID), placedOn(r2, other.ID))
	}
	// The worker refreshes to max(RefreshIndex, AllocIndex): it must hold the
	// first plan, and the second's commit follows the first's.
	if r2.RefreshIndex == 0 || r2.AllocIndex <= r1.AllocIndex {
		t.Fatalf("second plan: refresh index %d, alloc index %d; the first committed at %d: want a refresh, and the commit after the first", r2.RefreshIndex, r2.AllocIndex, r1.AllocIndex)
	}
	var used int
	for _, a := range s.state.Snapshot().AllocsByNode(full.ID) {
		used += a.AllocatedResources.Tasks["server"].MemoryMB
	}
	if used > full.NodeResources.MemoryMB {
		t.Fatalf("node over-committed: %d MB of %d", used, full.NodeResources.MemoryMB)
	}
}

// The overlay does not count twice an allocation the FSM already applied.
func TestPlanApply_OverlayReplacesByID(t *testing.T) {
	s := startServer(t, testConfig(t.TempDir()))
	job := testJob("overlay", 2, 4000)
	job.Canonicalize()
	node := readyNode(t, s)
	p1 := &pendingPlan{plan: memPlan(job, 4000, node), done: make(chan planOutcome, 1)}
	inflight1, err := s.applyPlanAsync(p1, nil)
	if err != nil {
		t.Fatal(err)
	}
	<-inflight1.done // committed and applied: the overlay repeats what the snapshot holds
	p2 := &pendingPlan{plan: memPlan(job, 4000, node), done: make(chan planOutcome, 1)}
	if _, err := s.applyPlanAsync(p2, []*inflightPlan{inflight1}); err != nil {
		t.Fatal(err)
	}
	r2, err := p2.Wait(context.Background())
	if err != nil || placedOn(r2, node.ID) != 1 || r2.RefreshIndex != 0 {
		t.Fatalf("second plan: result %+v err %v, want its allocation placed (4000+4000 of 8192 MB)", r2, err)
	}
}

// With several plans in flight, the next is checked against all of them:
// three plans of 3000 MB on an 8 GiB node, sent without waiting, commit two.
func TestPlanApply_OverlapSeesEveryPlanInFlight(t *testing.T) {
	s := startServer(t, testConfig(t.TempDir()))
	job := testJob("window", 3, 3000)
	job.Canonicalize()
	node := readyNode(t, s)
	var inflight []*inflightPlan
	var pendings []*pendingPlan
	for range 3 {
		p := &pendingPlan{plan: memPlan(job, 3000, node), done: make(chan planOutcome, 1)}
		next, err := s.applyPlanAsync(p, inflight)
		if err != nil {
			t.Fatal(err)
		}
		if next != nil {
			inflight = append(inflight, next)
		}
		pendings = append(pendings, p)
	}
	var placed int
	var lastIndex uint64
	for i, p := range pendings {
		r, err := p.Wait(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		placed += placedOn(r, node.ID)
		if i < 2 {
			lastIndex = max(lastIndex, r.AllocIndex)
			continue
		}
		if placedOn(r, node.ID) != 0 || r.RefreshIndex < lastIndex {
			t.Fatalf("third plan: placed %d, refresh index %d; want it rejected with a refresh index >= %d (the plans it was checked against)", placedOn(r, node.ID), r.RefreshIndex, lastIndex)
		}
	}
	if placed != 2 || len(s.state.Snapshot().AllocsByNode(node.ID)) != 2 {
		t.Fatalf("placed %d, state holds %d allocations on the node; want 2", placed, len(s.state.Snapshot().AllocsByNode(node.ID)))
	}
}

// Plans submitted through the queue by concurrent workers all get answered
// and, on distinct nodes, all commit.
func TestPlanApply_QueueConcurrentPlans(t *testing.T) {
	s := startServer(t, testConfig(t.TempDir()))
	q := newPlanQueue()
	q.SetEnabled(true)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.runPlanApplier(ctx, q, planApplyWindow)
	}()
	job := testJob("concurrent", 8, 1000)
	job.Canonicalize()
	var pendings []*pendingPlan
	for range 8 {
		p, err := q.Enqueue(memPlan(job, 1000, readyNode(t, s), readyNode(t, s)))
		if err != nil {
			t.Fatal(err)
		}
		pendings = append(pendings, p)
	}
	for i, p := range pendings {
		r, err := p.Wait(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if full, want, got := r.FullCommit(p.plan); !full {
			t.Fatalf("plan %d: committed %d of %d", i, got, want)
		}
	}
	cancel()
	<-done
	if q.Enabled() {
		t.Fatal("plan queue still enabled after the applier stopped")
	}
}
