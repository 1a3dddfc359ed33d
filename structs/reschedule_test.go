package structs

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// failedAt builds an allocation whose only task finished at t, replaced
// before at the given times with the given delays (oldest first).
func failedAt(t time.Time, history ...RescheduleEvent) *Allocation {
	a := &Allocation{ID: "a", NodeID: "n1", ClientStatus: AllocClientStatusFailed,
		TaskStates: map[string]*TaskState{"t": {State: TaskStateDead, Failed: true, FinishedAt: t.UnixNano()}}}
	if len(history) > 0 {
		a.RescheduleTracker = &RescheduleTracker{}
		for _, e := range history {
			a.RescheduleTracker.Events = append(a.RescheduleTracker.Events, &e)
		}
	}
	return a
}

func ev(at time.Time, delay time.Duration) RescheduleEvent {
	return RescheduleEvent{RescheduleTime: at.UnixNano(), Delay: delay}
}

func TestNextRescheduleScenarios(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	constant := &ReschedulePolicy{Attempts: 3, Interval: time.Hour, Delay: 10 * time.Second, DelayFunction: DelayConstant}
	exp := &ReschedulePolicy{Delay: 5 * time.Second, DelayFunction: DelayExponential, MaxDelay: time.Minute, Unlimited: true}
	fib := &ReschedulePolicy{Delay: 5 * time.Second, DelayFunction: DelayFibonacci, MaxDelay: 30 * time.Second, Unlimited: true}
	cases := []struct {
		name      string
		policy    *ReschedulePolicy
		alloc     *Allocation
		possible  bool
		delay     time.Duration
		attempted int
	}{
		{"no policy never reschedules", nil, failedAt(t0), false, 0, 0},
		{"constant, first failure", constant, failedAt(t0), true, 10 * time.Second, 0},
		{"constant, two earlier attempts in the interval", constant,
			failedAt(t0, ev(t0.Add(-30*time.Minute), 10*time.Second), ev(t0.Add(-10*time.Minute), 10*time.Second)),
			true, 10 * time.Second, 2},
		{"constant, attempts exhausted within the interval", constant,
			failedAt(t0, ev(t0.Add(-50*time.Minute), 0), ev(t0.Add(-30*time.Minute), 0), ev(t0.Add(-time.Minute), 0)),
			false, 0, 3},
		{"constant, attempts older than the interval do not count", constant,
			failedAt(t0, ev(t0.Add(-3*time.Hour), 0), ev(t0.Add(-2*time.Hour), 0), ev(t0.Add(-time.Minute), 0)),
			true, 10 * time.Second, 1},
		{"zero attempts never reschedules", &ReschedulePolicy{Interval: time.Hour, DelayFunction: DelayConstant},
			failedAt(t0), false, 0, 0},
		{"exponential, first", exp, failedAt(t0), true, 5 * time.Second, 0},
		{"exponential doubles the last delay", exp,
			failedAt(t0, ev(t0.Add(-time.Minute), 5*time.Second), ev(t0.Add(-30*time.Second), 10*time.Second)),
			true, 20 * time.Second, 2},
		{"exponential capped at max_delay", exp,
			failedAt(t0, ev(t0.Add(-time.Minute), 40*time.Second)), true, time.Minute, 1},
		{"fibonacci, second repeats the first", fib, failedAt(t0, ev(t0.Add(-time.Minute), 5*time.Second)),
			true, 5 * time.Second, 1},
		{"fibonacci adds the last two", fib,
			failedAt(t0, ev(t0.Add(-time.Minute), 5*time.Second), ev(t0.Add(-time.Minute), 5*time.Second),
				ev(t0.Add(-time.Minute), 10*time.Second)),
			true, 15 * time.Second, 3},
		{"fibonacci capped at max_delay", fib,
			failedAt(t0, ev(t0.Add(-time.Minute), 20*time.Second), ev(t0.Add(-time.Minute), 25*time.Second)),
			true, 30 * time.Second, 2},
		{"unlimited never runs out", exp,
			failedAt(t0, ev(t0, time.Minute), ev(t0, time.Minute), ev(t0, time.Minute), ev(t0, time.Minute), ev(t0, time.Minute)),
			true, time.Minute, 5},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := NextReschedule(c.alloc, c.policy)
			if v.Possible != c.possible || v.Delay != c.delay || v.Attempted != c.attempted {
				t.Fatalf("got possible=%v delay=%s attempted=%d, want possible=%v delay=%s attempted=%d",
					v.Possible, v.Delay, v.Attempted, c.possible, c.delay, c.attempted)
			}
			if v.Possible && !v.At.Equal(t0.Add(c.delay)) {
				t.Fatalf("At = %s, want the failure plus the delay, %s", v.At, t0.Add(c.delay))
			}
		})
	}
}

func TestNextRescheduleFailureTimeFallsBackToModifyTime(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	a := &Allocation{ModifyTime: t0.UnixNano()}
	v := NextReschedule(a, &ReschedulePolicy{Attempts: 1, Interval: time.Hour, Delay: time.Second, DelayFunction: DelayConstant})
	if !v.At.Equal(t0.Add(time.Second)) {
		t.Fatalf("At = %s, want ModifyTime + delay", v.At)
	}
}

func TestNextTrackerKeepsTheWindow(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	limited := &ReschedulePolicy{Attempts: 3, Interval: time.Hour, DelayFunction: DelayConstant}
	a := failedAt(t0, ev(t0.Add(-2*time.Hour), 0), ev(t0.Add(-time.Minute), 0))
	got := NextTracker(a, limited, t0, 7*time.Second)
	if len(got.Events) != 2 {
		t.Fatalf("tracker has %d events, want 2 (the one older than the interval dropped)", len(got.Events))
	}
	last := got.Events[1]
	if last.PrevAllocID != "a" || last.PrevNodeID != "n1" || last.Delay != 7*time.Second || last.RescheduleTime != t0.UnixNano() {
		t.Fatalf("new event = %+v", last)
	}
	if a.RescheduleTracker.Events[1] == got.Events[0] {
		t.Fatal("NextTracker shares events with its input")
	}

	unlimited := &ReschedulePolicy{Delay: time.Second, DelayFunction: DelayExponential, Unlimited: true}
	for range 10 {
		a.RescheduleTracker = NextTracker(a, unlimited, t0, time.Second)
	}
	if n := len(a.RescheduleTracker.Events); n != maxUnlimitedRescheduleEvents {
		t.Fatalf("unlimited tracker grew to %d events, want %d", n, maxUnlimitedRescheduleEvents)
	}
}

func TestValidateReschedulePolicy(t *testing.T) {
	job := func(typ JobType, p *ReschedulePolicy) *Job {
		j := &Job{ID: "j", Type: typ, TaskGroups: []*TaskGroup{{Name: "g", Count: 1, ReschedulePolicy: p,
			Tasks: []*Task{{Name: "t", Driver: "raw_exec"}}}}}
		j.Canonicalize()
		return j
	}
	if err := job(JobTypeService, nil).Validate(); err != nil {
		t.Fatalf("default service policy: %v", err)
	}
	if err := job(JobTypeBatch, nil).Validate(); err != nil {
		t.Fatalf("default batch policy: %v", err)
	}
	if err := job(JobTypeSystem, nil).Validate(); err != nil {
		t.Fatalf("system job without policy: %v", err)
	}
	cases := []struct {
		typ  JobType
		p    *ReschedulePolicy
		want []string
	}{
		{JobTypeSystem, &ReschedulePolicy{DelayFunction: DelayConstant},
			[]string{`group "g": reschedule: must not be set in a system job`}},
		{JobTypeSysBatch, &ReschedulePolicy{DelayFunction: DelayConstant},
			[]string{`group "g": reschedule: must not be set in a sysbatch job`}},
		{JobTypeService, &ReschedulePolicy{Attempts: -1, Interval: -time.Second, Delay: -time.Second, DelayFunction: "linear", MaxDelay: -time.Second},
			[]string{
				`reschedule.delay_function = "linear": must be "constant", "exponential" or "fibonacci"`,
				`reschedule.delay = "-1s": must be >= 0`,
				`reschedule.max_delay = "-1s": must be >= 0`,
				`reschedule.attempts = -1: must be >= 0`,
				`reschedule.interval = "-1s": must be > 0 when attempts > 0`,
			}},
		{JobTypeService, &ReschedulePolicy{Delay: time.Minute, DelayFunction: DelayExponential, MaxDelay: time.Second, Unlimited: true},
			[]string{`reschedule.max_delay = "1s": must be >= delay (1m0s)`}},
		{JobTypeService, &ReschedulePolicy{DelayFunction: DelayFibonacci, Unlimited: true},
			[]string{`reschedule.delay = "0s": must be > 0 with delay_function "fibonacci"`}},
		{JobTypeBatch, &ReschedulePolicy{Attempts: 2, DelayFunction: DelayConstant},
			[]string{`reschedule.interval = "0s": must be > 0 when attempts > 0`}},
	}
	for _, c := range cases {
		err := job(c.typ, c.p).Validate()
		if err == nil {
			t.Fatalf("%s %+v: valid, want %q", c.typ, c.p, c.want)
		}
		var ve *ValidationError
		if !errors.As(err, &ve) {
			t.Fatalf("error %v is not a ValidationError", err)
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s %+v: error\n%v\nlacks %q", c.typ, c.p, err, w)
			}
		}
	}
}
