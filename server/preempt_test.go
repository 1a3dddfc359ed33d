package server

import (
	"testing"
	"time"

	"github.com/orch-io/orch/server/state"
	"github.com/orch-io/orch/structs"
)

// A system job of high priority preempts a low-priority service job on a full
// node, through the real workers, plan applier and Raft: the victim is
// evicted and names its preemptor, and the victim's job gets a follow-up
// evaluation (TriggeredBy preemption) that cannot place it and blocks.
func TestPreemption_SystemJobEvictsLowPriorityAlloc(t *testing.T) {
	s := startServer(t, testConfig(t.TempDir()))
	node := testNode() // 8 GiB
	registerNode(t, s, node)

	low := testJob("low", 2, 4000)
	low.Priority = 20
	registerJob(t, s, low)
	waitFor(t, 10*time.Second, "both low allocations placed", func() bool {
		return len(running(jobAllocs(t, s, "low"))) == 2
	})

	sys := testJob("sys", 1, 1000)
	sys.Type, sys.Priority = structs.JobTypeSystem, 80
	registerJob(t, s, sys)
	var placed *structs.Allocation
	waitFor(t, 10*time.Second, "system allocation placed", func() bool {
		for _, a := range s.state.Snapshot().AllocsByJob("default", "sys") {
			if !a.TerminalStatus() {
				placed = a
				return true
			}
		}
		return false
	})

	snap := s.state.Snapshot()
	var evicted []*structs.Allocation
	for _, a := range snap.AllocsByJob("default", "low") {
		if a.DesiredStatus == structs.AllocDesiredStatusEvict {
			evicted = append(evicted, a)
		}
	}
	if len(evicted) != 1 {
		t.Fatalf("%d low allocations evicted, want 1 (one frees enough)", len(evicted))
	}
	if evicted[0].PreemptedByAllocation != placed.ID {
		t.Errorf("evicted PreemptedByAllocation = %q, want the system allocation %q", evicted[0].PreemptedByAllocation, placed.ID)
	}
	if len(placed.PreemptedAllocations) != 1 || placed.PreemptedAllocations[0] != evicted[0].ID {
		t.Errorf("system allocation PreemptedAllocations = %v, want [%s]", placed.PreemptedAllocations, evicted[0].ID)
	}

	var follow *structs.Evaluation
	waitFor(t, 10*time.Second, "the preemption eval of job low completes", func() bool {
		for _, e := range s.state.Snapshot().EvalsByJob("default", "low") {
			if e.TriggeredBy == structs.EvalTriggerPreemption && e.Status == structs.EvalStatusComplete {
				follow = e
				return true
			}
		}
		return false
	})
	if follow.CreateTime == 0 || follow.CreateTime != evicted[0].ModifyTime {
		t.Errorf("preemption eval CreateTime = %d, want the eviction's time %d", follow.CreateTime, evicted[0].ModifyTime)
	}
	if follow.QueuedAllocations["web"] != 1 || follow.BlockedEval == "" {
		t.Errorf("preemption eval: queued %v, blocked eval %q; want 1 queued and a blocked eval (no room left)",
			follow.QueuedAllocations, follow.BlockedEval)
	}
	if n := len(running(jobAllocs(t, s, "low"))); n != 1 {
		t.Errorf("%d low allocations live, want 1", n)
	}
}

// `job plan` shows the allocations a placement would evict, and commits
// nothing. (A service job: preemption enabled for service jobs in the
// scheduler configuration, through the operator endpoint.)
func TestPreemption_JobPlanListsPreemptedAllocs(t *testing.T) {
	s := startServer(t, testConfig(t.TempDir()))
	registerNode(t, s, testNode())
	low := testJob("low", 2, 4000)
	low.Priority = 20
	registerJob(t, s, low)
	waitFor(t, 10*time.Second, "both low allocations placed", func() bool {
		return len(running(jobAllocs(t, s, "low"))) == 2
	})

	cfg := structs.DefaultSchedulerConfiguration()
	cfg.PreemptionConfig.ServiceSchedulerEnabled = true
	var setReply structs.SchedulerSetConfigurationResponse
	if err := s.RPC(t.Context(), "Operator.SchedulerSetConfiguration", &structs.SchedulerSetConfigRequest{Config: *cfg}, &setReply); err != nil {
		t.Fatalf("Operator.SchedulerSetConfiguration: %v", err)
	}
	high := testJob("high", 1, 1000)
	high.Priority = 80
	var reply structs.JobPlanResponse
	if err := s.RPC(t.Context(), "Job.Plan", &structs.JobPlanRequest{Job: high}, &reply); err != nil {
		t.Fatalf("Job.Plan: %v", err)
	}
	if reply.Annotations == nil || len(reply.Annotations.PreemptedAllocs) != 1 || reply.Annotations.PreemptedAllocs[0].JobID != "low" {
		t.Fatalf("plan annotations = %+v, want one preempted allocation of job low", reply.Annotations)
	}
	if u := reply.Annotations.DesiredTGUpdates["web"]; u == nil || u.Preemptions != 1 || u.Place != 1 {
		t.Errorf("group web updates = %+v, want 1 place and 1 preemption", u)
	}
	if n := len(running(jobAllocs(t, s, "low"))); n != 2 {
		t.Errorf("%d low allocations live after a dry run, want 2", n)
	}
}

// The follow-up evaluations are the same on every server: one per preempted
// job still in the state, with IDs derived from the entry's index.
func TestPreemptionEvalsAreDeterministic(t *testing.T) {
	st := state.NewStateStore()
	for i, id := range []string{"a", "b"} {
		if err := st.UpsertJob(uint64(i+1), testJob(id, 1, 100)); err != nil {
			t.Fatal(err)
		}
	}
	evict := func(id, job string) *structs.Allocation {
		return &structs.Allocation{ID: id, JobID: job, Namespace: structs.DefaultNamespace,
			DesiredStatus: structs.AllocDesiredStatusEvict, ModifyTime: 42}
	}
	allocs := []*structs.Allocation{
		evict("1", "a"), evict("2", "a"), evict("3", "b"), evict("4", "purged"),
		{ID: "5", JobID: "c", DesiredStatus: structs.AllocDesiredStatusStop},
	}
	first, again := preemptionEvals(st, 7, allocs), preemptionEvals(st, 7, allocs)
	if len(first) != 2 || first[0].JobID != "a" || first[1].JobID != "b" {
		t.Fatalf("evals for jobs %v, want a and b", first)
	}
	for i := range first {
		if first[i].ID != again[i].ID || first[i].TriggeredBy != structs.EvalTriggerPreemption ||
			first[i].Status != structs.EvalStatusPending || first[i].CreateTime != 42 {
			t.Errorf("eval %d = %+v / %+v: want the same pending preemption eval, created at 42", i, first[i], again[i])
		}
	}
	if other := preemptionEvals(st, 8, allocs); other[0].ID == first[0].ID {
		t.Errorf("evals of two entries share ID %s", other[0].ID)
	}
}
