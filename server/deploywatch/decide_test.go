package deploywatch

import (
	"fmt"
	"testing"
	"time"

	"github.com/orch-io/orch/structs"
)

// world is a deployment scenario on an injected clock: a job at version 1
// replacing version 0, its allocations, and the deployment.
type world struct {
	t      *testing.T
	now    time.Time
	job    *structs.Job
	old    *structs.Job
	d      *structs.Deployment
	allocs []*structs.Allocation
	n      int
}

func newWorld(t *testing.T, count int, update *structs.UpdateStrategy) *world {
	w := &world{t: t, now: time.Unix(1_000_000, 0)}
	w.old = &structs.Job{ID: "web", CreateIndex: 1, Version: 0, Stable: true,
		TaskGroups: []*structs.TaskGroup{{Name: "web", Count: count, Update: update}}}
	w.job = w.old.Copy()
	w.job.Version, w.job.Stable = 1, false
	w.d = structs.NewDeployment("d1", w.job, w.now)
	w.d.TaskGroups["web"].DesiredCanaries = update.Canary
	for range count {
		w.place(w.old, "", false)
	}
	return w
}

func (w *world) place(job *structs.Job, deployment string, canary bool) *structs.Allocation {
	w.n++
	a := &structs.Allocation{ID: fmt.Sprintf("a%d", w.n), JobID: "web", Job: job, TaskGroup: "web",
		DesiredStatus: structs.AllocDesiredStatusRun, ClientStatus: structs.AllocClientStatusRunning, DeploymentID: deployment}
	if canary {
		a.DeploymentStatus = &structs.AllocDeploymentStatus{Canary: true}
	}
	w.allocs = append(w.allocs, a)
	return a
}

// replace stops one allocation of the old version and places its successor.
func (w *world) replace() *structs.Allocation {
	for _, a := range w.allocs {
		if a.Job == w.old && !a.TerminalStatus() {
			a.DesiredStatus = structs.AllocDesiredStatusStop
			return w.place(w.job, w.d.ID, false)
		}
	}
	w.t.Fatal("nothing left to replace")
	return nil
}

func (w *world) health(a *structs.Allocation, healthy bool) {
	if a.DeploymentStatus == nil {
		a.DeploymentStatus = &structs.AllocDeploymentStatus{}
	}
	a.DeploymentStatus.Healthy, a.DeploymentStatus.Timestamp = &healthy, w.now
	if healthy && w.d.TaskGroups["web"].ProgressDeadline > 0 {
		w.d.TaskGroups["web"].RequireProgressBy = w.now.Add(w.d.TaskGroups["web"].ProgressDeadline)
	}
}

func (w *world) decide(evaluated int) Decision {
	return Decide(Input{Deployment: w.d, Job: w.job, Allocs: w.allocs, LatestStable: w.old, EvaluatedProgress: evaluated, Now: w.now})
}

func update(maxParallel, canary int) *structs.UpdateStrategy {
	u := structs.DefaultUpdateStrategy()
	u.MaxParallel, u.Canary = maxParallel, canary
	return u
}

// TestRollingToSuccess: count 10, max_parallel 3, each batch healthy in turn:
// the watcher asks for an evaluation after each healthy allocation, and ends
// the deployment successful (the version stable) once all 10 are healthy.
func TestRollingToSuccess(t *testing.T) {
	w := newWorld(t, 10, update(3, 0))
	evaluated := 0
	for batch := 0; batch < 4; batch++ {
		var placed []*structs.Allocation
		for i := 0; i < 3 && batch*3+i < 10; i++ {
			placed = append(placed, w.replace())
		}
		if dec := w.decide(evaluated); dec.End != nil || dec.Evaluate {
			t.Fatalf("batch %d placed, none healthy: %+v", batch, dec)
		}
		w.now = w.now.Add(15 * time.Second)
		for _, a := range placed {
			w.health(a, true)
		}
		dec := w.decide(evaluated)
		if batch < 3 {
			if dec.End != nil || !dec.Evaluate {
				t.Fatalf("batch %d healthy: %+v, want an evaluation for the next batch", batch, dec)
			}
			evaluated = dec.Progress
			continue
		}
		if dec.End == nil || dec.End.Status != structs.DeploymentStatusSuccessful || !dec.MarkStable {
			t.Fatalf("all healthy: %+v, want successful and stable", dec)
		}
	}
}

// TestCanaryPromotion: canaries wait for promotion and say so; auto_promote
// promotes once all are healthy.
func TestCanaryPromotion(t *testing.T) {
	for _, auto := range []bool{false, true} {
		u := update(1, 2)
		u.AutoPromote = auto
		w := newWorld(t, 4, u)
		c1, c2 := w.place(w.job, "d1", true), w.place(w.job, "d1", true)
		w.health(c1, true)
		if dec := w.decide(0); len(dec.Promote) != 0 {
			t.Fatalf("auto=%v: promoted with one canary of two healthy", auto)
		}
		w.health(c2, true)
		dec := w.decide(1)
		if auto != (len(dec.Promote) == 1) {
			t.Fatalf("auto=%v: promote %v", auto, dec.Promote)
		}
		msg := Waiting(w.d, w.job, w.allocs, nil, w.now)["web"]
		want := `waiting for promotion: 2/2 canaries healthy (run "orch deployment promote d1"); progress deadline in 10m0s`
		if auto {
			want = "promoting automatically: 2/2 canaries healthy"
		}
		if msg != want {
			t.Errorf("auto=%v: waiting %q, want %q", auto, msg, want)
		}
		// Nobody promotes: the progress deadline ends the wait.
		w.now = w.now.Add(time.Hour)
		if dec := w.decide(2); !auto && (dec.End == nil || dec.End.Status != structs.DeploymentStatusFailed) {
			t.Fatalf("a deployment awaiting promotion past its progress deadline: %+v", dec)
		}
	}
}

// TestUnhealthyCanaryAutoReverts: an unhealthy canary fails the deployment,
// which names the stable version to revert to.
func TestUnhealthyCanaryAutoReverts(t *testing.T) {
	u := update(1, 1)
	u.AutoRevert = true
	w := newWorld(t, 3, u)
	w.health(w.place(w.job, "d1", true), false)
	dec := w.decide(0)
	if dec.End == nil || dec.End.Status != structs.DeploymentStatusFailed || dec.RevertTo != w.old {
		t.Fatalf("%+v, want failed with a revert to version 0", dec)
	}
	if want := "Failed due to unhealthy allocations - rolling back to job version 0"; dec.End.StatusDescription != want {
		t.Errorf("description %q, want %q", dec.End.StatusDescription, want)
	}
}

// TestProgressDeadline: a canary that cannot be placed fails the deployment
// when the progress deadline passes, not before; the watcher asks to be woken
// then.
func TestProgressDeadline(t *testing.T) {
	w := newWorld(t, 3, update(1, 1))
	dec := w.decide(0)
	if dec.End != nil || !dec.NextCheck.Equal(w.now.Add(10*time.Minute)) {
		t.Fatalf("%+v, want a check at the progress deadline", dec)
	}
	if msg := Waiting(w.d, w.job, w.allocs, nil, w.now)["web"]; msg != "blocked: 1 of 1 canaries not placed yet; progress deadline in 10m0s" {
		t.Errorf("waiting %q", msg)
	}
	failures := map[string]string{"web": "memory exhausted on 3 nodes"}
	if msg := Waiting(w.d, w.job, w.allocs, failures, w.now)["web"]; msg != "blocked: 1 canary cannot be placed: memory exhausted on 3 nodes; progress deadline in 10m0s" {
		t.Errorf("waiting %q", msg)
	}
	w.now = dec.NextCheck
	if dec := w.decide(0); dec.End == nil || dec.End.StatusDescription != structs.DeploymentDescProgressDeadline {
		t.Fatalf("%+v, want failed on the progress deadline", dec)
	}
}

// TestSupersededAndStopped: a newer version or a stopped job cancels.
func TestSupersededAndStopped(t *testing.T) {
	w := newWorld(t, 2, update(1, 0))
	newer := w.job.Copy()
	newer.Version = 2
	w.job = newer
	if dec := w.decide(0); dec.End == nil || dec.End.StatusDescription != structs.DeploymentDescNewerJob {
		t.Fatalf("%+v", dec)
	}
	w.job = nil
	if dec := w.decide(0); dec.End == nil || dec.End.StatusDescription != structs.DeploymentDescStoppedJob {
		t.Fatalf("%+v", dec)
	}
}

// TestEveryDeploymentEnds: whatever the clients report (or do not), and
// whatever nodes are lost, once events stop a running deployment ends by
// its progress deadline at the latest.
func TestEveryDeploymentEnds(t *testing.T) {
	for seed := range 200 {
		w := newWorld(t, 1+seed%5, update(1+seed%3, seed%2))
		evaluated := 0
		for step := 0; step < seed%25; step++ { // events stop at a different point for each seed
			dec := w.decide(evaluated)
			if dec.End != nil {
				break
			}
			if dec.Evaluate {
				evaluated = dec.Progress
			}
			if len(dec.Promote) > 0 {
				w.d.TaskGroups["web"].Promoted = true
			}
			switch (seed + step) % 5 {
			case 0: // a placement happens
				if w.d.TaskGroups["web"].DesiredCanaries > 0 && !w.d.TaskGroups["web"].Promoted {
					w.place(w.job, "d1", true)
				} else if step%3 != 0 {
					w.replace()
				}
			case 1: // a client reports
				for _, a := range w.allocs {
					if a.DeploymentID == "d1" && a.DeploymentStatus == nil || (a.DeploymentStatus != nil && a.DeploymentStatus.Healthy == nil) {
						w.health(a, seed%11 != 0 || step%2 == 0)
						break
					}
				}
			case 2: // a node is lost: one of its allocations is lost and replaced
				w.loseOne(step)
			default: // time passes, nothing happens
				if !dec.NextCheck.IsZero() {
					w.now = dec.NextCheck
				} else {
					w.now = w.now.Add(time.Minute)
				}
			}
		}
		// Events stop: the clock runs to the next check, repeatedly.
		for i := 0; i < 5; i++ {
			dec := w.decide(evaluated)
			if dec.End != nil {
				w.d.Status = dec.End.Status
				break
			}
			if len(dec.Promote) > 0 {
				w.d.TaskGroups["web"].Promoted = true
				continue
			}
			if dec.NextCheck.IsZero() {
				t.Fatalf("seed %d: deployment %+v waits forever: %v", seed, w.d.TaskGroups["web"], Waiting(w.d, w.job, w.allocs, nil, w.now))
			}
			w.now = dec.NextCheck
		}
		if w.d.Active() {
			t.Fatalf("seed %d: deployment still %s", seed, w.d.Status)
		}
	}
}

// TestWaitingSaysHowLong: the allocations of a rolling deployment whose
// health is not known yet are described from their task states: how long
// the running ones must stay healthy still (the longest wait, rounded up),
// how many are starting or restarting, which ran long enough and wait for
// the client's verdict; in "manual" mode, that an operator sets it and how.
func TestWaitingSaysHowLong(t *testing.T) {
	w := newWorld(t, 4, update(3, 0))
	u := w.job.TaskGroups[0].Update
	running := func(a *structs.Allocation, since time.Duration) {
		a.TaskStates = map[string]*structs.TaskState{"t": {State: structs.TaskStateRunning, StartedAt: w.now.Add(-since).UnixNano()}}
	}
	a1, a2, a3 := w.replace(), w.replace(), w.replace()
	running(a1, 2*time.Second)
	running(a2, 1500*time.Millisecond)
	a3.ClientStatus = structs.AllocClientStatusPending
	want := "waiting: 2 allocations must stay healthy for 9s more (min_healthy_time 10s); 1 allocation starting; progress deadline in 10m0s"
	if msg := Waiting(w.d, w.job, w.allocs, nil, w.now)["web"]; msg != want {
		t.Errorf("waiting %q\n want %q", msg, want)
	}
	running(a3, 0)
	a3.ClientStatus = structs.AllocClientStatusRunning
	w.job.TaskGroups[0].Services = []*structs.Service{{Name: "web", Checks: []*structs.ServiceCheck{{Name: "alive", Type: "tcp"}}}}
	w.now = w.now.Add(9 * time.Second)
	want = "waiting: 1 allocation must stay healthy for 1s more (min_healthy_time 10s); " +
		`2 allocations ran for min_healthy_time, waiting for their checks to pass (health_check "checks") or the client's report; progress deadline in 9m51s`
	if msg := Waiting(w.d, w.job, w.allocs, nil, w.now)["web"]; msg != want {
		t.Errorf("waiting %q\n want %q", msg, want)
	}
	w.job.TaskGroups[0].Services = nil
	want = "waiting: 1 allocation must stay healthy for 1s more (min_healthy_time 10s); " +
		"2 allocations ran for min_healthy_time, waiting for the client's health report; progress deadline in 9m51s"
	if msg := Waiting(w.d, w.job, w.allocs, nil, w.now)["web"]; msg != want {
		t.Errorf("waiting %q\n want %q", msg, want)
	}
	u.HealthCheck = structs.UpdateHealthCheckTaskStates
	w.health(a1, true)
	w.health(a2, true)
	a3.TaskStates = nil
	want = "waiting: 1 allocation starting (then healthy for min_healthy_time 10s); progress deadline in 10m0s"
	if msg := Waiting(w.d, w.job, w.allocs, nil, w.now)["web"]; msg != want {
		t.Errorf("waiting %q\n want %q", msg, want)
	}
	a3.TaskStates = map[string]*structs.TaskState{"t": {State: structs.TaskStatePending, Restarts: 2}}
	want = `waiting: 1 allocation restarting (task "t" restarted 2 times; unhealthy unless healthy within healthy_deadline 5m0s); progress deadline in 10m0s`
	if msg := Waiting(w.d, w.job, w.allocs, nil, w.now)["web"]; msg != want {
		t.Errorf("waiting %q\n want %q", msg, want)
	}
	u.HealthCheck = structs.UpdateHealthCheckManual
	want = `waiting: 1 allocation must be set healthy by an operator (health_check "manual": run "orch deployment allocation-health -healthy ALLOC d1"); progress deadline in 10m0s`
	if msg := Waiting(w.d, w.job, w.allocs, nil, w.now)["web"]; msg != want {
		t.Errorf("waiting %q\n want %q", msg, want)
	}
}

// loseOne has a live allocation (the n-th, cyclically) lost with its node and
// places its replacement, as the scheduler does: of the deployed version,
// under the deployment (a canary again when it was one not promoted yet).
func (w *world) loseOne(n int) {
	var live []*structs.Allocation
	for _, a := range w.allocs {
		if !a.TerminalStatus() {
			live = append(live, a)
		}
	}
	if len(live) == 0 {
		return
	}
	a := live[n%len(live)]
	a.ClientStatus, a.DesiredStatus = structs.AllocClientStatusLost, structs.AllocDesiredStatusStop
	canary := a.DeploymentStatus.IsCanary() && !w.d.TaskGroups["web"].Promoted
	w.place(w.job, w.d.ID, canary)
}

// TestInPlaceVersionDeployment: a version that changed the running
// allocations in place (they stay those of an earlier deployment) ends
// successful once they are healthy, marking the version stable; one of
// them unhealthy fails it; one whose health is not known yet is waited for.
func TestInPlaceVersionDeployment(t *testing.T) {
	for _, tc := range []struct {
		name   string
		health []*bool
		want   structs.DeploymentStatus // "" while it waits
	}{
		{"healthy", []*bool{ptr(true), ptr(true)}, structs.DeploymentStatusSuccessful},
		{"one unhealthy", []*bool{ptr(true), ptr(false)}, structs.DeploymentStatusFailed},
		{"one not known yet", []*bool{ptr(true), nil}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, 0, update(1, 0))
			w.d.TaskGroups["web"].DesiredTotal = len(tc.health)
			for _, h := range tc.health {
				a := w.place(w.job, "d0", false) // changed in place from the previous version
				a.DeploymentStatus = &structs.AllocDeploymentStatus{Healthy: h}
			}
			dec := w.decide(0)
			switch {
			case tc.want == "" && dec.End != nil:
				t.Fatalf("ended %+v, want it to wait", dec.End)
			case tc.want == "":
				if msg := Waiting(w.d, w.job, w.allocs, nil, w.now)["web"]; msg == "" {
					t.Error("waits, but says for nothing")
				}
			case dec.End == nil || dec.End.Status != tc.want:
				t.Fatalf("decision %+v, want %s", dec, tc.want)
			case dec.MarkStable != (tc.want == structs.DeploymentStatusSuccessful):
				t.Fatalf("mark stable %v with %s", dec.MarkStable, tc.want)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }
