package command

import (
	"fmt"
	"time"

	"github.com/orch-io/orch/structs"
)

// rescheduleKVs describes where a failed allocation stands with its reschedule
// policy p (its group's, in the job version it ran), as `alloc status` and
// `job status` show it:
//
//	Reschedule Attempts    = 3/3; no more reschedules (policy: 3 in 1h)
//	Reschedule Eligibility = eligible in 27s
//
// An allocation that did not fail shows its attempts only if it is itself a
// replacement; one already replaced shows nothing (its replacement does).
func rescheduleKVs(a *structs.Allocation, p *structs.ReschedulePolicy, now time.Time) []kv {
	if a.NextAllocation != "" || p == nil {
		return nil
	}
	if a.ClientStatus != structs.AllocClientStatusFailed {
		if a.RescheduleTracker == nil || len(a.RescheduleTracker.Events) == 0 {
			return nil
		}
		return []kv{{"Reschedule Attempts", attemptsText(len(a.RescheduleTracker.Events), p)}}
	}
	v := structs.NextReschedule(a, p)
	if !v.Possible {
		return []kv{{"Reschedule Attempts",
			fmt.Sprintf("%s; no more reschedules (policy: %s)", attemptsText(v.Attempted, p), p)}}
	}
	eligible := "eligible now"
	if wait := v.At.Sub(now); wait > 0 {
		eligible = "eligible in " + wait.Round(time.Second).String()
	}
	return []kv{{"Reschedule Attempts", attemptsText(v.Attempted, p)}, {"Reschedule Eligibility", eligible}}
}

// attemptsText is "2/3", or "2 (unlimited)".
func attemptsText(n int, p *structs.ReschedulePolicy) string {
	if p.Unlimited {
		return fmt.Sprintf("%d (unlimited)", n)
	}
	return fmt.Sprintf("%d/%d", n, p.Attempts)
}

// groupReschedulePolicy is the policy of group in job, or nil.
func groupReschedulePolicy(job *structs.Job, group string) *structs.ReschedulePolicy {
	if job == nil {
		return nil
	}
	if tg := job.LookupTaskGroup(group); tg != nil {
		return tg.ReschedulePolicy
	}
	return nil
}

// formatJobReschedules lists, under `job status`, each failed allocation not
// replaced yet with its reschedule state: waiting for its delay, or out of
// attempts. It is empty when there is none.
func formatJobReschedules(job *structs.Job, allocs []*structs.AllocListStub, now time.Time, verbose bool) string {
	var out string
	for _, s := range allocs {
		if s.ClientStatus != structs.AllocClientStatusFailed || s.NextAllocation != "" {
			continue
		}
		a := &structs.Allocation{ID: s.ID, ClientStatus: s.ClientStatus, TaskStates: s.TaskStates,
			RescheduleTracker: s.RescheduleTracker, ModifyTime: s.ModifyTime}
		kvs := rescheduleKVs(a, groupReschedulePolicy(job, s.TaskGroup), now)
		if len(kvs) == 0 {
			continue
		}
		out += fmt.Sprintf("Alloc %s (%s):\n", shortID(s.ID, verbose), s.Name)
		out += indentLines(formatKV(kvs), "  ") + "\n"
	}
	if out == "" {
		return ""
	}
	return "\nFailed Allocations\n" + out
}
