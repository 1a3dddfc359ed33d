package scheduler

import (
	"time"

	"github.com/orch-io/orch/structs"
)

// This file holds the reconciler's part in replacing failed allocations: the
// decision itself is structs.NextReschedule (a pure function of the
// allocation and its group's policy); here it is asked at the evaluation's
// time, and its answers become placements or delayed replacements.

// delayedReschedule is a failed allocation to replace at At, once its
// policy's delay has passed.
type delayedReschedule struct {
	Alloc *structs.Allocation
	At    time.Time
}

// failed reports whether the client reported a failed.
func failed(a *structs.Allocation) bool { return a.ClientStatus == structs.AllocClientStatusFailed }

// verdict is the reschedule policy's answer for a, under its group's policy
// in the current job (the user may have changed the policy since a failed).
func (c *classifier) verdict(a *structs.Allocation) structs.RescheduleVerdict {
	if v, ok := c.verdicts[a.ID]; ok {
		return v
	}
	var p *structs.ReschedulePolicy
	if tg := c.job.LookupTaskGroup(a.TaskGroup); tg != nil {
		p = tg.ReschedulePolicy
	}
	v := structs.NextReschedule(a, p)
	c.verdicts[a.ID] = v
	return v
}

// rescheduleNow reports whether the failed a may be replaced by this
// evaluation: its delay has passed, or this is the follow-up evaluation
// created to replace it (the broker released it at its WaitUntil, which is
// never before the delay ends, but the clock of the worker may lag the
// broker's by a little).
func (c *classifier) rescheduleNow(a *structs.Allocation) bool {
	v := c.verdict(a)
	if !v.Possible {
		return false
	}
	return !v.At.After(c.now) || (a.FollowupEvalID != "" && a.FollowupEvalID == c.evalID)
}

// reschedulePlacement is the replacement of the failed allocation ca, under
// its name.
func (c *classifier) reschedulePlacement(tg *structs.TaskGroup, ca classified) placement {
	return placement{TaskGroup: tg, Name: ca.alloc.Name, Index: ca.index, Previous: ca.alloc,
		Reschedule: true, Delay: c.verdict(ca.alloc).Delay}
}

// delayed returns the delayed replacement of a, unless a follow-up
// evaluation already waits to replace it.
func (c *classifier) delayed(a *structs.Allocation) (delayedReschedule, bool) {
	if a.FollowupEvalID != "" {
		return delayedReschedule{}, false
	}
	return delayedReschedule{Alloc: a, At: c.verdict(a).At}, true
}
