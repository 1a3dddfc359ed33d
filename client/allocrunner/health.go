package allocrunner

import (
	"fmt"
	"slices"
	"time"

	"github.com/orch-io/orch/structs"
)

// Allocation health, for deployments and migrations: an allocation is
// healthy once every one of its tasks has been running, without a restart,
// and (health_check "checks") every check that counts has been passing,
// without interruption, for MinHealthyTime, reached within HealthyDeadline
// of the allocation's start. The checks that count are those of the
// group's and its tasks' services whose on_update is "require_healthy" or
// "ignore_warnings" (a warning counts as passing); "ignore" checks do not.
// A task that fails, or exits for good, makes it unhealthy; so does the
// deadline passing first. A restart resets the clock (the task's start time
// moves), and so does a check that stops passing (its healthy-since time
// moves). Once decided, the verdict does not change.
//
// AssessHealth is the decision, a pure function of the task states, the
// check results and the time; HealthTracker keeps the verdict once decided.
// The alloc runner drives one per allocation of a deployment ("checks" and
// "task_states"; "manual" leaves the health to the operator) and per
// allocation of a group with a migrate block.

// HealthConfig is what health is judged against: the group's update block's
// (or, for migrations, migrate block's) min_healthy_time and
// healthy_deadline, and the checks to wait for.
type HealthConfig struct {
	MinHealthyTime  time.Duration
	HealthyDeadline time.Duration
	// Checks is how many checks count (health_check "checks": those of the
	// group's and its tasks' services with on_update other than "ignore");
	// 0 judges by the task states alone ("task_states", or "checks" with no
	// checks, as in Nomad). A check counts only once the client runs it
	// (its service registered), so the tracker waits until this many report.
	Checks int
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
	// task state nor check changes first (the zero time: only a change can).
	RecheckAt time.Time
}

// AssessHealth judges an allocation whose tasks (by name, all of them) have
// the given states and whose checks the given latest results (the client's
// check runner's, any order; ignored unless cfg.Checks > 0), at now, for an
// allocation started at start. A task with no state yet is pending.
func AssessHealth(cfg HealthConfig, start time.Time, tasks []string, states map[string]*structs.TaskState,
	checks []*structs.CheckQueryResult, now time.Time) HealthVerdict {
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
	if !allRunning {
		if !now.Before(deadline) {
			return HealthVerdict{Decided: true,
				Reason: fmt.Sprintf("task %q not running by the healthy deadline (%s)", waiting[0], cfg.HealthyDeadline)}
		}
		return HealthVerdict{Reason: fmt.Sprintf("waiting for task %q to run", waiting[0]), RecheckAt: deadline}
	}
	what := "every task running"
	if cfg.Checks > 0 {
		passingSince, notPassing := checksPassingSince(cfg.Checks, checks)
		if notPassing != "" {
			if !now.Before(deadline) {
				return HealthVerdict{Decided: true,
					Reason: fmt.Sprintf("%s by the healthy deadline (%s)", notPassing, cfg.HealthyDeadline)}
			}
			return HealthVerdict{Reason: "waiting: " + notPassing, RecheckAt: deadline}
		}
		if passingSince.After(runningSince) {
			runningSince = passingSince
		}
		what = "every task running and every check passing"
	}
	healthyAt := runningSince.Add(cfg.MinHealthyTime)
	if !healthyAt.After(now) && !healthyAt.After(deadline) {
		return HealthVerdict{Decided: true, Healthy: true, Reason: fmt.Sprintf("%s for %s", what, cfg.MinHealthyTime)}
	}
	if healthyAt.After(deadline) && !now.Before(deadline) {
		return HealthVerdict{Decided: true,
			Reason: fmt.Sprintf("not %s for %s by the healthy deadline (%s)", what, cfg.MinHealthyTime, cfg.HealthyDeadline)}
	}
	return HealthVerdict{Reason: fmt.Sprintf("%s: %s more to go", what, healthyAt.Sub(now).Round(time.Millisecond)),
		RecheckAt: earliest(healthyAt, deadline)}
}

// checksPassingSince folds the results of the checks that count: the time
// since which all of them pass, or, when they do not (or fewer than want
// report), what is missing ("check \"db\" is critical").
func checksPassingSince(want int, checks []*structs.CheckQueryResult) (time.Time, string) {
	var since time.Time
	counted := 0
	var failing []string
	for _, c := range checks {
		if c == nil || c.OnUpdate == structs.OnUpdateIgnore {
			continue
		}
		counted++
		if c.HealthySince == 0 {
			failing = append(failing, fmt.Sprintf("check %q of service %q is %s", c.Check, c.Service, c.Status))
			continue
		}
		if t := time.Unix(0, c.HealthySince); t.After(since) {
			since = t
		}
	}
	if len(failing) > 0 {
		slices.Sort(failing)
		return since, failing[0]
	}
	if counted < want {
		return since, fmt.Sprintf("%d of %d checks not running yet", want-counted, want)
	}
	return since, ""
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

// Observe assesses the task states and check results at now, unless the
// health is decided already, and returns the verdict.
func (h *HealthTracker) Observe(states map[string]*structs.TaskState, checks []*structs.CheckQueryResult, now time.Time) HealthVerdict {
	if !h.verdict.Decided {
		h.verdict = AssessHealth(h.cfg, h.start, h.tasks, states, checks, now)
	}
	return h.verdict
}
