package checks

import (
	"testing"
	"time"

	"github.com/orch-io/orch/structs"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// feed records the statuses in order, one second apart, and returns the
// status after each and the indexes of the results that asked for a restart.
func feed(c *structs.ServiceCheck, statuses ...string) (got []string, restarts []int) {
	st := newState(c, t0)
	for i, s := range statuses {
		if st.record(c, result{status: s, time: t0.Add(time.Duration(i+1) * time.Second)}) {
			restarts = append(restarts, i)
		}
		got = append(got, st.status)
	}
	return got, restarts
}

const (
	P = structs.CheckStatusPassing
	W = structs.CheckStatusWarning
	C = structs.CheckStatusCritical
)

func TestStatusThresholds(t *testing.T) {
	for _, tc := range []struct {
		name  string
		check structs.ServiceCheck
		in    []string
		want  []string
	}{
		{"first result counts", structs.ServiceCheck{}, []string{P, C, P}, []string{P, C, P}},
		{"success_before_passing", structs.ServiceCheck{SuccessBeforePassing: 2}, []string{P, P, P, C, P}, []string{C, C, P, C, C}},
		{"failures_before_critical", structs.ServiceCheck{InitialStatus: P, FailuresBeforeCritical: 2}, []string{C, C, P, C, C, C}, []string{P, P, P, P, P, C}},
		{"warning at once", structs.ServiceCheck{SuccessBeforePassing: 1}, []string{W, P, P}, []string{W, W, P}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, _ := feed(&tc.check, tc.in...)
			if dump(got) != dump(tc.want) {
				t.Fatalf("statuses %v, want %v", got, tc.want)
			}
		})
	}
}

func TestCheckRestartAfterLimitOutsideGrace(t *testing.T) {
	c := &structs.ServiceCheck{CheckRestart: &structs.CheckRestart{Limit: 2, Grace: 2500 * time.Millisecond}}
	// Results at 1s..8s; the first two fall in the grace period.
	_, restarts := feed(c, C, C, C, C, P, C, C, C)
	if dump(restarts) != dump([]int{3, 7}) {
		t.Fatalf("restarts after results %v, want [3 7] (grace until 2.5s, 2 criticals, a new grace until 6.5s, 2 criticals)", restarts)
	}
	warn := &structs.ServiceCheck{CheckRestart: &structs.CheckRestart{Limit: 1, IgnoreWarnings: true}}
	if _, restarts := feed(warn, W, W, C); dump(restarts) != dump([]int{2}) {
		t.Fatalf("ignore_warnings: restarts %v, want [2]", restarts)
	}
}

func TestHealthySinceFollowsOnUpdate(t *testing.T) {
	// healthySince follows on_update: a warning keeps an ignore_warnings
	// check healthy since it first passed.
	c := &structs.ServiceCheck{OnUpdate: structs.OnUpdateIgnoreWarnings}
	st := newState(c, t0)
	st.record(c, result{status: P, time: t0.Add(time.Second)})
	st.record(c, result{status: W, time: t0.Add(2 * time.Second)})
	if !st.healthySince.Equal(t0.Add(time.Second)) {
		t.Fatalf("healthySince %v, want 1s", st.healthySince)
	}
}

func dump[T any](v []T) string {
	out := ""
	for _, e := range v {
		out += " " + toString(e)
	}
	return out
}

func toString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case int:
		return time.Duration(v).String()
	}
	return "?"
}
