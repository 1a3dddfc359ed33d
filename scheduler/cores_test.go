package scheduler

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/orch-io/orch/structs"
)

// coresNode is a node of n cores of 1000 MHz, the first reserved ones held
// back.
func coresNode(name string, n, reserved int) *structs.Node {
	node := mockNode(name).CPU(1000 * n).Mem(64 * 1024).Build()
	for c := range n {
		node.NodeResources.Cores = append(node.NodeResources.Cores, c)
	}
	node.ReservedResources = &structs.NodeResources{Cores: node.NodeResources.Cores[:reserved]}
	return node
}

func coresJob(id string, count int, cores ...int) *structs.Job {
	b := mockJob().ID(id).Count(count)
	for i, n := range cores {
		if i > 0 {
			b.task()
			g := b.group()
			g.Tasks = append(g.Tasks, &structs.Task{Name: fmt.Sprint("t", i), Driver: "raw_exec",
				Config: map[string]any{"command": "/bin/true"}, Resources: &structs.Resources{MemoryMB: 64}})
		}
		b.task().Resources = &structs.Resources{Cores: n, MemoryMB: 64}
	}
	return b.Build()
}

func TestCoresAssignedExclusivelyAndCountedAsCPU(t *testing.T) {
	h := newHarness(t)
	h.upsertNodes(coresNode("a", 4, 1))
	job := h.upsertJob(coresJob("pinned", 1, 2))
	h.process(job.Type, h.newEval(job, structs.EvalTriggerJobRegister))
	allocs := planAllocs(h.lastPlan().NodeAllocation)
	if len(allocs) != 1 {
		t.Fatalf("placed %d allocations, want 1", len(allocs))
	}
	r := allocs[0].AllocatedResources.Tasks["web"]
	if !slices.Equal(r.ReservedCores, []int{1, 2}) || r.CPU != 2000 {
		t.Fatalf("task got cores %v and %d MHz, want [1 2] (core 0 is reserved) and 2000", r.ReservedCores, r.CPU)
	}

	// One core is left: a job asking for two does not fit, and says why.
	other := h.upsertJob(coresJob("other", 1, 2))
	h.process(other.Type, h.newEval(other, structs.EvalTriggerJobRegister))
	f := h.lastEval().FailedTGAllocs["web"]
	if f == nil || f.DimensionExhausted[structs.DimensionCores] != 1 {
		t.Fatalf("a second 2-core job on a node with 1 free core: failure %+v, want cores exhausted", f)
	}
	// A 1-core one gets the last core.
	one := h.upsertJob(coresJob("one", 1, 1))
	h.process(one.Type, h.newEval(one, structs.EvalTriggerJobRegister))
	if got := planAllocs(h.lastPlan().NodeAllocation)[0].AllocatedResources.Tasks["web"].ReservedCores; !slices.Equal(got, []int{3}) {
		t.Fatalf("last job got cores %v, want [3]", got)
	}
}

func TestMemoryMaxKeptOnlyWithOversubscription(t *testing.T) {
	for _, enabled := range []bool{false, true} {
		h := newHarness(t)
		h.upsertNodes(mockNode("a").Build())
		h.setSchedulerConfig(&structs.SchedulerConfiguration{MemoryOversubscriptionEnabled: enabled})
		j := mockJob().Mem(128).Build()
		j.TaskGroups[0].Tasks[0].Resources.MemoryMaxMB = 512
		job := h.upsertJob(j)
		h.process(job.Type, h.newEval(job, structs.EvalTriggerJobRegister))
		r := planAllocs(h.lastPlan().NodeAllocation)[0].AllocatedResources.Tasks["web"]
		want := 0
		if enabled {
			want = 512
		}
		if r.MemoryMaxMB != want || r.MemoryMB != 128 {
			t.Errorf("oversubscription %v: allocated memory %d, max %d; want 128, %d", enabled, r.MemoryMB, r.MemoryMaxMB, want)
		}
	}
}

// TestPropertyCoresNeverDoubleAssigned drives random clusters of nodes with
// cores (some reserved) through random jobs asking for cores, count changes,
// destructive updates, nodes going down and allocations finishing, and checks
// after every evaluation that no core is held by two live allocations of a
// node nor is one the node does not offer (the harness's AllocsFit check of
// every committed plan), that every task holds exactly the cores it asked
// for and their MHz as cpu, and that a failure for cores is honest: no
// eligible node has that many cores free.
func TestPropertyCoresNeverDoubleAssigned(t *testing.T) {
	scenarios := 100
	if testing.Short() {
		scenarios = 20
	}
	for seed := range uint64(scenarios) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { runCoresScenario(t, seed) })
	}
}

func runCoresScenario(t *testing.T, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 7))
	h := newHarness(t)
	var nodes []*structs.Node
	for i := range 1 + r.IntN(5) {
		n := 1 + r.IntN(8)
		nodes = append(nodes, coresNode(fmt.Sprint("n", i), n, r.IntN(n)))
	}
	h.upsertNodes(nodes...)
	var jobs []*structs.Job
	for i := range 1 + r.IntN(4) {
		asks := []int{1 + r.IntN(3)}
		if r.IntN(3) == 0 {
			asks = append(asks, 1+r.IntN(2))
		}
		j := coresJob(fmt.Sprint("j", i), r.IntN(5), asks...)
		if r.IntN(3) == 0 {
			j.Type = structs.JobTypeSystem
			j.TaskGroups[0].Count = 1
		}
		jobs = append(jobs, h.upsertJob(j))
	}
	check := func(job *structs.Job, event string) {
		t.Helper()
		h.process(job.Type, h.newEval(job, structs.EvalTriggerJobRegister))
		checkCores(t, h, job, event)
	}
	for _, j := range jobs {
		check(j, "register "+j.ID)
	}
	for step := range 10 {
		i := r.IntN(len(jobs))
		job := jobs[i].Copy()
		switch r.IntN(4) {
		case 0:
			if job.Type != structs.JobTypeSystem {
				job.TaskGroups[0].Count = r.IntN(6)
			}
		case 1:
			job.TaskGroups[0].Tasks[0].Resources.Cores = 1 + r.IntN(3)
		case 2:
			n := nodes[r.IntN(len(nodes))]
			status := structs.NodeStatusDown
			if h.store.NodeByID(n.ID).Status == structs.NodeStatusDown {
				status = structs.NodeStatusReady
			}
			h.setNodeStatus(n.ID, status)
		case 3:
			for _, a := range h.store.Snapshot().AllocsByJob("default", job.ID) {
				if !a.TerminalStatus() && r.IntN(2) == 0 {
					h.setClientStatus(a.ID, structs.AllocClientStatusComplete)
				}
			}
		}
		jobs[i] = h.upsertJob(job)
		// Every job is evaluated again: freed cores are taken by others.
		for _, j := range jobs {
			check(j, fmt.Sprintf("step %d: %s", step, j.ID))
		}
	}
}

func checkCores(t *testing.T, h *harness, job *structs.Job, event string) {
	t.Helper()
	snap := h.store.Snapshot()
	if e := h.lastEval(); e.Status != structs.EvalStatusComplete {
		t.Fatalf("%s: eval %s: %s", event, e.Status, e.StatusDescription)
	}
	free := map[string]int{}
	for _, n := range snap.Nodes("") {
		if !n.Ready() {
			continue
		}
		held := map[int]bool{}
		for _, a := range snap.AllocsByNode(n.ID) {
			if a.TerminalStatus() {
				continue
			}
			for name, r := range a.AllocatedResources.Tasks {
				if ask := a.Job.LookupTaskGroup(a.TaskGroup).LookupTask(name).Resources.Cores; len(r.ReservedCores) != ask || r.CPU != ask*n.MHzPerCore() {
					t.Fatalf("%s: alloc %s task %s holds cores %v and %d MHz, asked %d cores", event, a.ID, name, r.ReservedCores, r.CPU, ask)
				}
				for _, c := range r.ReservedCores {
					if held[c] {
						t.Fatalf("%s: core %d of node %s held twice", event, c, n.Name)
					}
					held[c] = true
				}
			}
		}
		free[n.ID] = len(n.SchedulableCores()) - len(held)
	}
	e := h.lastEval()
	for _, tg := range job.TaskGroups {
		f := e.FailedTGAllocs[tg.Name]
		if f == nil || f.DimensionExhausted[structs.DimensionCores] == 0 || planHadDestructiveStops(h) {
			continue
		}
		for id, n := range free {
			if n >= groupCores(tg) && job.Type != structs.JobTypeSystem && snap.NodeByID(id).Datacenter == "dc1" {
				t.Fatalf("%s: group %s failed for cores but node %s has %d free", event, tg.Name, id, n)
			}
		}
	}
}
