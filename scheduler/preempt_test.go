package scheduler

import (
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
	all := h.store.Snapshot().AllocsByJob("low")
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
	job = h.store.JobByID("sys").Copy()
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
