package checks

import (
	"time"

	"github.com/orch-io/orch/structs"
)

// state is what the runner knows of one check between probes. Owned by the
// runner, under its lock.
type state struct {
	status string // passing, warning or critical
	// successes and failures count the consecutive results of each kind
	// since the last of the other.
	successes, failures int
	// unhealthy counts consecutive results that count against
	// check_restart (critical, and warning unless ignore_warnings).
	unhealthy int
	// healthySince is when the status last became healthy for its
	// on_update (passing; or warning, with ignore_warnings); zero while it
	// is not.
	healthySince time.Time
	last         result
	// graceUntil: results before it do not count against check_restart
	// (the task just started or restarted).
	graceUntil time.Time
}

// result is one probe's outcome.
type result struct {
	status     string // passing, warning or critical
	statusCode int
	output     string
	time       time.Time
}

// newState is a check's state before its first result, at now.
func newState(c *structs.ServiceCheck, now time.Time) *state {
	st := &state{status: structs.CheckStatusCritical}
	if c.InitialStatus != "" {
		st.status = c.InitialStatus
	}
	if healthyStatus(c, st.status) {
		st.healthySince = now
	}
	if c.CheckRestart != nil {
		st.graceUntil = now.Add(c.CheckRestart.Grace)
	}
	return st
}

// record folds r into the check's state and reports whether check_restart
// now calls for restarting the task: Limit consecutive unhealthy results
// outside the grace period. After a restart decision the count starts over,
// with a new grace period.
func (st *state) record(c *structs.ServiceCheck, r result) (restart bool) {
	st.last = r
	prev := st.status
	switch r.status {
	case structs.CheckStatusPassing:
		st.successes++
		st.failures = 0
		if st.successes > c.SuccessBeforePassing || prev == structs.CheckStatusPassing {
			st.status = structs.CheckStatusPassing
		}
	case structs.CheckStatusWarning:
		st.successes, st.failures = 0, 0
		st.status = structs.CheckStatusWarning
	default:
		st.failures++
		st.successes = 0
		if st.failures > c.FailuresBeforeCritical || prev == structs.CheckStatusCritical {
			st.status = structs.CheckStatusCritical
		}
	}
	switch ok := healthyStatus(c, st.status); {
	case ok && !healthyStatus(c, prev):
		st.healthySince = r.time
	case !ok:
		st.healthySince = time.Time{}
	}

	cr := c.CheckRestart
	if cr == nil || cr.Limit <= 0 || r.time.Before(st.graceUntil) {
		return false
	}
	bad := st.status == structs.CheckStatusCritical || (st.status == structs.CheckStatusWarning && !cr.IgnoreWarnings)
	if !bad {
		st.unhealthy = 0
		return false
	}
	st.unhealthy++
	if st.unhealthy < cr.Limit {
		return false
	}
	st.unhealthy = 0
	st.graceUntil = r.time.Add(cr.Grace)
	return true
}

// healthyStatus reports whether status counts as healthy for c's on_update.
func healthyStatus(c *structs.ServiceCheck, status string) bool {
	return status == structs.CheckStatusPassing ||
		(status == structs.CheckStatusWarning && c.OnUpdate == structs.OnUpdateIgnoreWarnings)
}
