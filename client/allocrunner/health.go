package allocrunner

import (
	"fmt"
	"slices"
	"time"

	"github.com/orch-io/orch/structs"
)

// Allocation health, for deployments (and, later, migrations): an allocation
// is healthy once every one of its tasks has been running, without a restart,
// for MinHealthyTime, reached within HealthyDeadline of the allocation's
// start. A task that fails, or exits for good, makes it unhealthy; so does
// the deadline passing first. A restart resets the clock (the task's start
// time moves). Once decided, the verdict does not change.
//
// AssessHealth is the decision, a pure function of the task states and the
// time; HealthTracker keeps the verdict once decided. The alloc runner
// drives one per allocation of a deployment (health_check "checks" with no
// checks, and "task_states"); "manual" leaves the health to the operator.

// HealthConfig is what health is judged against: the group's update block's
// (or, for migrations, migrate block's) min_healthy_time and
// healthy_deadline.
type HealthConfig struct {
	MinHealthyTime  time.Duration
	HealthyDeadline time.Duration
}

// HealthVerdict is the outcome of one assessment.
type HealthVerdict struct {
	// Decided is set once the health is known; Healthy then says which.
	Decided bool
	Healthy bool
	// Reason says why, for humans: "task \"web\" failed", ...; for an
	// undecided verdict, what it waits for.
	Reason string
	// RecheckAt, for an undecided verdict, is when the verdict changes if no
	// task state changes first (the zero time: only a task change can).
	RecheckAt time.Time
}

// AssessHealth judges an allocation whose tasks (by name, all of them) have
// the given states, at now, for an allocation started at start. A task with
// no state yet is pending.
func AssessHealth(cfg HealthConfig, start time.Time, tasks []string, states map[string]*structs.TaskState, now time.Time) HealthVerdict {
	deadline := start.Add(cfg.HealthyDeadline)
	var runningSince time.Time
	allRunning := true
	var waiting []string
	for _, name := range tasks {
		st := states[name]
		switch {
		case st == nil || st.State == structs.TaskStatePending:
			allRunning = false
			waiting = append(waiting, name)
		case st.State == structs.TaskStateDead && st.Failed:
			return HealthVerdict{Decided: true, Reason: fmt.Sprintf("task %q failed", name)}
		case st.State == structs.TaskStateDead:
			return HealthVerdict{Decided: true, Reason: fmt.Sprintf("task %q exited", name)}
		default:
			if since := time.Unix(0, st.StartedAt); since.After(runningSince) {
				runningSince = since
			}
		}
	}
	if allRunning {
		healthyAt := runningSince.Add(cfg.MinHealthyTime)
		if !healthyAt.After(now) && !healthyAt.After(deadline) {
			return HealthVerdict{Decided: true, Healthy: true,
				Reason: fmt.Sprintf("every task running for %s", cfg.MinHealthyTime)}
		}
		if healthyAt.After(deadline) && !now.Before(deadline) {
			return HealthVerdict{Decided: true,
				Reason: fmt.Sprintf("tasks not running for %s by the healthy deadline (%s)", cfg.MinHealthyTime, cfg.HealthyDeadline)}
		}
		return HealthVerdict{Reason: fmt.Sprintf("tasks must run %s more", healthyAt.Sub(now).Round(time.Millisecond)),
			RecheckAt: earliest(healthyAt, deadline)}
	}
	if !now.Before(deadline) {
		return HealthVerdict{Decided: true,
			Reason: fmt.Sprintf("task %q not running by the healthy deadline (%s)", waiting[0], cfg.HealthyDeadline)}
	}
	return HealthVerdict{Reason: fmt.Sprintf("waiting for task %q to run", waiting[0]), RecheckAt: deadline}
}

func earliest(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// HealthTracker keeps an allocation's health verdict once decided. Not safe
// for concurrent use: its owner (the alloc runner's health goroutine) calls
// it.
type HealthTracker struct {
	cfg     HealthConfig
	start   time.Time
	tasks   []string
	verdict HealthVerdict
}

// NewHealthTracker tracks an allocation of tasks started at start.
func NewHealthTracker(cfg HealthConfig, start time.Time, tasks []string) *HealthTracker {
	return &HealthTracker{cfg: cfg, start: start, tasks: slices.Clone(tasks)}
}

// Observe assesses the task states at now, unless the health is decided
// already, and returns the verdict.
func (h *HealthTracker) Observe(states map[string]*structs.TaskState, now time.Time) HealthVerdict {
	if !h.verdict.Decided {
		h.verdict = AssessHealth(h.cfg, h.start, h.tasks, states, now)
	}
	return h.verdict
}
