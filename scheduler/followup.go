package scheduler

import (
	"math/rand/v2"
	"slices"
	"time"

	"github.com/orch-io/orch/structs"
)

// followupBatchWindow groups delayed replacements into one follow-up
// evaluation: those due within this window of the first of a batch share it,
// so a thousand allocations failing together make one evaluation, not a
// thousand. A replacement may wait up to this much beyond its policy's delay.
const followupBatchWindow = 5 * time.Second

// followupDesc describes the evaluations created for delayed replacements.
const followupDesc = "created for delayed rescheduling"

// followup is one follow-up evaluation and the failed allocations it will
// replace.
type followup struct {
	Eval   *structs.Evaluation
	Allocs []*structs.Allocation
}

// batchFollowups groups delayed replacements by due time into windows of
// followupBatchWindow, earliest first, and makes one pending evaluation per
// window, held by the broker until the last replacement in it is due
// (WaitUntil): never earlier than any policy says. It is pure; IDs come from
// rng.
func batchFollowups(eval *structs.Evaluation, jobType structs.JobType, delayed []delayedReschedule,
	now time.Time, rng *rand.Rand) []followup {
	if len(delayed) == 0 {
		return nil
	}
	sorted := slices.Clone(delayed)
	slices.SortStableFunc(sorted, func(x, y delayedReschedule) int { return x.At.Compare(y.At) })
	var out []followup
	var start time.Time
	for _, d := range sorted {
		if len(out) == 0 || d.At.Sub(start) > followupBatchWindow {
			start = d.At
			out = append(out, followup{Eval: newFollowupEval(eval, jobType, now, rng)})
		}
		f := &out[len(out)-1]
		f.Allocs = append(f.Allocs, d.Alloc)
		f.Eval.WaitUntil = d.At
	}
	return out
}

func newFollowupEval(eval *structs.Evaluation, jobType structs.JobType, now time.Time, rng *rand.Rand) *structs.Evaluation {
	typ := eval.Type
	if typ == "" {
		typ = jobType
	}
	return &structs.Evaluation{
		ID:                newID(rng),
		Namespace:         eval.Namespace,
		Priority:          eval.Priority,
		Type:              typ,
		TriggeredBy:       structs.EvalTriggerRetryFailedAlloc,
		JobID:             eval.JobID,
		JobModifyIndex:    eval.JobModifyIndex,
		Status:            structs.EvalStatusPending,
		StatusDescription: followupDesc,
		PreviousEval:      eval.ID,
		CreateTime:        now.UnixNano(),
		ModifyTime:        now.UnixNano(),
	}
}

// appendFollowups records in plan, for each failed allocation of fs, the
// follow-up evaluation that will replace it (FollowupEvalID). The update is
// an allocation already terminal, so the plan applier commits it whatever
// the state of its node.
func appendFollowups(plan *structs.Plan, fs []followup) {
	for _, f := range fs {
		for _, a := range f.Allocs {
			u := a.Copy()
			u.Job, u.TaskStates, u.Metrics = nil, nil, nil
			u.FollowupEvalID = f.Eval.ID
			plan.AppendAlloc(u)
		}
	}
}
