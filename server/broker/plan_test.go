package broker

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/orch-io/orch/structs"
)

// fakePlanState is a map-backed PlanState. The real state store
// (server/state) is being written in parallel with this package; these tests
// only need the three reads PlanState names, so a fake is enough here, and the
// server's plan applier tests exercise EvaluatePlan over the real store.
type fakePlanState struct {
	nodes  map[string]*structs.Node
	allocs map[string][]*structs.Allocation // by node ID
	index  uint64
}

var _ PlanState = (*fakePlanState)(nil)

func newFakePlanState(index uint64) *fakePlanState {
	return &fakePlanState{nodes: map[string]*structs.Node{}, allocs: map[string][]*structs.Allocation{}, index: index}
}

func (s *fakePlanState) NodeByID(id string) *structs.Node { return s.nodes[id] }
func (s *fakePlanState) AllocsByNode(nodeID string) []*structs.Allocation {
	return slices.Clone(s.allocs[nodeID])
}
func (s *fakePlanState) LatestIndex() uint64 { return s.index }

func (s *fakePlanState) addNode(n *structs.Node) *structs.Node { s.nodes[n.ID] = n; return n }
func (s *fakePlanState) addAlloc(a *structs.Allocation) *structs.Allocation {
	s.allocs[a.NodeID] = append(s.allocs[a.NodeID], a)
	return a
}

// testNode is a ready, eligible node offering cpu MHz and mem MB (and 10 GB disk).
func testNode(id string, cpu, mem int) *structs.Node {
	return &structs.Node{
		ID: id, Name: id, Datacenter: "dc1",
		NodeResources: &structs.NodeResources{CPU: cpu, MemoryMB: mem, DiskMB: 10_000},
		Status:        structs.NodeStatusReady, SchedulingEligibility: structs.NodeEligible,
	}
}

// testAlloc is a running allocation on nodeID asking cpu MHz, mem MB and 100 MB disk.
func testAlloc(id, nodeID string, cpu, mem int) *structs.Allocation {
	return &structs.Allocation{
		ID: id, NodeID: nodeID, JobID: "web", TaskGroup: "web", Namespace: structs.DefaultNamespace,
		DesiredStatus: structs.AllocDesiredStatusRun, ClientStatus: structs.AllocClientStatusRunning,
		AllocatedResources: &structs.AllocatedResources{
			Tasks:  map[string]*structs.Resources{"web": {CPU: cpu, MemoryMB: mem}},
			Shared: structs.AllocatedSharedResources{DiskMB: 100},
		},
	}
}

func stopOf(a *structs.Allocation) *structs.Allocation {
	s := a.Copy()
	s.DesiredStatus = structs.AllocDesiredStatusStop
	s.DesiredDescription = "alloc not needed"
	return s
}

func planOf(stops, places []*structs.Allocation) *structs.Plan {
	p := &structs.Plan{EvalID: "eval-1", Priority: 50}
	for _, a := range stops {
		if p.NodeUpdate == nil {
			p.NodeUpdate = map[string][]*structs.Allocation{}
		}
		p.NodeUpdate[a.NodeID] = append(p.NodeUpdate[a.NodeID], a)
	}
	for _, a := range places {
		p.AppendAlloc(a)
	}
	return p
}

func sortedKeys(m map[string][]*structs.Allocation) []string {
	return slices.Sorted(maps.Keys(m))
}

func TestEvaluatePlanFits(t *testing.T) {
	snap := newFakePlanState(42)
	snap.addNode(testNode("n1", 4000, 8192))
	snap.addAlloc(testAlloc("existing", "n1", 1000, 4096))
	terminal := snap.addAlloc(testAlloc("done", "n1", 3000, 8000))
	terminal.ClientStatus = structs.AllocClientStatusComplete // uses nothing any more

	plan := planOf(nil, []*structs.Allocation{testAlloc("a", "n1", 1000, 2048), testAlloc("b", "n1", 2000, 2048)})
	result := EvaluatePlan(snap, plan)
	if result.RefreshIndex != 0 {
		t.Fatalf("RefreshIndex = %d for a plan that fits exactly", result.RefreshIndex)
	}
	if full, want, got := result.FullCommit(plan); !full {
		t.Fatalf("committed %d of %d allocations", got, want)
	}
	if fits, reason := EvaluateNodePlan(snap, plan, "n1"); !fits || reason != "" {
		t.Fatalf("EvaluateNodePlan = %v, %q", fits, reason)
	}
	// The result owns its slices.
	result.NodeAllocation["n1"][0] = nil
	if plan.NodeAllocation["n1"][0] == nil {
		t.Fatal("EvaluatePlan returned the plan's own slice")
	}
}

func TestEvaluatePlanMemoryExhaustedRejectsWholeNode(t *testing.T) {
	snap := newFakePlanState(42)
	snap.addNode(testNode("full", 4000, 4096))
	snap.addNode(testNode("roomy", 4000, 4096))
	snap.addAlloc(testAlloc("existing", "full", 500, 3000))

	plan := planOf(nil, []*structs.Allocation{
		testAlloc("small", "full", 100, 500),   // would fit alone...
		testAlloc("big", "full", 100, 1000),    // ...but not with this one: 4500 > 4096
		testAlloc("other", "roomy", 100, 4096), // fits exactly
	})
	result := EvaluatePlan(snap, plan)
	if result.RefreshIndex != 42 {
		t.Fatalf("RefreshIndex = %d, want the state's latest index 42", result.RefreshIndex)
	}
	if got := sortedKeys(result.NodeAllocation); !slices.Equal(got, []string{"roomy"}) {
		t.Fatalf("committed placements on %v, want only roomy (the full node is dropped whole)", got)
	}
	fits, reason := EvaluateNodePlan(snap, plan, "full")
	if fits || !strings.Contains(reason, "memory exhausted") || !strings.Contains(reason, `"full"`) {
		t.Fatalf("EvaluateNodePlan(full) = %v, %q: want memory exhausted, naming the node", fits, reason)
	}
}

func TestEvaluatePlanRejectsPlacementsOnUnusableNodes(t *testing.T) {
	snap := newFakePlanState(7)
	down := snap.addNode(testNode("down", 4000, 4096))
	down.Status = structs.NodeStatusDown
	initializing := snap.addNode(testNode("init", 4000, 4096))
	initializing.Status = structs.NodeStatusInit
	ineligible := snap.addNode(testNode("ineligible", 4000, 4096))
	ineligible.SchedulingEligibility = structs.NodeIneligible
	snap.addNode(testNode("ok", 4000, 4096))

	cases := map[string]string{
		"down":       "is down",
		"init":       "is initializing",
		"ineligible": "ineligible",
		"missing":    "does not exist",
	}
	for nodeID, wantReason := range cases {
		plan := planOf(nil, []*structs.Allocation{testAlloc("a-"+nodeID, nodeID, 100, 100), testAlloc("a-ok", "ok", 100, 100)})
		result := EvaluatePlan(snap, plan)
		if got := sortedKeys(result.NodeAllocation); !slices.Equal(got, []string{"ok"}) || result.RefreshIndex != 7 {
			t.Errorf("node %s: committed placements on %v with RefreshIndex %d; want only ok, 7", nodeID, got, result.RefreshIndex)
		}
		if fits, reason := EvaluateNodePlan(snap, plan, nodeID); fits || !strings.Contains(reason, wantReason) {
			t.Errorf("EvaluateNodePlan(%s) = %v, %q; want a rejection mentioning %q", nodeID, fits, reason, wantReason)
		}
	}
}

func TestEvaluatePlanStopsAlwaysAccepted(t *testing.T) {
	snap := newFakePlanState(9)
	down := snap.addNode(testNode("down", 4000, 4096))
	down.Status = structs.NodeStatusDown
	onDown := snap.addAlloc(testAlloc("on-down", "down", 100, 100))
	onGone := testAlloc("on-gone", "gone", 100, 100) // its node was deregistered

	// A node over-committed by a placement still takes its stops.
	snap.addNode(testNode("full", 1000, 1000))
	onFull := snap.addAlloc(testAlloc("on-full", "full", 500, 500))
	keep := snap.addAlloc(testAlloc("keep", "full", 500, 500))
	_ = keep

	plan := planOf(
		[]*structs.Allocation{stopOf(onDown), stopOf(onGone), stopOf(onFull)},
		[]*structs.Allocation{testAlloc("too-big", "full", 600, 600)}, // 500+600 > 1000 even after the stop
	)
	result := EvaluatePlan(snap, plan)
	if got := sortedKeys(result.NodeUpdate); !slices.Equal(got, []string{"down", "full", "gone"}) {
		t.Fatalf("stops committed on %v, want down, full and gone", got)
	}
	if len(result.NodeAllocation) != 0 || result.RefreshIndex != 9 {
		t.Fatalf("placements %v, RefreshIndex %d; want none and 9", sortedKeys(result.NodeAllocation), result.RefreshIndex)
	}

	// Stops make room: the same node takes a placement that fits once the
	// stopped allocation no longer counts.
	plan = planOf([]*structs.Allocation{stopOf(onFull)}, []*structs.Allocation{testAlloc("fits", "full", 500, 500)})
	result = EvaluatePlan(snap, plan)
	if full, want, got := result.FullCommit(plan); !full || result.RefreshIndex != 0 {
		t.Fatalf("committed %d of %d (RefreshIndex %d): a stop must free its resources for the plan", got, want, result.RefreshIndex)
	}
}

func TestEvaluatePlanInPlaceUpdateNotDoubleCounted(t *testing.T) {
	snap := newFakePlanState(3)
	snap.addNode(testNode("n1", 4000, 4096))
	current := snap.addAlloc(testAlloc("web-0", "n1", 2000, 3000))

	updated := current.Copy()
	updated.AllocatedResources.Tasks["web"].MemoryMB = 3500 // counted twice, 6500 > 4096
	plan := planOf(nil, []*structs.Allocation{updated})
	result := EvaluatePlan(snap, plan)
	if full, _, _ := result.FullCommit(plan); !full || result.RefreshIndex != 0 {
		t.Fatalf("an in-place update was rejected: %+v", result)
	}

	updated.AllocatedResources.Tasks["web"].MemoryMB = 4097 // too big on its own
	result = EvaluatePlan(snap, plan)
	if len(result.NodeAllocation) != 0 || result.RefreshIndex != 3 {
		t.Fatalf("an update that does not fit was accepted: %+v", result)
	}
}

func TestEvaluatePlanAllAtOnce(t *testing.T) {
	snap := newFakePlanState(11)
	snap.addNode(testNode("a", 1000, 1000))
	snap.addNode(testNode("b", 1000, 1000))
	existing := snap.addAlloc(testAlloc("old", "a", 100, 100))

	plan := planOf(
		[]*structs.Allocation{stopOf(existing)},
		[]*structs.Allocation{testAlloc("fits", "a", 1000, 1000), testAlloc("too-big", "b", 1001, 10)},
	)
	plan.AllAtOnce = true
	result := EvaluatePlan(snap, plan)
	if len(result.NodeAllocation) != 0 || len(result.NodeUpdate) != 0 || result.RefreshIndex != 11 {
		t.Fatalf("all-at-once plan with a rejected node committed %v / %v (RefreshIndex %d); want nothing and 11",
			sortedKeys(result.NodeUpdate), sortedKeys(result.NodeAllocation), result.RefreshIndex)
	}
	if result.NodeAllocation == nil || result.NodeUpdate == nil {
		t.Fatal("an empty result must still have non-nil maps")
	}

	plan.NodeAllocation["b"][0] = testAlloc("fits-too", "b", 1000, 1000)
	result = EvaluatePlan(snap, plan)
	if full, want, got := result.FullCommit(plan); !full || result.RefreshIndex != 0 {
		t.Fatalf("all-at-once plan that fits committed %d of %d (RefreshIndex %d)", got, want, result.RefreshIndex)
	}
}

// usagePlanState is a fakePlanState that also offers the per-node usage
// the state store keeps (usageReader), summed from its allocations: the
// plan is then checked from the sums, not from the lists.
type usagePlanState struct{ *fakePlanState }

func (s usagePlanState) NodeUsage(nodeID string) (used structs.ComparableResources, plain bool) {
	plain = true
	for _, a := range s.allocs[nodeID] {
		if !a.TerminalStatus() {
			used.Add(a.Comparable())
			plain = plain && !a.HoldsPortsOrCores()
		}
	}
	return used, plain
}

func (s usagePlanState) AllocByID(id string) *structs.Allocation {
	for _, list := range s.allocs {
		for _, a := range list {
			if a.ID == id {
				return a
			}
		}
	}
	return nil
}

// EvaluatePlan never over-commits and accepts what fits, whether it lists
// each node's allocations or reads the sums the state store keeps.
func TestEvaluatePlanNeverOverCommits(t *testing.T) {
	t.Run("listed", func(t *testing.T) { checkNeverOverCommits(t, func(s *fakePlanState) PlanState { return s }) })
	t.Run("usage", func(t *testing.T) {
		checkNeverOverCommits(t, func(s *fakePlanState) PlanState { return usagePlanState{s} })
	})
}

// checkNeverOverCommits is a property test: for random states and plans
// (seen through view), applying what EvaluatePlan accepts never
// over-commits a node, and a node is rejected only when a naive
// recomputation says it does not fit.
func checkNeverOverCommits(t *testing.T, view func(*fakePlanState) PlanState) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 300 {
		snap := newFakePlanState(uint64(round + 1))
		plan := &structs.Plan{AllAtOnce: rng.IntN(5) == 0}
		var live []*structs.Allocation
		for n := range 5 {
			id := fmt.Sprintf("n%d", n)
			if rng.IntN(8) > 0 { // sometimes the node is gone
				node := snap.addNode(testNode(id, 2000, 2000))
				if rng.IntN(6) == 0 {
					node.Status = structs.NodeStatusDown
				}
				free := 2000
				for i := range rng.IntN(4) {
					need := rng.IntN(free/2 + 1)
					free -= need
					live = append(live, snap.addAlloc(testAlloc(fmt.Sprintf("%s-e%d", id, i), id, need, need)))
				}
			}
			for i := range rng.IntN(4) {
				size := rng.IntN(900)
				plan.AppendAlloc(testAlloc(fmt.Sprintf("%s-p%d", id, i), id, size, size))
			}
		}
		for _, a := range live {
			switch rng.IntN(4) {
			case 0:
				plan.AppendStoppedAlloc(a, "stop")
			case 1:
				up := a.Copy()
				up.AllocatedResources.Tasks["web"].MemoryMB += rng.IntN(600)
				plan.AppendAlloc(up)
			}
		}

		result := EvaluatePlan(view(snap), plan)
		rejectedAny := false
		for nodeID, places := range plan.NodeAllocation {
			_, accepted := result.NodeAllocation[nodeID]
			naiveFits := naiveNodeFits(snap, plan, nodeID)
			if !plan.AllAtOnce && accepted != naiveFits {
				t.Fatalf("round %d node %s: accepted=%v but naive fit=%v (%d placements)", round, nodeID, accepted, naiveFits, len(places))
			}
			rejectedAny = rejectedAny || !naiveFits
		}
		if (result.RefreshIndex != 0) != rejectedAny {
			t.Fatalf("round %d: RefreshIndex %d, rejected %v", round, result.RefreshIndex, rejectedAny)
		}
		// Apply the result and check every node.
		for nodeID, node := range snap.nodes {
			after := applyResult(snap.allocs[nodeID], result.NodeUpdate[nodeID], result.NodeAllocation[nodeID])
			if fit, dim, _ := structs.AllocsFit(node, after); !fit {
				t.Fatalf("round %d node %s over-committed (%s) after applying the result", round, nodeID, dim)
			}
		}
	}
}

// naiveNodeFits recomputes, independently of EvaluateNodePlan, whether the
// plan's placements on nodeID can be accepted.
func naiveNodeFits(snap *fakePlanState, plan *structs.Plan, nodeID string) bool {
	node := snap.nodes[nodeID]
	if node == nil || !node.Ready() {
		return false
	}
	after := applyResult(snap.allocs[nodeID], plan.NodeUpdate[nodeID], plan.NodeAllocation[nodeID])
	used := 0
	mem := 0
	for _, a := range after {
		if !a.TerminalStatus() {
			used += a.AllocatedResources.Tasks["web"].CPU
			mem += a.AllocatedResources.Tasks["web"].MemoryMB
		}
	}
	return used <= node.NodeResources.CPU && mem <= node.NodeResources.MemoryMB
}

// applyResult is what the state store will hold for a node after the plan
// applier commits: existing allocations replaced by ID with the stopped or
// updated versions, plus the new ones.
func applyResult(existing, stops, places []*structs.Allocation) []*structs.Allocation {
	byID := map[string]*structs.Allocation{}
	var order []string
	for _, list := range [][]*structs.Allocation{existing, stops, places} {
		for _, a := range list {
			if _, ok := byID[a.ID]; !ok {
				order = append(order, a.ID)
			}
			byID[a.ID] = a
		}
	}
	out := make([]*structs.Allocation, len(order))
	for i, id := range order {
		out[i] = byID[id]
	}
	return out
}

// BenchmarkEvaluatePlan1k evaluates a plan placing 1,000 allocations over 100
// nodes that already run 10 allocations each, 100 of which the plan stops.
func BenchmarkEvaluatePlan1k(b *testing.B) {
	snap := newFakePlanState(1000)
	plan := &structs.Plan{EvalID: "bench"}
	for n := range 100 {
		id := fmt.Sprintf("node-%03d", n)
		snap.addNode(testNode(id, 64_000, 256_000))
		for i := range 10 {
			a := snap.addAlloc(testAlloc(fmt.Sprintf("%s-old-%d", id, i), id, 500, 1024))
			if i == 0 {
				plan.AppendStoppedAlloc(a, "replaced")
			}
		}
		for i := range 10 {
			plan.AppendAlloc(testAlloc(fmt.Sprintf("%s-new-%d", id, i), id, 500, 1024))
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		result := EvaluatePlan(snap, plan)
		if result.RefreshIndex != 0 {
			b.Fatal("benchmark plan was rejected")
		}
	}
}

// withPorts gives a the host ports, as the scheduler records them.
func withPorts(a *structs.Allocation, ports ...int) *structs.Allocation {
	for _, p := range ports {
		a.AllocatedResources.Shared.Ports = append(a.AllocatedResources.Shared.Ports,
			structs.AllocatedPortMapping{Label: fmt.Sprintf("p%d", p), Value: p, HostIP: "10.0.0.1"})
	}
	return a
}

func TestEvaluatePlanRejectsDoubleBookedPorts(t *testing.T) {
	snap := newFakePlanState(9)
	snap.addNode(testNode("n1", 4000, 8192))
	reserved := snap.addNode(testNode("n2", 4000, 8192))
	reserved.ReservedResources = &structs.NodeResources{ReservedHostPorts: "22,8000-8100"}
	snap.addNode(testNode("n3", 4000, 8192))
	snap.addAlloc(withPorts(testAlloc("existing", "n1", 100, 100), 5432))
	snap.addAlloc(withPorts(testAlloc("old", "n3", 100, 100), 5432))

	plan := planOf([]*structs.Allocation{stopOf(snap.allocs["n3"][0])}, []*structs.Allocation{
		withPorts(testAlloc("clash", "n1", 100, 100), 20001, 5432), // 5432 is taken on n1
		withPorts(testAlloc("onreserved", "n2", 100, 100), 8080),   // 8080 is reserved on n2
		withPorts(testAlloc("freed", "n3", 100, 100), 5432),        // the plan stops the holder on n3
	})
	result := EvaluatePlan(snap, plan)
	if result.RefreshIndex != 9 {
		t.Fatalf("RefreshIndex = %d, want 9", result.RefreshIndex)
	}
	if got := sortedKeys(result.NodeAllocation); !slices.Equal(got, []string{"n3"}) {
		t.Fatalf("committed placements on %v, want only n3", got)
	}
	for node, want := range map[string]string{
		"n1": `node "n1": ports exhausted: host port 5432 is held by allocations existing and clash`,
		"n2": `node "n2": ports exhausted: host port 8080 of allocation onreserved is reserved on the node`,
	} {
		if fits, reason := EvaluateNodePlan(snap, plan, node); fits || reason != want {
			t.Errorf("EvaluateNodePlan(%s) = %v, %q; want %q", node, fits, reason, want)
		}
	}

	// Two placements of the same plan on one node may not share a port either.
	twice := planOf(nil, []*structs.Allocation{
		withPorts(testAlloc("a", "n3", 100, 100), 9000), withPorts(testAlloc("b", "n3", 100, 100), 9000),
	})
	if fits, reason := EvaluateNodePlan(snap, twice, "n3"); fits || !strings.Contains(reason, "host port 9000") {
		t.Fatalf("two placements on port 9000: %v, %q", fits, reason)
	}
}
