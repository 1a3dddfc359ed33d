package command

import (
	"strings"
	"testing"
	"time"

	"github.com/orch-io/orch/structs"
)

func TestRescheduleStatusLines(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	limited := &structs.ReschedulePolicy{Attempts: 3, Interval: time.Hour, Delay: 30 * time.Second, DelayFunction: structs.DelayConstant}
	failedAt := func(at time.Time, events int) *structs.Allocation {
		a := &structs.Allocation{ID: "a1", Name: "web.web[0]", TaskGroup: "web", ClientStatus: structs.AllocClientStatusFailed,
			ModifyTime: at.UnixNano(), RescheduleTracker: &structs.RescheduleTracker{}}
		for range events {
			a.RescheduleTracker.Events = append(a.RescheduleTracker.Events,
				&structs.RescheduleEvent{RescheduleTime: at.Add(-time.Minute).UnixNano(), Delay: 30 * time.Second})
		}
		return a
	}
	for _, tc := range []struct {
		name   string
		alloc  *structs.Allocation
		policy *structs.ReschedulePolicy
		want   string
	}{
		{"waiting", failedAt(now.Add(-3*time.Second), 1), limited,
			"Reschedule Attempts    = 1/3\nReschedule Eligibility = eligible in 27s\n"},
		{"exhausted", failedAt(now, 3), limited,
			"Reschedule Attempts = 3/3; no more reschedules (policy: 3 in 1h)\n"},
		{"due", failedAt(now.Add(-time.Hour), 0), limited,
			"Reschedule Attempts    = 0/3\nReschedule Eligibility = eligible now\n"},
		{"unlimited", failedAt(now, 7), &structs.ReschedulePolicy{Delay: time.Second, DelayFunction: structs.DelayConstant, Unlimited: true},
			"Reschedule Attempts    = 7 (unlimited)\nReschedule Eligibility = eligible in 1s\n"},
		{"replaced shows nothing", func() *structs.Allocation { a := failedAt(now, 1); a.NextAllocation = "b"; return a }(), limited, ""},
		{"no policy (system job)", failedAt(now, 0), nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ""
			if kvs := rescheduleKVs(tc.alloc, tc.policy, now); len(kvs) > 0 {
				got = formatKV(kvs)
			}
			if got != tc.want {
				t.Fatalf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}

	job := &structs.Job{ID: "web", TaskGroups: []*structs.TaskGroup{{Name: "web", ReschedulePolicy: limited}}}
	out := formatJobReschedules(job, []*structs.AllocListStub{failedAt(now, 3).Stub()}, now, false)
	want := "\nFailed Allocations\nAlloc a1 (web.web[0]):\n  Reschedule Attempts = 3/3; no more reschedules (policy: 3 in 1h)\n"
	if !strings.Contains(out, want) {
		t.Fatalf("job status section:\n%s\nwant\n%s", out, want)
	}
}
