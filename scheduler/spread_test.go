package scheduler

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/orch-io/orch/structs"
)

// Spread adds a job-level spread over attribute with weight and targets
// ("value", percent, "value", percent, ...).
func (b *jobBuilder) Spread(attribute string, weight int8, targets ...any) *jobBuilder {
	b.j.Spreads = append(b.j.Spreads, newSpread(attribute, weight, targets...))
	return b
}

// GroupSpread adds a spread to the last group.
func (b *jobBuilder) GroupSpread(attribute string, weight int8, targets ...any) *jobBuilder {
	g := b.group()
	g.Spreads = append(g.Spreads, newSpread(attribute, weight, targets...))
	return b
}

func newSpread(attribute string, weight int8, targets ...any) *structs.Spread {
	s := &structs.Spread{Attribute: attribute, Weight: weight}
	for i := 0; i+1 < len(targets); i += 2 {
		s.SpreadTarget = append(s.SpreadTarget, &structs.SpreadTarget{Value: targets[i].(string), Percent: uint8(targets[i+1].(int))})
	}
	return s
}

// perMeta counts the job's live allocations per value of the nodes' meta key.
func (h *harness) perMeta(jobID, key string) map[string]int {
	out := map[string]int{}
	snap := h.store.Snapshot()
	for _, a := range h.running(jobID) {
		out[snap.NodeByID(a.NodeID).Meta[key]]++
	}
	return out
}

// checkEven fails unless counts holds exactly the values want and the
// most and least used differ by at most 1.
func checkEven(t *testing.T, counts map[string]int, want []string) {
	t.Helper()
	lo, hi := -1, -1
	for _, v := range want {
		c := counts[v]
		if lo < 0 || c < lo {
			lo = c
		}
		hi = max(hi, c)
	}
	if len(counts) != len(want) || hi-lo > 1 {
		t.Fatalf("allocations per value %v: want each of the %d values %v within 1 of the others (min %d, max %d)",
			counts, len(want), want, lo, hi)
	}
}

func eligibleRacks() []string {
	var racks []string
	for i := range benchEligible {
		racks = append(racks, fmt.Sprintf("r%d", i))
	}
	return racks
}

// The quality bar: in the /spread benchmark's shape, the allocations
// are even across the 25 eligible racks, so that speed never comes from
// skipping the spread. Checked at several counts and seeds, on 500 nodes
// (10 eligible nodes per rack) and on the benchmark's own 5,000.
func TestSpreadEvenAcrossRacksInBenchmarkShape(t *testing.T) {
	for _, tc := range []struct{ nodes, count int }{
		{500, 100}, {500, 37}, {500, 499}, {5000, benchCount},
	} {
		for seed := uint64(1); seed <= 3; seed++ {
			t.Run(fmt.Sprintf("%d_nodes_count_%d_seed_%d", tc.nodes, tc.count, seed), func(t *testing.T) {
				h := newHarness(t)
				h.seed = seed
				h.upsertNodes(benchNodes(tc.nodes)...)
				h.run(benchJob(structs.JobTypeService, tc.count, true))
				if got := len(h.running("bench")); got != tc.count {
					t.Fatalf("placed %d allocations, want %d", got, tc.count)
				}
				checkEven(t, h.perMeta("bench", "rack"), eligibleRacks())
			})
		}
	}
}

// Without the spread, the same job is not even across racks: the test above
// can fail.
func TestWithoutSpreadRacksAreUneven(t *testing.T) {
	h := newHarness(t)
	h.upsertNodes(benchNodes(500)...)
	h.run(benchJob(structs.JobTypeService, 100, false))
	counts := h.perMeta("bench", "rack")
	lo, hi := 100, 0
	for _, r := range eligibleRacks() {
		lo, hi = min(lo, counts[r]), max(hi, counts[r])
	}
	if hi-lo <= 1 {
		t.Fatalf("racks %v are even without a spread: the spread test proves nothing", counts)
	}
}

// Scaling up keeps the spread even: the allocations already running count.
func TestSpreadCountsExistingAllocations(t *testing.T) {
	h := newHarness(t)
	h.upsertNodes(benchNodes(500)...)
	job := benchJob(structs.JobTypeService, 30, true)
	h.run(job)
	checkEven(t, h.perMeta("bench", "rack"), eligibleRacks())
	job = job.Copy()
	job.TaskGroups[0].Count = 80
	h.run(job)
	if got := len(h.running("bench")); got != 80 {
		t.Fatalf("placed %d allocations, want 80", got)
	}
	checkEven(t, h.perMeta("bench", "rack"), eligibleRacks())
}

// Targets: 70% on dc-1, 30% on dc-2.
func TestSpreadTargets(t *testing.T) {
	for _, tc := range []struct {
		name    string
		targets []any
		want    map[string]int
	}{
		{"70/30", []any{"dc-1", 70, "dc-2", 30}, map[string]int{"dc-1": 70, "dc-2": 30}},
		{"one listed, the rest to the others", []any{"dc-2", 20}, map[string]int{"dc-1": 80, "dc-2": 20}},
		{"group level", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.upsertNodes(benchNodes(500)...)
			b := mockJob().ID("bench").DCs("dc-1", "dc-2").Count(100).CPU(1000).Mem(1000)
			if tc.targets != nil {
				b.Spread("${node.datacenter}", 50, tc.targets...)
			} else {
				b.GroupSpread("${node.datacenter}", 80, "dc-1", 10, "dc-2", 90)
				tc.want = map[string]int{"dc-1": 10, "dc-2": 90}
			}
			h.run(b.Build())
			got := map[string]int{}
			for _, a := range h.running("bench") {
				got[h.store.NodeByID(a.NodeID).Datacenter]++
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("allocations per datacenter %v, want %v", got, tc.want)
			}
		})
	}
}

// Two spreads: the primary (higher weight) orders the search, the other
// still scores. Even over racks and over datacenters at once.
func TestTwoSpreads(t *testing.T) {
	h := newHarness(t)
	h.upsertNodes(benchNodes(500)...)
	job := benchJob(structs.JobTypeService, 50, true)
	job.Spreads = append(job.Spreads, newSpread("${node.datacenter}", 20))
	h.run(job)
	checkEven(t, h.perMeta("bench", "rack"), eligibleRacks())
	got := map[string]int{}
	for _, a := range h.running("bench") {
		got[h.store.NodeByID(a.NodeID).Datacenter]++
	}
	if d := got["dc-1"] - got["dc-2"]; d < -2 || d > 2 {
		t.Fatalf("allocations per datacenter %v: want within 2", got)
	}
}

// The cluster's algorithm decides the fit: binpack fills nodes, spread
// prefers the emptiest. Three one-allocation jobs (no job anti-affinity
// between them) on two nodes, both of which every placement samples.
func TestSchedulerAlgorithm(t *testing.T) {
	for _, tc := range []struct {
		algorithm structs.SchedulerAlgorithm
		wantNodes int
	}{
		{structs.SchedulerAlgorithmBinpack, 1},
		{structs.SchedulerAlgorithmSpread, 2},
	} {
		t.Run(string(tc.algorithm), func(t *testing.T) {
			h := newHarness(t)
			h.upsertNodes(mockNodes(2, "n", nil)...)
			cfg := &structs.SchedulerConfiguration{SchedulerAlgorithm: tc.algorithm}
			if _, err := h.store.UpsertSchedulerConfig(h.nextIndex(), cfg, false); err != nil {
				t.Fatal(err)
			}
			nodes := map[string]bool{}
			for _, id := range []string{"a", "b", "c"} {
				h.run(mockJob().ID(id).CPU(1000).Mem(2048).Build())
				for n := range h.perNode(id) {
					nodes[n] = true
				}
			}
			if len(nodes) != tc.wantNodes {
				t.Fatalf("allocations on nodes %v: want them on %d nodes", nodes, tc.wantNodes)
			}
		})
	}
}

func TestSpreadFitScore(t *testing.T) {
	n := mockNode("n").CPU(1000).Mem(1000).Build()
	empty := spreadFitScore(n, structs.ComparableResources{})
	half := spreadFitScore(n, structs.ComparableResources{CPU: 500, MemoryMB: 500})
	full := spreadFitScore(n, structs.ComparableResources{CPU: 1000, MemoryMB: 1000})
	if !(empty == 1 && half > 0 && half < empty && full == 0) {
		t.Fatalf("spread fit: empty %v, half %v, full %v: want 1 > half > 0 = full", empty, half, full)
	}
}

// SampleSize in the scheduler configuration widens the sample, never narrows it.
func TestSampleSizeSetting(t *testing.T) {
	for _, tc := range []struct {
		typ               structs.JobType
		nodes, size, want int
	}{
		{structs.JobTypeBatch, 5000, 0, 2},
		{structs.JobTypeBatch, 5000, 50, 50},
		{structs.JobTypeService, 5000, 5, 13},
		{structs.JobTypeService, 5000, 100, 100},
		{structs.JobTypeService, 20, 100, 20},
	} {
		src := &nodeSource{nodes: make([]*nodeUsage, tc.nodes)}
		s := newStack(tc.typ, mockJob().Build(), src, nil)
		s.configure(&structs.SchedulerConfiguration{SampleSize: tc.size})
		if s.limit != tc.want {
			t.Errorf("%s on %d nodes, sample size %d: limit %d, want %d", tc.typ, tc.nodes, tc.size, s.limit, tc.want)
		}
	}
}

// The spread ordering never misses a better value: on random small clusters
// (random racks, capacities, infeasible nodes, some allocations already
// running), the walk samples a node of the best spread value whenever one
// can take the allocation, so the chosen node scores at least as well as the
// worst of those (by the mean of all scores, which the choice maximises over
// its sample). A naive scan of every candidate is the reference.
func TestPropertySpreadOrderingMatchesFullScan(t *testing.T) {
	for seed := range uint64(200) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 7))
			var nodes []*structs.Node
			for i := range 2 + r.IntN(30) {
				b := mockNode(fmt.Sprintf("n%d", i)).CPU(1000 * (1 + r.IntN(4))).Mem(4096)
				if r.IntN(6) != 0 { // some nodes lack the attribute
					b.Meta("rack", fmt.Sprintf("r%d", r.IntN(6)))
				}
				if r.IntN(5) == 0 {
					b.Attr("kernel.name", "windows") // filtered by the constraint
				}
				nodes = append(nodes, b.Build())
			}
			jb := mockJob().Count(1+r.IntN(40)).CPU(500).Mem(100).Constraint("${attr.kernel.name}", "=", "linux")
			if r.IntN(2) == 0 {
				jb.GroupSpread("${meta.rack}", 50)
			} else {
				jb.GroupSpread("${meta.rack}", 50, "r0", 30, "r1", 20)
			}
			job := jb.Build()
			tg := job.TaskGroups[0]
			// A few allocations of the group already run.
			var existing []*structs.Allocation
			for i := range r.IntN(4) {
				n := nodes[r.IntN(len(nodes))]
				existing = append(existing, &structs.Allocation{ID: fmt.Sprintf("old%d", i), NodeID: n.ID, JobID: job.ID,
					TaskGroup: tg.Name, DesiredStatus: structs.AllocDesiredStatusRun, ClientStatus: structs.AllocClientStatusRunning,
					AllocatedResources: allocatedResources(tg)})
			}
			s := stackOver(t, job, nodes, existing)
			for i := range tg.Count {
				nu, _ := s.selectNode(tg)
				p := s.groups[tg.Name]
				// The naive scan, with the scores of this placement.
				score := func(c *nodeUsage) (final, spread float64, ok bool) {
					if !p.feas.check(c, &structs.AllocMetric{}) {
						return 0, 0, false
					}
					s.usage.scan(c)
					bin, exhausted := p.fit.fit(c)
					if exhausted != "" {
						return 0, 0, false
					}
					sn := scoredNode{nu: c}
					sn.add(scoreBinPack, bin)
					for _, sc := range p.scorers {
						if v, applies := sc.score(c); applies {
							sn.add(sc.name(), v)
						}
					}
					spread, _ = p.pass.score(c)
					return sn.finish().final, spread, true
				}
				bestSpread, worstOfBest, found := -2.0, 2.0, false
				for _, c := range s.source.nodes {
					if _, sp, ok := score(c); ok {
						bestSpread, found = max(bestSpread, sp), true
					}
				}
				for _, c := range s.source.nodes {
					if f, sp, ok := score(c); ok && sp >= bestSpread-1e-9 {
						worstOfBest = min(worstOfBest, f)
					}
				}
				if nu == nil {
					if found {
						t.Fatalf("placement %d: nothing selected, but a candidate fits", i)
					}
					return
				}
				if got, _, _ := score(nu); got < worstOfBest-1e-9 {
					t.Fatalf("placement %d: node %s scores %v; every node of the best spread value (%v) scores at least %v",
						i, nu.node.Name, got, bestSpread, worstOfBest)
				}
				alloc := &structs.Allocation{ID: fmt.Sprintf("new%d", i), NodeID: nu.id, JobID: job.ID, TaskGroup: tg.Name,
					DesiredStatus: structs.AllocDesiredStatusRun, AllocatedResources: allocatedResources(tg)}
				s.usage.place(nu, alloc)
			}
		})
	}
}

// A spread placement that fails explains every candidate, including those
// earlier placements found infeasible and dropped: 100 nodes of the benchmark
// shape, 50 filtered by the rack constraint, 50 with room for 2 each.
func TestSpreadFailureExplainsEveryNode(t *testing.T) {
	h := newHarness(t)
	h.upsertNodes(benchNodes(100)...)
	h.run(benchJob(structs.JobTypeService, 120, true))
	if got := len(h.running("bench")); got != 100 {
		t.Fatalf("placed %d, want 100", got)
	}
	m := h.lastEval().FailedTGAllocs["web"]
	if m == nil {
		t.Fatal("no failure recorded")
	}
	if m.NodesEvaluated != 100 || m.NodesFiltered != 50 || m.ConstraintFiltered[constraintKey(benchJob(structs.JobTypeService, 1, true).Constraints[0])] != 50 ||
		m.NodesExhausted != 50 || m.DimensionExhausted["cpu"] != 50 || m.CoalescedFailures != 19 {
		t.Fatalf("failure metric: evaluated %d, filtered %d %v, exhausted %d %v, coalesced %d", m.NodesEvaluated,
			m.NodesFiltered, m.ConstraintFiltered, m.NodesExhausted, m.DimensionExhausted, m.CoalescedFailures)
	}
}
