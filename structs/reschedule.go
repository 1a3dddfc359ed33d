package structs

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Reschedule delay functions, as in Nomad: how the wait before each
// replacement of a failed allocation grows with the replacements before it.
const (
	// DelayConstant waits Delay every time.
	DelayConstant = "constant"
	// DelayExponential doubles the previous wait: Delay, 2·Delay, 4·Delay, ...
	DelayExponential = "exponential"
	// DelayFibonacci adds the two previous waits: Delay, Delay, 2·Delay, 3·Delay, 5·Delay, ...
	DelayFibonacci = "fibonacci"
)

// ReschedulePolicy says when the servers replace a failed allocation of a
// group with a new one (preferably on another node). It is the group's
// `reschedule` block; system and sysbatch groups have none (their allocations
// restart in place).
type ReschedulePolicy struct {
	// Attempts bounds the replacements within Interval, unless Unlimited.
	Attempts int
	Interval time.Duration
	// Delay is the first wait after a failure; DelayFunction says how the
	// following ones grow, up to MaxDelay (0: no cap).
	Delay         time.Duration
	DelayFunction string
	MaxDelay      time.Duration
	// Unlimited replaces forever; Attempts and Interval are ignored.
	Unlimited bool
}

// DefaultReschedulePolicy returns a fresh copy of the policy a group of a job
// of type jobType gets without a reschedule block (Nomad's defaults): service
// jobs are replaced forever, waiting 30s doubled each time up to 1h; batch
// jobs once in 24h after 5s. System and sysbatch jobs do not reschedule: nil.
//
// A parser reading a partial block starts from this value, as for
// DefaultRestartPolicy.
func DefaultReschedulePolicy(jobType JobType) *ReschedulePolicy {
	switch jobType {
	case JobTypeService, "":
		return &ReschedulePolicy{Delay: 30 * time.Second, DelayFunction: DelayExponential, MaxDelay: time.Hour, Unlimited: true}
	case JobTypeBatch:
		return &ReschedulePolicy{Attempts: 1, Interval: 24 * time.Hour, Delay: 5 * time.Second, DelayFunction: DelayConstant}
	}
	return nil
}

// Copy returns a copy of the policy.
func (p *ReschedulePolicy) Copy() *ReschedulePolicy {
	if p == nil {
		return nil
	}
	c := *p
	return &c
}

// String describes the policy for humans: "3 in 1h", "unlimited".
func (p *ReschedulePolicy) String() string {
	switch {
	case p == nil:
		return "none"
	case p.Unlimited:
		return "unlimited"
	}
	return fmt.Sprintf("%d in %s", p.Attempts, shortDuration(p.Interval))
}

// shortDuration writes d without its zero trailing units: "1h", "1h30m", "45s".
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// RescheduleTracker is the history of replacements that led to an
// allocation: one event per failed predecessor, oldest first. A replacement
// inherits its predecessor's tracker plus one event.
type RescheduleTracker struct {
	Events []*RescheduleEvent
}

// RescheduleEvent is one replacement of a failed allocation.
type RescheduleEvent struct {
	// RescheduleTime is when the replacement was placed (unix nanoseconds).
	RescheduleTime int64
	PrevAllocID    string
	PrevNodeID     string
	// Delay is the wait the policy imposed before this replacement.
	Delay time.Duration
}

// maxUnlimitedRescheduleEvents bounds the tracker of an unlimited policy: only
// the latest delays matter to the next one.
const maxUnlimitedRescheduleEvents = 5

// Copy returns a deep copy of the tracker.
func (t *RescheduleTracker) Copy() *RescheduleTracker {
	if t == nil {
		return nil
	}
	c := &RescheduleTracker{Events: make([]*RescheduleEvent, len(t.Events))}
	for i, e := range t.Events {
		ec := *e
		c.Events[i] = &ec
	}
	return c
}

// RescheduleVerdict is what a reschedule policy says of one failed allocation.
type RescheduleVerdict struct {
	// Possible: the policy allows another replacement.
	Possible bool
	// At is when the replacement may be placed: the failure plus Delay.
	// Meaningful only when Possible.
	At    time.Time
	Delay time.Duration
	// Attempted counts the replacements already made within the policy's
	// interval (all of them within the tracker, when unlimited).
	Attempted int
}

// NextReschedule decides whether and when the failed allocation a may be
// replaced under policy p. It is a pure function of its arguments: the time of
// the failure is the latest FinishedAt of a's tasks (a's ModifyTime when none
// finished), and the history comes from a's RescheduleTracker. A nil policy
// never allows a replacement.
func NextReschedule(a *Allocation, p *ReschedulePolicy) RescheduleVerdict {
	if p == nil {
		return RescheduleVerdict{}
	}
	failed := a.LastEventTime()
	var events []*RescheduleEvent
	if a.RescheduleTracker != nil {
		events = a.RescheduleTracker.Events
	}
	v := RescheduleVerdict{}
	if p.Unlimited {
		v.Attempted = len(events)
		v.Possible = true
	} else {
		windowStart := failed.Add(-p.Interval).UnixNano()
		for _, e := range events {
			if e.RescheduleTime > windowStart {
				v.Attempted++
			}
		}
		v.Possible = v.Attempted < p.Attempts
	}
	if !v.Possible {
		return v
	}
	v.Delay = nextRescheduleDelay(p, events)
	v.At = failed.Add(v.Delay)
	return v
}

// nextRescheduleDelay is the wait before the next replacement, given the
// earlier ones (oldest first).
func nextRescheduleDelay(p *ReschedulePolicy, events []*RescheduleEvent) time.Duration {
	d := p.Delay
	n := len(events)
	switch {
	case n == 0:
	case p.DelayFunction == DelayExponential:
		d = events[n-1].Delay * 2
	case p.DelayFunction == DelayFibonacci && n == 1:
		d = events[0].Delay
	case p.DelayFunction == DelayFibonacci:
		d = events[n-1].Delay + events[n-2].Delay
	}
	if d < p.Delay { // a tracker from before a policy change
		d = p.Delay
	}
	if p.MaxDelay > 0 && d > p.MaxDelay {
		d = p.MaxDelay
	}
	return d
}

// NextTracker returns the tracker of the replacement of a, placed at now
// after waiting delay: a's events, plus one for a. For an unlimited policy it
// keeps only the latest events; otherwise those within the policy's interval.
func NextTracker(a *Allocation, p *ReschedulePolicy, now time.Time, delay time.Duration) *RescheduleTracker {
	var keep []*RescheduleEvent
	if a.RescheduleTracker != nil {
		for _, e := range a.RescheduleTracker.Events {
			if p != nil && !p.Unlimited && e.RescheduleTime <= now.Add(-p.Interval).UnixNano() {
				continue
			}
			ec := *e
			keep = append(keep, &ec)
		}
	}
	keep = append(keep, &RescheduleEvent{RescheduleTime: now.UnixNano(), PrevAllocID: a.ID, PrevNodeID: a.NodeID, Delay: delay})
	if p != nil && p.Unlimited && len(keep) > maxUnlimitedRescheduleEvents {
		keep = keep[len(keep)-maxUnlimitedRescheduleEvents:]
	}
	return &RescheduleTracker{Events: keep}
}

// LastEventTime is when the allocation last changed on its client: the
// latest FinishedAt of its tasks, or ModifyTime when no task finished.
func (a *Allocation) LastEventTime() time.Time {
	var last int64
	for _, ts := range a.TaskStates {
		if ts != nil && ts.FinishedAt > last {
			last = ts.FinishedAt
		}
	}
	if last == 0 {
		last = a.ModifyTime
	}
	return time.Unix(0, last)
}

// reschedulePolicy checks a group's policy; jobType decides whether it may
// have one at all.
func (v *validator) reschedulePolicy(jobType JobType, p *ReschedulePolicy) {
	if jobType == JobTypeSystem || jobType == JobTypeSysBatch {
		if p != nil {
			v.add("reschedule", "", fmt.Sprintf("must not be set in a %s job: its allocations restart in place and are never rescheduled", jobType))
		}
		return
	}
	if p == nil {
		if jobType == JobTypeService || jobType == JobTypeBatch {
			v.add("reschedule", "", "must be set")
		}
		return
	}
	switch p.DelayFunction {
	case DelayConstant, DelayExponential, DelayFibonacci:
	default:
		v.add("reschedule.delay_function", strconv.Quote(p.DelayFunction),
			fmt.Sprintf("must be %q, %q or %q", DelayConstant, DelayExponential, DelayFibonacci))
	}
	if p.Delay < 0 {
		v.add("reschedule.delay", quoteDuration(p.Delay), "must be >= 0")
	}
	if p.Delay == 0 && p.DelayFunction != DelayConstant && p.DelayFunction != "" {
		v.add("reschedule.delay", quoteDuration(p.Delay), fmt.Sprintf("must be > 0 with delay_function %q (it would never grow)", p.DelayFunction))
	}
	if p.MaxDelay < 0 {
		v.add("reschedule.max_delay", quoteDuration(p.MaxDelay), "must be >= 0 (0: no cap)")
	} else if p.MaxDelay > 0 && p.MaxDelay < p.Delay {
		v.add("reschedule.max_delay", quoteDuration(p.MaxDelay), fmt.Sprintf("must be >= delay (%s)", p.Delay))
	}
	if p.Unlimited {
		return
	}
	if p.Attempts < 0 {
		v.add("reschedule.attempts", strconv.Itoa(p.Attempts), "must be >= 0")
	}
	if p.Interval < 0 || (p.Attempts > 0 && p.Interval == 0) {
		v.add("reschedule.interval", quoteDuration(p.Interval), "must be > 0 when attempts > 0")
	}
}
