package scheduler

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/orch-io/orch/structs"
)

// failAlloc records that the client reports allocID failed at t.
func (h *harness) failAlloc(allocID string, t time.Time) {
	h.t.Helper()
	a := h.store.AllocByID(allocID).Copy()
	a.ClientStatus = structs.AllocClientStatusFailed
	a.TaskStates = map[string]*structs.TaskState{"web": {State: structs.TaskStateDead, Failed: true, FinishedAt: t.UnixNano()}}
	a.ModifyTime = t.UnixNano()
	must(h.t, h.store.UpdateAllocsFromClient(h.nextIndex(), []*structs.Allocation{a}))
}

func (b *jobBuilder) Reschedule(p *structs.ReschedulePolicy) *jobBuilder {
	b.group().ReschedulePolicy = p
	return b
}

// onlyLive returns the single live allocation of job, failing otherwise.
func (h *harness) onlyLive(jobID string) *structs.Allocation {
	h.t.Helper()
	live := h.live(jobID)
	if len(live) != 1 {
		h.t.Fatalf("%d live allocations, want 1", len(live))
	}
	return live[0]
}

func TestRescheduleReplacesAFailedAllocationOnAnotherNode(t *testing.T) {
	h := newHarness(t)
	h.upsertNodes(mockNodes(3, "n", nil)...)
	job := h.run(mockJob().Reschedule(&structs.ReschedulePolicy{
		Attempts: 3, Interval: time.Hour, Delay: 10 * time.Second, DelayFunction: structs.DelayConstant}).Build())
	first := h.onlyLive(job.ID)

	h.failAlloc(first.ID, testNow.Add(-20*time.Second)) // the delay has passed
	h.process(job.Type, h.newEval(job, structs.EvalTriggerNodeUpdate))

	next := h.onlyLive(job.ID)
	if next.ID == first.ID || next.Name != first.Name {
		t.Fatalf("replacement %s %q, want a new allocation named %q", next.ID, next.Name, first.Name)
	}
	if next.NodeID == first.NodeID {
		t.Fatalf("replacement placed on the node the allocation failed on (%s): the penalty should steer it away", next.NodeID)
	}
	if next.PreviousAllocation != first.ID {
		t.Fatalf("PreviousAllocation = %q, want %q", next.PreviousAllocation, first.ID)
	}
	if tr := next.RescheduleTracker; tr == nil || len(tr.Events) != 1 || tr.Events[0].PrevAllocID != first.ID ||
		tr.Events[0].PrevNodeID != first.NodeID || tr.Events[0].Delay != 10*time.Second {
		t.Fatalf("tracker = %+v", tr)
	}
	if got := h.store.AllocByID(first.ID).NextAllocation; got != next.ID {
		t.Fatalf("failed allocation's NextAllocation = %q, want %q", got, next.ID)
	}
	if h.store.AllocByID(first.ID).ClientStatus != structs.AllocClientStatusFailed {
		t.Fatal("the failed allocation must stay failed")
	}

	// Evaluating again changes nothing: the replaced allocation is gone.
	plans := len(h.plans)
	h.process(job.Type, h.newEval(job, structs.EvalTriggerNodeUpdate))
	if len(h.plans) != plans {
		t.Fatalf("a second evaluation submitted a plan: %+v", h.lastPlan())
	}
}

func TestRescheduleWaitsForTheDelayWithAFollowupEval(t *testing.T) {
	h := newHarness(t)
	h.upsertNodes(mockNodes(2, "n", nil)...)
	job := h.run(mockJob().Reschedule(&structs.ReschedulePolicy{
		Delay: 30 * time.Second, DelayFunction: structs.DelayExponential, MaxDelay: time.Hour, Unlimited: true}).Build())
	first := h.onlyLive(job.ID)
	h.failAlloc(first.ID, testNow)

	h.process(job.Type, h.newEval(job, structs.EvalTriggerNodeUpdate))
	if n := len(h.live(job.ID)); n != 0 {
		t.Fatalf("%d live allocations: the replacement must wait for the delay", n)
	}
	if len(h.created) != 1 {
		t.Fatalf("%d evaluations created, want one follow-up", len(h.created))
	}
	f := h.created[0]
	if f.TriggeredBy != structs.EvalTriggerRetryFailedAlloc || f.Status != structs.EvalStatusPending ||
		!f.WaitUntil.Equal(testNow.Add(30*time.Second)) {
		t.Fatalf("follow-up = %+v, want pending alloc-failure eval waiting until +30s", f)
	}
	if got := h.store.AllocByID(first.ID).FollowupEvalID; got != f.ID {
		t.Fatalf("FollowupEvalID = %q, want %q", got, f.ID)
	}

	// Another evaluation before the delay creates no second follow-up.
	h.process(job.Type, h.newEval(job, structs.EvalTriggerNodeUpdate))
	if len(h.created) != 1 {
		t.Fatalf("%d evaluations created, want still one", len(h.created))
	}

	// The follow-up, released by the broker at its WaitUntil, replaces it.
	h.now = f.WaitUntil
	must(t, h.store.UpsertEvals(h.nextIndex(), []*structs.Evaluation{f.Copy()}))
	h.process(job.Type, f)
	next := h.onlyLive(job.ID)
	if next.PreviousAllocation != first.ID || next.RescheduleTracker.Events[0].Delay != 30*time.Second {
		t.Fatalf("replacement %+v", next)
	}

	// It fails too: the next delay doubles.
	h.failAlloc(next.ID, h.now)
	h.process(job.Type, h.newEval(job, structs.EvalTriggerNodeUpdate))
	if f2 := h.created[len(h.created)-1]; !f2.WaitUntil.Equal(h.now.Add(60 * time.Second)) {
		t.Fatalf("second follow-up waits until %s, want +60s", f2.WaitUntil.Sub(h.now))
	}
}

func TestRescheduleStopsWhenAttemptsAreExhausted(t *testing.T) {
	h := newHarness(t)
	h.upsertNodes(mockNodes(3, "n", nil)...)
	job := h.run(mockJob().Reschedule(&structs.ReschedulePolicy{
		Attempts: 2, Interval: time.Hour, Delay: time.Second, DelayFunction: structs.DelayConstant}).Build())
	ids := []string{h.onlyLive(job.ID).ID}
	for i := range 3 {
		h.now = h.now.Add(time.Minute)
		h.failAlloc(ids[len(ids)-1], h.now.Add(-2*time.Second))
		h.process(job.Type, h.newEval(job, structs.EvalTriggerNodeUpdate))
		live := h.live(job.ID)
		if i < 2 {
			if len(live) != 1 {
				t.Fatalf("attempt %d: %d live allocations, want the replacement", i+1, len(live))
			}
			ids = append(ids, live[0].ID)
			continue
		}
		if len(live) != 0 || len(h.created) != 0 {
			t.Fatalf("after 2 attempts: %d live, %d evals created; want none (policy exhausted)", len(live), len(h.created))
		}
	}
	last := h.store.AllocByID(ids[2])
	v := structs.NextReschedule(last, job.TaskGroups[0].ReschedulePolicy)
	if v.Possible || v.Attempted != 2 {
		t.Fatalf("verdict on the last allocation = %+v, want 2 attempted, no more", v)
	}
}

func TestLostAllocationsAreReplacedAtOnce(t *testing.T) {
	h := newHarness(t)
	h.upsertNodes(mockNodes(2, "n", nil)...)
	job := h.run(mockJob().Reschedule(&structs.ReschedulePolicy{
		Delay: time.Hour, DelayFunction: structs.DelayConstant, Unlimited: true}).Build())
	first := h.onlyLive(job.ID)
	h.setNodeStatus(first.NodeID, structs.NodeStatusDown)
	h.process(job.Type, h.newEval(job, structs.EvalTriggerNodeUpdate))
	next := h.onlyLive(job.ID)
	if next.NodeID == first.NodeID || len(h.created) != 0 {
		t.Fatalf("lost allocation: replacement on %s, %d follow-ups; want another node at once", next.NodeID, len(h.created))
	}
}

func TestFollowupEvalsAreBatched(t *testing.T) {
	h := newHarness(t)
	h.upsertNodes(mockNodes(100, "n", func(b *nodeBuilder) { b.CPU(100_000).Mem(100_000) })...)
	job := h.run(mockJob().Count(1000).CPU(10).Mem(10).Reschedule(&structs.ReschedulePolicy{
		Attempts: 1, Interval: time.Hour, Delay: time.Minute, DelayFunction: structs.DelayConstant}).Build())
	live := h.live(job.ID)
	if len(live) != 1000 {
		t.Fatalf("%d live, want 1000", len(live))
	}
	// They fail over 12 seconds: windows of 5s make 3 follow-ups.
	for i, a := range live {
		h.failAlloc(a.ID, testNow.Add(time.Duration(i%13)*time.Second))
	}
	h.process(job.Type, h.newEval(job, structs.EvalTriggerNodeUpdate))
	fmt.Printf("FIGURE name=followup_evals_for_1000_failures value=%d unit=evals\n", len(h.created))
	if len(h.created) != 3 {
		t.Fatalf("%d follow-up evals for 1000 failures over 12s, want 3", len(h.created))
	}
	for _, a := range h.store.Snapshot().AllocsByJob("default", job.ID) {
		if a.FollowupEvalID == "" {
			t.Fatalf("alloc %s has no follow-up eval", a.ID)
		}
	}
}

func TestBatchFollowupsNeverReleasesEarly(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	eval := &structs.Evaluation{ID: "e", JobID: "j", Type: structs.JobTypeService}
	var delayed []delayedReschedule
	for i := range 50 {
		delayed = append(delayed, delayedReschedule{
			Alloc: &structs.Allocation{ID: fmt.Sprint(i)},
			At:    testNow.Add(time.Duration(rng.IntN(60_000)) * time.Millisecond),
		})
	}
	fs := batchFollowups(eval, structs.JobTypeService, delayed, testNow, rng)
	seen := 0
	for _, f := range fs {
		for _, a := range f.Allocs {
			seen++
			var at time.Time
			for _, d := range delayed {
				if d.Alloc == a {
					at = d.At
				}
			}
			if f.Eval.WaitUntil.Before(at) {
				t.Fatalf("eval waits until %s, before alloc %s is due (%s)", f.Eval.WaitUntil, a.ID, at)
			}
			if f.Eval.WaitUntil.Sub(at) > followupBatchWindow {
				t.Fatalf("alloc %s waits %s beyond its delay, more than the window", a.ID, f.Eval.WaitUntil.Sub(at))
			}
		}
	}
	if seen != len(delayed) || len(fs) > 60/5+1 {
		t.Fatalf("%d allocs in %d evals", seen, len(fs))
	}
}

func TestRescheduleAvoidsEveryNodeTheChainFailedOn(t *testing.T) {
	h := newHarness(t)
	h.upsertNodes(mockNodes(3, "n", nil)...)
	job := h.run(mockJob().Reschedule(&structs.ReschedulePolicy{
		Attempts: 5, Interval: time.Hour, Delay: time.Second, DelayFunction: structs.DelayConstant}).Build())
	seen := map[string]bool{}
	cur := h.onlyLive(job.ID)
	for range 2 {
		seen[cur.NodeID] = true
		h.now = h.now.Add(time.Minute)
		h.failAlloc(cur.ID, h.now.Add(-10*time.Second))
		h.process(job.Type, h.newEval(job, structs.EvalTriggerRetryFailedAlloc))
		cur = h.onlyLive(job.ID)
		if seen[cur.NodeID] {
			t.Fatalf("replacement placed on %s, where an earlier allocation of the chain failed (%v)", cur.NodeID, seen)
		}
	}
}
