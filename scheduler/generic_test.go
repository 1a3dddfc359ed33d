package scheduler

import (
	"errors"
	"maps"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/orch-io/orch/structs"
)

func TestNewRejectsUnknownJobTypesAndMissingConfig(t *testing.T) {
	h := newHarness(t)
	cfg := Config{State: h.store.Snapshot(), Planner: h, Now: testNow, Rand: rand.New(rand.NewPCG(1, 2))}
	_, err := New("system-ish", cfg)
	if !errors.Is(err, ErrUnknownJobType) || err.Error() != `scheduler: no scheduler for job type "system-ish"` {
		t.Fatalf("unknown type: %v", err)
	}
	for _, typ := range []structs.JobType{structs.JobTypeService, structs.JobTypeBatch} {
		if _, err := New(typ, cfg); err != nil {
			t.Fatalf("New(%s): %v", typ, err)
		}
	}
	_, err = New(structs.JobTypeService, Config{})
	if !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("empty config: %v, want ErrInvalidConfig", err)
	}
	for _, field := range []string{"State", "Planner", "Now", "Rand"} {
		if !strings.Contains(err.Error(), field+" is ") {
			t.Errorf("empty config error does not name %s: %v", field, err)
		}
	}
}

func TestPlacesThreeAllocationsOnOneNode(t *testing.T) {
	h := newHarness(t)
	h.upsertNodes(mockNode("n1").CPU(4000).Mem(8192).Build())
	job := h.run(mockJob().Count(3).Build())

	plan := h.lastPlan()
	if len(plan.NodeUpdate) != 0 || len(plan.NodeAllocation["node-n1"]) != 3 {
		t.Fatalf("plan: %d stops, %d placements on n1; want 0 and 3", len(plan.NodeUpdate), len(plan.NodeAllocation["node-n1"]))
	}
	if plan.Job != job || plan.EvalID == "" || plan.Priority != 50 || plan.SnapshotIndex == 0 {
		t.Errorf("plan header: job=%p (want %p) eval=%q priority=%d snapshot=%d", plan.Job, job, plan.EvalID, plan.Priority, plan.SnapshotIndex)
	}
	var names []string
	for _, a := range plan.NodeAllocation["node-n1"] {
		names = append(names, a.Name)
		if a.DesiredStatus != structs.AllocDesiredStatusRun || a.ClientStatus != structs.AllocClientStatusPending {
			t.Errorf("%s: desired %s client %s, want run/pending", a.Name, a.DesiredStatus, a.ClientStatus)
		}
		if a.Job != job || a.JobID != "job" || a.TaskGroup != "web" || a.NodeName != "n1" || a.EvalID != plan.EvalID || a.Namespace != "default" {
			t.Errorf("%s: identity fields wrong: %+v", a.Name, a)
		}
		if a.CreateTime != testNow.UnixNano() || a.ModifyTime != testNow.UnixNano() {
			t.Errorf("%s: CreateTime %d, want Now", a.Name, a.CreateTime)
		}
		if got := a.Comparable(); got != (structs.ComparableResources{CPU: 500, MemoryMB: 256, DiskMB: 300}) {
			t.Errorf("%s: allocated %+v, want 500 MHz, 256 MB, 300 MB disk", a.Name, got)
		}
		if len(a.ID) != 36 || a.ID[14] != '4' {
			t.Errorf("%s: ID %q is not a version-4 UUID", a.Name, a.ID)
		}
		m := a.Metrics
		if m == nil || m.NodesEvaluated != 1 || m.NodesAvailable["dc1"] != 1 || len(m.ScoreMetaData) != 1 || m.ScoreMetaData[0].NodeID != "node-n1" {
			t.Errorf("%s: metrics %+v", a.Name, m)
		}
	}
	slices.Sort(names)
	if want := []string{"job.web[0]", "job.web[1]", "job.web[2]"}; !slices.Equal(names, want) {
		t.Errorf("names %v, want %v", names, want)
	}
	e := h.lastEval()
	if e.Status != structs.EvalStatusComplete || e.FailedTGAllocs != nil || e.BlockedEval != "" || e.QueuedAllocations["web"] != 0 || len(h.created) != 0 {
		t.Errorf("eval: %+v, created %d evals", e, len(h.created))
	}
	if len(h.running("job")) != 3 {
		t.Errorf("state holds %d running allocations, want 3", len(h.running("job")))
	}

	// Processing again changes nothing, and submits no plan.
	h.process(job.Type, h.newEval(job, structs.EvalTriggerJobRegister))
	if len(h.plans) != 1 || h.lastEval().Status != structs.EvalStatusComplete {
		t.Errorf("second eval submitted %d plans in all (want 1), status %s", len(h.plans), h.lastEval().Status)
	}
}

func TestAllAtOnceJobMakesAllOrNothingPlans(t *testing.T) {
	h := newHarness(t)
	h.upsertNodes(mockNode("n1").CPU(4000).Mem(8192).Build())
	job := mockJob().Count(2).Build()
	job.AllAtOnce = true
	h.run(job)
	if plan := h.lastPlan(); !plan.AllAtOnce {
		t.Fatal("the plan of an all_at_once job must be all or nothing (Plan.AllAtOnce)")
	}
	h.run(mockJob().ID("other").Count(1).Build())
	if plan := h.lastPlan(); plan.AllAtOnce {
		t.Fatal("a job without all_at_once must allow partial commits")
	}
}

func TestCountUpPlacesMissingIndexesAndCountDownStopsHighest(t *testing.T) {
	h := newHarness(t)
	h.upsertNodes(mockNodes(3, "n", nil)...)
	job := h.run(mockJob().Count(3).Build())
	before := h.running("job")

	up := job.Copy()
	up.TaskGroups[0].Count = 5
	job = h.run(up)
	plan := h.lastPlan()
	var placed, updated []string
	for _, a := range planAllocs(plan.NodeAllocation) {
		if before[a.Name] != nil && before[a.Name].ID == a.ID {
			updated = append(updated, a.Name)
			if a.Job != job {
				t.Errorf("in-place update of %s does not carry the new job version", a.Name)
			}
		} else {
			placed = append(placed, a.Name)
		}
	}
	slices.Sort(placed)
	if !slices.Equal(placed, []string{"job.web[3]", "job.web[4]"}) || len(updated) != 3 || len(plan.NodeUpdate) != 0 {
		t.Fatalf("count 3→5: placed %v, updated in place %v, stops %d", placed, updated, len(plan.NodeUpdate))
	}
	for name, a := range h.running("job") {
		if a.Job.JobModifyIndex != job.JobModifyIndex {
			t.Errorf("%s still runs job version %d", name, a.Job.JobModifyIndex)
		}
	}

	down := job.Copy()
	down.TaskGroups[0].Count = 2
	h.run(down)
	plan = h.lastPlan()
	var stopped []string
	for _, a := range planAllocs(plan.NodeUpdate) {
		stopped = append(stopped, a.Name)
		if a.DesiredDescription != allocNotNeeded || a.DesiredStatus != structs.AllocDesiredStatusStop || a.Job != nil {
			t.Errorf("stop of %s: %q %s job=%v", a.Name, a.DesiredDescription, a.DesiredStatus, a.Job != nil)
		}
	}
	slices.Sort(stopped)
	if !slices.Equal(stopped, []string{"job.web[2]", "job.web[3]", "job.web[4]"}) {
		t.Fatalf("count 5→2 stopped %v, want the three highest", stopped)
	}
	if got := h.running("job"); len(got) != 2 || got["job.web[0]"] == nil || got["job.web[1]"] == nil {
		t.Fatalf("after count 2: running %v", keys(got))
	}
}

func TestStoppedOrPurgedJobStopsEverything(t *testing.T) {
	for _, purge := range []bool{false, true} {
		h := newHarness(t)
		h.upsertNodes(mockNodes(2, "n", nil)...)
		job := h.run(mockJob().Count(3).Build())
		eval := h.newEval(job, structs.EvalTriggerJobDeregister)
		if purge {
			must(t, h.store.DeleteJob(h.nextIndex(), "default", job.ID))
		} else {
			stopped := job.Copy()
			stopped.Stop = true
			h.upsertJob(stopped)
		}
		h.process(structs.JobTypeService, eval)
		plan := h.lastPlan()
		stops := planAllocs(plan.NodeUpdate)
		if len(stops) != 3 || len(plan.NodeAllocation) != 0 {
			t.Fatalf("purge=%v: %d stops, %d placement nodes; want 3 and 0", purge, len(stops), len(plan.NodeAllocation))
		}
		for _, a := range stops {
			if a.DesiredDescription != allocJobStopped {
				t.Errorf("purge=%v: %s stopped with %q", purge, a.Name, a.DesiredDescription)
			}
		}
		if n := len(h.running("job")); n != 0 || h.lastEval().Status != structs.EvalStatusComplete {
			t.Errorf("purge=%v: %d still running, eval %s", purge, n, h.lastEval().Status)
		}
	}
}

func TestAllocationsOnADownNodeAreStoppedAndReplaced(t *testing.T) {
	h := newHarness(t)
	h.upsertNodes(mockNodes(3, "n", nil)...)
	job := h.run(mockJob().Count(2).Build())
	before := h.running("job")
	var victim *structs.Allocation
	for _, a := range before {
		victim = a
		break
	}
	h.setNodeStatus(victim.NodeID, structs.NodeStatusDown)
	eval := h.newEval(job, structs.EvalTriggerNodeUpdate)
	h.process(job.Type, eval)

	plan := h.lastPlan()
	stops := planAllocs(plan.NodeUpdate)
	if len(stops) != 1 || stops[0].ID != victim.ID || stops[0].DesiredDescription != allocLost {
		t.Fatalf("stops %+v, want %s with %q", stops, victim.ID, allocLost)
	}
	placed := planAllocs(plan.NodeAllocation)
	if len(placed) != 1 || placed[0].Name != victim.Name || placed[0].NodeID == victim.NodeID {
		t.Fatalf("replacement %+v, want %s on another node", placed, victim.Name)
	}
	if got := h.running("job"); len(got) != 2 || got[victim.Name].ID == victim.ID {
		t.Fatalf("after: %v", keys(got))
	}
}

func TestMemoryExhaustedIsExplainedAndBlocked(t *testing.T) {
	h := newHarness(t)
	h.upsertNodes(mockNode("n1").Mem(1024).Build())
	job := h.run(mockJob().Count(3).Mem(600).Build())

	if n := len(h.running("job")); n != 1 {
		t.Fatalf("%d placed, want 1", n)
	}
	e := h.lastEval()
	m := e.FailedTGAllocs["web"]
	if e.Status != structs.EvalStatusComplete || m == nil || e.QueuedAllocations["web"] != 2 {
		t.Fatalf("eval: status %s failed %v queued %v", e.Status, e.FailedTGAllocs, e.QueuedAllocations)
	}
	if m.CoalescedFailures != 1 || m.NodesEvaluated != 1 || m.NodesExhausted != 1 || m.DimensionExhausted["memory"] != 1 {
		t.Errorf("failure metric: %+v", m)
	}
	got := FailureSummary("web", job.TaskGroups[0].Count, m.CoalescedFailures+1, m)
	if want := "could not place 2 of 3 allocations of group web: memory exhausted on 1 node"; got != want {
		t.Errorf("summary:\n got %q\nwant %q", got, want)
	}

	if len(h.created) != 1 {
		t.Fatalf("%d evals created, want 1 blocked", len(h.created))
	}
	b := h.created[0]
	if b.Status != structs.EvalStatusBlocked || b.TriggeredBy != structs.EvalTriggerQueuedAllocs || b.PreviousEval != e.ID ||
		e.BlockedEval != b.ID || b.JobID != "job" || b.Priority != 50 || b.Type != structs.JobTypeService || b.SnapshotIndex == 0 ||
		b.SnapshotIndex != e.SnapshotIndex || b.CreateTime != testNow.UnixNano() {
		t.Errorf("blocked eval %+v (eval blocked=%q)", b, e.BlockedEval)
	}
}

func TestBatchAllocationsThatCompletedAreNotReplaced(t *testing.T) {
	h := newHarness(t)
	h.upsertNodes(mockNodes(2, "n", nil)...)
	job := h.run(mockJob().Batch().Count(3).Build())
	live := h.running("job")
	h.setClientStatus(live["job.web[0]"].ID, structs.AllocClientStatusComplete)
	h.setClientStatus(live["job.web[1]"].ID, structs.AllocClientStatusFailed)
	plans := len(h.plans)
	h.process(job.Type, h.newEval(job, structs.EvalTriggerAllocStop))
	if len(h.plans) != plans {
		t.Fatalf("a plan was submitted: %+v", h.lastPlan())
	}
	if e := h.lastEval(); e.Status != structs.EvalStatusComplete || e.QueuedAllocations["web"] != 0 {
		t.Fatalf("eval %+v", e)
	}
}

func TestServiceAllocationThatCompletedIsReplaced(t *testing.T) {
	h := newHarness(t)
	h.upsertNodes(mockNodes(2, "n", nil)...)
	job := h.run(mockJob().Count(2).Build())
	done := h.running("job")["job.web[1]"]
	h.setClientStatus(done.ID, structs.AllocClientStatusComplete)
	h.process(job.Type, h.newEval(job, structs.EvalTriggerAllocStop))
	placed := planAllocs(h.lastPlan().NodeAllocation)
	if len(placed) != 1 || placed[0].Name != "job.web[1]" || placed[0].ID == done.ID {
		t.Fatalf("placed %+v, want a new job.web[1]", placed)
	}
}

func TestDestructiveUpdateReplacesEveryAllocation(t *testing.T) {
	h := newHarness(t)
	h.upsertNodes(mockNodes(3, "n", nil)...)
	job := h.run(mockJob().Count(3).Build())
	before := h.running("job")

	changed := job.Copy()
	changed.TaskGroups[0].Tasks[0].Config["command"] = "/bin/true"
	job = h.run(changed)
	plan := h.lastPlan()
	stops, placed := planAllocs(plan.NodeUpdate), planAllocs(plan.NodeAllocation)
	if len(stops) != 3 || len(placed) != 3 {
		t.Fatalf("%d stops and %d placements, want 3 and 3", len(stops), len(placed))
	}
	for _, a := range stops {
		if before[a.Name].ID != a.ID || a.DesiredDescription != allocUpdating {
			t.Errorf("stop %s %q", a.Name, a.DesiredDescription)
		}
	}
	for name, a := range h.running("job") {
		if a.ID == before[name].ID || a.Job.JobModifyIndex != job.JobModifyIndex {
			t.Errorf("%s was not replaced by the new version", name)
		}
	}
}

func TestDestructiveUpdateThatFindsNoNodeKeepsTheOldAllocation(t *testing.T) {
	h := newHarness(t)
	h.upsertNodes(mockNode("n1").Mem(1024).Build())
	job := h.run(mockJob().Mem(600).Build())
	old := h.running("job")["job.web[0]"]

	bigger := job.Copy()
	bigger.TaskGroups[0].Tasks[0].Resources.MemoryMB = 2000
	h.run(bigger)
	if len(h.plans) != 1 {
		t.Fatalf("a plan was submitted: %+v", h.lastPlan())
	}
	if got := h.running("job")["job.web[0]"]; got == nil || got.ID != old.ID {
		t.Fatalf("the old allocation must keep running: %+v", got)
	}
	if m := h.lastEval().FailedTGAllocs["web"]; m == nil || m.DimensionExhausted["memory"] != 1 {
		t.Fatalf("failure not recorded: %+v", h.lastEval())
	}
}

func TestReplacementMayUseWhatItsPredecessorFrees(t *testing.T) {
	h := newHarness(t)
	h.upsertNodes(mockNode("n1").Mem(1024).Build())
	job := h.run(mockJob().Mem(600).Build())
	changed := job.Copy()
	changed.TaskGroups[0].Tasks[0].Resources.MemoryMB = 700 // 600 + 700 > 1024, 700 alone fits
	h.run(changed)
	plan := h.lastPlan()
	if len(planAllocs(plan.NodeUpdate)) != 1 || len(planAllocs(plan.NodeAllocation)) != 1 {
		t.Fatalf("plan: %d stops, %d placements; want 1 and 1 (eval %+v)", len(planAllocs(plan.NodeUpdate)),
			len(planAllocs(plan.NodeAllocation)), h.lastEval())
	}
}

func TestPartiallyCommittedPlanIsRetriedFromFreshState(t *testing.T) {
	h := newHarness(t)
	h.upsertNodes(mockNodes(4, "n", nil)...)
	// The applier refuses the first node of the first plan, as if another
	// scheduler had just filled it, and takes the rest.
	var refused string
	h.reject = func(plan *structs.Plan) map[string]bool {
		if len(h.plans) > 1 {
			return nil
		}
		refused = slices.Sorted(maps.Keys(plan.NodeAllocation))[0]
		return map[string]bool{refused: true}
	}
	h.run(mockJob().Count(4).Build())
	if len(h.plans) != 2 {
		t.Fatalf("%d plans submitted, want 2", len(h.plans))
	}
	lost := h.plans[0].NodeAllocation[refused]
	second := planAllocs(h.plans[1].NodeAllocation)
	if len(second) != len(lost) || len(h.plans[1].NodeUpdate) != 0 {
		t.Fatalf("the second plan places %d (and stops %d), want exactly the %d refused", len(second), len(h.plans[1].NodeUpdate), len(lost))
	}
	names := func(allocs []*structs.Allocation) []string {
		var out []string
		for _, a := range allocs {
			out = append(out, a.Name)
		}
		slices.Sort(out)
		return out
	}
	if got, want := names(second), names(lost); !slices.Equal(got, want) {
		t.Errorf("second plan places %v, want %v", got, want)
	}
	if got := h.running("job"); len(got) != 4 {
		t.Fatalf("running %v, want 4", keys(got))
	}
	if e := h.lastEval(); e.Status != structs.EvalStatusComplete || e.QueuedAllocations["web"] != 0 {
		t.Fatalf("eval %+v", e)
	}
}

func TestPlansThatNeverCommitFailTheEvalAfterMaxAttempts(t *testing.T) {
	h := newHarness(t)
	h.upsertNodes(mockNodes(2, "n", nil)...)
	h.reject = func(plan *structs.Plan) map[string]bool {
		all := map[string]bool{}
		for n := range plan.NodeAllocation {
			all[n] = true
		}
		return all
	}
	h.run(mockJob().Count(2).Build())
	if len(h.plans) != maxPlanAttempts {
		t.Fatalf("%d plans submitted, want %d", len(h.plans), maxPlanAttempts)
	}
	e := h.lastEval()
	if e.Status != structs.EvalStatusFailed || e.StatusDescription != "maximum attempts reached (5)" || e.QueuedAllocations["web"] != 2 {
		t.Fatalf("eval %+v", e)
	}
	if len(h.created) != 1 || h.created[0].TriggeredBy != structs.EvalTriggerMaxPlans || e.BlockedEval != h.created[0].ID ||
		h.created[0].Status != structs.EvalStatusBlocked {
		t.Fatalf("created %+v", h.created)
	}
}

func TestSameSeedSamePlan(t *testing.T) {
	h := newHarness(t)
	h.noCommit = true
	h.upsertNodes(mockNodes(20, "n", func(b *nodeBuilder) { b.Mem(2048) })...)
	job := h.upsertJob(mockJob().Count(12).Build())
	eval := h.newEval(job, structs.EvalTriggerJobRegister)
	snap := h.store.Snapshot() // both runs plan against the very same state
	run := func(seed uint64) *structs.Plan {
		s, err := New(job.Type, Config{State: snap, Planner: h, Now: testNow, Rand: evalRand(seed, eval.ID)})
		must(t, err)
		must(t, s.Process(eval))
		return h.lastPlan()
	}
	a, b := run(7), run(7)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two runs with the same seed made different plans")
	}
	if c := run(8); reflect.DeepEqual(a, c) {
		t.Fatal("a different seed made the very same plan (IDs included): the seed is not used")
	}
}

func TestInPlaceUpdateKeepsAllocationsWhenOnlyCountChanges(t *testing.T) {
	h := newHarness(t)
	h.upsertNodes(mockNodes(2, "n", nil)...)
	job := h.run(mockJob().Count(2).Build())
	before := h.running("job")
	same := job.Copy()
	same.TaskGroups[0].Count = 1
	h.run(same)
	after := h.running("job")
	if len(after) != 1 || after["job.web[0]"].ID != before["job.web[0]"].ID {
		t.Fatalf("count 2→1 must keep job.web[0] as it is: %v", keys(after))
	}
}

func keys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
