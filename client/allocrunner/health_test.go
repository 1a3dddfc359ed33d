package allocrunner

import (
	"strings"
	"testing"
	"time"

	"github.com/orch-io/orch/structs"
)

func TestAssessHealth(t *testing.T) {
	t0 := time.Unix(1_000_000, 0)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	running := func(since time.Duration) *structs.TaskState {
		return &structs.TaskState{State: structs.TaskStateRunning, StartedAt: at(since).UnixNano()}
	}
	cfg := HealthConfig{MinHealthyTime: 10 * time.Second, HealthyDeadline: time.Minute}
	tasks := []string{"web", "sidecar"}
	for _, tc := range []struct {
		name    string
		states  map[string]*structs.TaskState
		now     time.Duration
		decided bool
		healthy bool
		recheck time.Duration // when undecided
		reason  string
	}{
		{name: "nothing started", now: 5 * time.Second, recheck: time.Minute, reason: `waiting for task "web" to run`},
		{name: "one task running", states: map[string]*structs.TaskState{"web": running(time.Second)},
			now: 20 * time.Second, recheck: time.Minute, reason: `waiting for task "sidecar"`},
		{name: "running, not long enough", states: map[string]*structs.TaskState{"web": running(time.Second), "sidecar": running(2 * time.Second)},
			now: 5 * time.Second, recheck: 12 * time.Second, reason: "every task running: 7s more to go"},
		{name: "running long enough", states: map[string]*structs.TaskState{"web": running(time.Second), "sidecar": running(2 * time.Second)},
			now: 12 * time.Second, decided: true, healthy: true},
		{name: "a restart resets the clock", states: map[string]*structs.TaskState{"web": running(time.Second),
			"sidecar": {State: structs.TaskStateRunning, StartedAt: at(15 * time.Second).UnixNano(), Restarts: 1}},
			now: 20 * time.Second, recheck: 25 * time.Second},
		{name: "a task failed", states: map[string]*structs.TaskState{"web": running(time.Second),
			"sidecar": {State: structs.TaskStateDead, Failed: true}}, now: 3 * time.Second, decided: true, reason: `task "sidecar" failed`},
		{name: "a task exited", states: map[string]*structs.TaskState{"web": {State: structs.TaskStateDead}, "sidecar": running(0)},
			now: 3 * time.Second, decided: true, reason: `task "web" exited`},
		{name: "never started by the deadline", states: map[string]*structs.TaskState{"web": running(0)},
			now: time.Minute, decided: true, reason: `task "sidecar" not running by the healthy deadline (1m0s)`},
		{name: "crash loop: never runs long enough before the deadline", states: map[string]*structs.TaskState{
			"web": running(0), "sidecar": running(55 * time.Second)}, now: time.Minute, decided: true,
			reason: "by the healthy deadline"},
		{name: "the deadline bounds the recheck", states: map[string]*structs.TaskState{
			"web": running(0), "sidecar": running(55 * time.Second)}, now: 56 * time.Second, recheck: time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := AssessHealth(cfg, t0, tasks, tc.states, nil, at(tc.now))
			if v.Decided != tc.decided || v.Healthy != tc.healthy {
				t.Fatalf("verdict %+v, want decided=%v healthy=%v", v, tc.decided, tc.healthy)
			}
			if !tc.decided && !v.RecheckAt.Equal(at(tc.recheck)) {
				t.Errorf("recheck at %s, want %s", v.RecheckAt.Sub(t0), tc.recheck)
			}
			if !strings.Contains(v.Reason, tc.reason) {
				t.Errorf("reason %q, want it to contain %q", v.Reason, tc.reason)
			}
		})
	}
}

func TestHealthTrackerKeepsTheVerdict(t *testing.T) {
	t0 := time.Unix(1_000_000, 0)
	h := NewHealthTracker(HealthConfig{MinHealthyTime: time.Second, HealthyDeadline: time.Minute}, t0, []string{"web"})
	ok := map[string]*structs.TaskState{"web": {State: structs.TaskStateRunning, StartedAt: t0.UnixNano()}}
	if v := h.Observe(ok, nil, t0.Add(2*time.Second)); !v.Decided || !v.Healthy {
		t.Fatalf("verdict %+v, want healthy", v)
	}
	failed := map[string]*structs.TaskState{"web": {State: structs.TaskStateDead, Failed: true}}
	if v := h.Observe(failed, nil, t0.Add(3*time.Second)); !v.Healthy {
		t.Fatal("a decided health changed")
	}
}

// health_check "checks": every counted check must pass, without
// interruption, for min_healthy_time as well as every task run; a check
// that goes critical resets the clock; "ignore" checks do not count and an
// "ignore_warnings" check's warning counts as passing.
func TestAssessHealthWithChecks(t *testing.T) {
	t0 := time.Unix(1_000_000, 0)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	states := map[string]*structs.TaskState{"web": {State: structs.TaskStateRunning, StartedAt: at(time.Second).UnixNano()}}
	check := func(name, onUpdate, status string, since time.Duration) *structs.CheckQueryResult {
		c := &structs.CheckQueryResult{Check: name, Service: "api", OnUpdate: onUpdate, Status: status}
		if since >= 0 {
			c.HealthySince = at(since).UnixNano()
		}
		return c
	}
	const never = -1
	req, warn, ign := structs.OnUpdateRequireHealthy, structs.OnUpdateIgnoreWarnings, structs.OnUpdateIgnore
	P, W, C := structs.CheckStatusPassing, structs.CheckStatusWarning, structs.CheckStatusCritical
	cfg := HealthConfig{MinHealthyTime: 10 * time.Second, HealthyDeadline: time.Minute, Checks: 2}
	for _, tc := range []struct {
		name    string
		checks  []*structs.CheckQueryResult
		now     time.Duration
		decided bool
		healthy bool
		recheck time.Duration
		reason  string
	}{
		{name: "checks not running yet", now: 30 * time.Second, recheck: time.Minute, reason: "2 of 2 checks not running yet"},
		{name: "one of two reports", checks: []*structs.CheckQueryResult{check("http", req, P, 2*time.Second)},
			now: 30 * time.Second, recheck: time.Minute, reason: "1 of 2 checks not running yet"},
		{name: "a critical check holds it back", checks: []*structs.CheckQueryResult{
			check("http", req, C, never), check("tcp", req, P, 2*time.Second)},
			now: 30 * time.Second, recheck: time.Minute, reason: `check "http" of service "api" is critical`},
		{name: "a warning of a require_healthy check holds it back", checks: []*structs.CheckQueryResult{
			check("http", req, W, never), check("tcp", req, P, 2*time.Second)},
			now: 30 * time.Second, recheck: time.Minute, reason: `check "http" of service "api" is warning`},
		{name: "the clock runs from the last check to pass", checks: []*structs.CheckQueryResult{
			check("http", req, P, 20*time.Second), check("tcp", warn, W, 3*time.Second)},
			now: 25 * time.Second, recheck: 30 * time.Second, reason: "every task running and every check passing: 5s more"},
		{name: "healthy after min_healthy_time of checks passing", checks: []*structs.CheckQueryResult{
			check("http", req, P, 20*time.Second), check("tcp", warn, W, 3*time.Second)},
			now: 30 * time.Second, decided: true, healthy: true, reason: "every check passing for 10s"},
		{name: "ignore checks do not count", checks: []*structs.CheckQueryResult{
			check("http", req, P, 2*time.Second), check("tcp", req, P, 2*time.Second), check("debug", ign, C, never)},
			now: 12 * time.Second, decided: true, healthy: true},
		{name: "a check critical at the deadline: unhealthy", checks: []*structs.CheckQueryResult{
			check("http", req, C, never), check("tcp", req, P, 2*time.Second)},
			now: time.Minute, decided: true, reason: `check "http" of service "api" is critical by the healthy deadline (1m0s)`},
		{name: "checks passing too late for the deadline", checks: []*structs.CheckQueryResult{
			check("http", req, P, 55*time.Second), check("tcp", req, P, 2*time.Second)},
			now: time.Minute, decided: true, reason: "not every task running and every check passing for 10s by the healthy deadline"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := AssessHealth(cfg, t0, []string{"web"}, states, tc.checks, at(tc.now))
			if v.Decided != tc.decided || v.Healthy != tc.healthy {
				t.Fatalf("verdict %+v, want decided=%v healthy=%v", v, tc.decided, tc.healthy)
			}
			if !tc.decided && !v.RecheckAt.Equal(at(tc.recheck)) {
				t.Errorf("recheck at %s, want %s", v.RecheckAt.Sub(t0), tc.recheck)
			}
			if !strings.Contains(v.Reason, tc.reason) {
				t.Errorf("reason %q, want it to contain %q", v.Reason, tc.reason)
			}
		})
	}

	// A check that goes critical and passes again restarts the clock: the
	// tracker sees the new healthy-since time.
	h := NewHealthTracker(cfg, t0, []string{"web"})
	passing := []*structs.CheckQueryResult{check("http", req, P, 2*time.Second), check("tcp", req, P, 2*time.Second)}
	if v := h.Observe(states, passing, at(5*time.Second)); v.Decided {
		t.Fatalf("at 5s: %+v", v)
	}
	flapped := []*structs.CheckQueryResult{check("http", req, P, 9*time.Second), check("tcp", req, P, 2*time.Second)}
	if v := h.Observe(states, flapped, at(15*time.Second)); v.Decided || !v.RecheckAt.Equal(at(19*time.Second)) {
		t.Fatalf("after a flap at 9s, at 15s: %+v, want undecided until 19s", v)
	}
	if v := h.Observe(states, flapped, at(19*time.Second)); !v.Healthy {
		t.Fatalf("at 19s: %+v, want healthy", v)
	}
}
