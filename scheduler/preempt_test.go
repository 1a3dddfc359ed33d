package scheduler

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/orch-io/orch/structs"
)

// A committed preemption: the victim is evicted and names its preemptor, the
// placement lists its victims.
func TestPreemptionRecordsWhoPreemptedWhom(t *testing.T) {
	h := newHarness(t)
	h.upsertNodes(mockNode("n1").CPU(4000).Mem(1024).Build())
	low := mockJob().ID("low").Count(1).Mem(1000).Build()
	low.Priority = 20
	h.run(low)
	sys := mockJob().ID("sys").Mem(500).Build()
	sys.Type, sys.Priority = structs.JobTypeSystem, 80
	h.run(sys)

	placed := h.running("sys")["sys.web[0]"]
	if placed == nil {
		t.Fatal("sys.web[0] not placed")
	}
	all := h.store.Snapshot().AllocsByJob("default", "low")
	if len(all) != 1 {
		t.Fatalf("low has %d allocations, want 1", len(all))
	}
	victim := all[0]
	if victim.DesiredStatus != structs.AllocDesiredStatusEvict || !victim.TerminalStatus() {
		t.Errorf("victim DesiredStatus = %q (terminal %v), want evict and terminal", victim.DesiredStatus, victim.TerminalStatus())
	}
	if victim.PreemptedByAllocation != placed.ID {
		t.Errorf("victim PreemptedByAllocation = %q, want %q", victim.PreemptedByAllocation, placed.ID)
	}
	if len(placed.PreemptedAllocations) != 1 || placed.PreemptedAllocations[0] != victim.ID {
		t.Errorf("placed PreemptedAllocations = %v, want [%s]", placed.PreemptedAllocations, victim.ID)
	}
	if got := h.lastPlan().NodePreemptions["node-n1"]; len(got) != 1 || got[0].ID != victim.ID {
		t.Errorf("plan NodePreemptions = %v, want the victim", got)
	}
}

// A job never preempts its own allocations, even those of an older version
// of lower priority.
func TestPreemptionSparesTheSameJob(t *testing.T) {
	h := newHarness(t)
	h.upsertNodes(mockNode("n1").CPU(4000).Mem(1024).Build())
	job := mockJob().ID("sys").Mem(800).Build()
	job.Type, job.Priority = structs.JobTypeSystem, 20
	h.run(job)
	// The new version has higher priority and a second group that needs room.
	job = h.store.JobByID("default", "sys").Copy()
	job.Priority = 80
	g := job.TaskGroups[0].Copy()
	g.Name = "extra"
	job.TaskGroups = append(job.TaskGroups, g)
	h.run(job)
	if len(h.lastPlan().NodePreemptions) != 0 {
		t.Errorf("plan preempts %v, want nothing: only the job's own allocations run there", h.lastPlan().NodePreemptions)
	}
	if h.lastEval().FailedTGAllocs["extra"] == nil {
		t.Errorf("group extra placed, want a placement failure")
	}
}

// With preemption disabled for system jobs, nothing is evicted.
func TestPreemptionDisabledBySchedulerConfig(t *testing.T) {
	h := newHarness(t)
	cfg := structs.DefaultSchedulerConfiguration()
	cfg.PreemptionConfig.SystemSchedulerEnabled = false
	h.setSchedulerConfig(cfg)
	h.upsertNodes(mockNode("n1").CPU(4000).Mem(1024).Build())
	low := mockJob().ID("low").Mem(1000).Build()
	low.Priority = 20
	h.run(low)
	sys := mockJob().ID("sys").Mem(500).Build()
	sys.Type, sys.Priority = structs.JobTypeSystem, 80
	h.run(sys)
	if len(h.running("low")) != 1 || len(h.running("sys")) != 0 {
		t.Errorf("low runs %d, sys %d; want 1 and 0", len(h.running("low")), len(h.running("sys")))
	}
}

func TestPreemptDistance(t *testing.T) {
	need := structs.ComparableResources{MemoryMB: 500}
	exact := preemptDistance(structs.ComparableResources{MemoryMB: 500}, need)
	small := preemptDistance(structs.ComparableResources{MemoryMB: 250}, need)
	big := preemptDistance(structs.ComparableResources{MemoryMB: 2000}, need)
	if !(exact == 0 && exact < small && small < big) {
		t.Errorf("distances exact=%v small=%v big=%v: want 0 < small < big", exact, small, big)
	}
}

// TestPropertyPreemption registers random jobs of random priorities (and
// sizes, job types) on small random clusters with preemption enabled for
// every scheduler, and checks after every evaluation that:
//
//   - no node is over-committed (the harness checks every commit);
//   - every victim belongs to another job whose priority is at least 10
//     lower than its preemptor's;
//   - the victim set is minimal: without any one victim the placement would
//     not fit (checked the naive way, for a node that gets one placement);
//   - a placement failure is honest: on no node would evicting every
//     eligible allocation make room.
func TestPropertyPreemption(t *testing.T) {
	for seed := range uint64(100) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { runPreemptionScenario(t, seed) })
	}
}

func runPreemptionScenario(t *testing.T, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 7))
	h := newHarness(t)
	h.seed = seed
	h.setSchedulerConfig(&structs.SchedulerConfiguration{PreemptionConfig: structs.PreemptionConfig{
		SystemSchedulerEnabled: true, SysBatchSchedulerEnabled: true, BatchSchedulerEnabled: true, ServiceSchedulerEnabled: true}})
	for i := range 1 + r.IntN(4) {
		h.upsertNodes(mockNode(fmt.Sprintf("n%d", i)).CPU(1000 * (2 + r.IntN(4))).Mem(1024 * (1 + r.IntN(4))).Build())
	}
	types := []structs.JobType{structs.JobTypeService, structs.JobTypeService, structs.JobTypeBatch, structs.JobTypeSystem}
	for j := range 4 + r.IntN(8) {
		job := mockJob().ID(fmt.Sprintf("j%d", j)).Count(1 + r.IntN(3)).
			CPU(250 * (1 + r.IntN(8))).Mem(128 * (1 + r.IntN(12))).Disk(100).Build()
		job.Type = types[r.IntN(len(types))]
		job.Priority = 10 + 10*r.IntN(9) + r.IntN(3)
		before := h.store.Snapshot()
		plans := len(h.plans)
		h.run(job)
		for _, p := range h.plans[plans:] {
			checkPreemptions(t, before, job, p)
		}
		if e := h.lastEval(); len(e.FailedTGAllocs) > 0 {
			checkNoRoomEvenByPreemption(t, h.store.Snapshot(), job)
		}
	}
}

func checkPreemptions(t *testing.T, before State, job *structs.Job, p *structs.Plan) {
	t.Helper()
	for node, allocs := range p.NodeAllocation {
		victims := p.NodePreemptions[node]
		if len(victims) == 0 {
			continue
		}
		for _, v := range victims {
			old := before.JobByID("default", v.JobID)
			if v.JobID == job.ID || old == nil || old.Priority > job.Priority-preemptPriorityDelta {
				t.Errorf("job %s (priority %d) preempted %s of job %s (priority %v)", job.ID, job.Priority, v.ID, v.JobID, old)
			}
		}
		if len(allocs) != 1 || len(p.NodeUpdate[node]) != 0 {
			continue // minimality is checked for one placement on the node
		}
		n := before.NodeByID(node)
		var used structs.ComparableResources
		for _, a := range before.AllocsByNode(node) {
			if !a.TerminalStatus() {
				used.Add(a.Comparable())
			}
		}
		used.Add(allocs[0].Comparable())
		for _, v := range victims {
			used.Subtract(v.Comparable())
		}
		for _, v := range victims {
			without := used
			without.Add(v.Comparable())
			if ok, _ := n.Comparable().Superset(without); ok {
				t.Errorf("job %s: victim %s (%s) on %s was not needed", job.ID, v.Name, v.JobID, n.Name)
			}
		}
	}
}

func checkNoRoomEvenByPreemption(t *testing.T, snap State, job *structs.Job) {
	t.Helper()
	ask := groupAsk(job.TaskGroups[0])
	for _, n := range snap.Nodes("") {
		var kept structs.ComparableResources
		holds := false // a system job's allocation: the node needs no other
		for _, a := range snap.AllocsByNode(n.ID) {
			if a.TerminalStatus() {
				continue
			}
			holds = holds || a.JobID == job.ID
			other := snap.JobByID("default", a.JobID)
			if a.JobID == job.ID || other == nil || other.Priority > job.Priority-preemptPriorityDelta {
				kept.Add(a.Comparable())
			}
		}
		kept.Add(ask)
		if holds && job.Type == structs.JobTypeSystem {
			continue
		}
		if ok, _ := n.Comparable().Superset(kept); ok {
			t.Errorf("job %s (priority %d) failed to place, but evicting the eligible allocations of node %s makes room",
				job.ID, job.Priority, n.Name)
		}
	}
}

// Cores are preempted like the other resources: a higher-priority group that
// reserves cores evicts a lower-priority holder of them (and its cores go to
// the preemptor), though cpu and memory alone would fit.
func TestPreemptionFreesCores(t *testing.T) {
	h := newHarness(t)
	h.upsertNodes(coresNode("a", 4, 1)) // cores 1-3 schedulable
	low := coresJob("low", 1, 3)
	low.Priority = 20
	h.run(low)
	if a := h.running("low")["low.web[0]"]; a == nil || a.AllocatedResources.Cores() != 3 {
		t.Fatalf("low does not hold the node's 3 cores: %+v", a)
	}
	sys := coresJob("sys", 1, 1)
	sys.Type, sys.Priority = structs.JobTypeSystem, 80
	h.run(sys)
	placed := h.running("sys")["sys.web[0]"]
	if placed == nil {
		t.Fatalf("sys not placed: %+v", h.lastEval().FailedTGAllocs)
	}
	if got := placed.AllocatedResources.Tasks["web"].ReservedCores; len(got) != 1 || got[0] == 0 {
		t.Errorf("sys got cores %v, want one schedulable core", got)
	}
	if len(placed.PreemptedAllocations) != 1 {
		t.Errorf("sys preempted %v, want low's allocation", placed.PreemptedAllocations)
	}
}
