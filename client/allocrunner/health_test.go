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
			now: 5 * time.Second, recheck: 12 * time.Second, reason: "tasks must run 7s more"},
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
			v := AssessHealth(cfg, t0, tasks, tc.states, at(tc.now))
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
	if v := h.Observe(ok, t0.Add(2*time.Second)); !v.Decided || !v.Healthy {
		t.Fatalf("verdict %+v, want healthy", v)
	}
	failed := map[string]*structs.TaskState{"web": {State: structs.TaskStateDead, Failed: true}}
	if v := h.Observe(failed, t0.Add(3*time.Second)); !v.Healthy {
		t.Fatal("a decided health changed")
	}
}
