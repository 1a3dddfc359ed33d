package deploywatch

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/orch-io/orch/structs"
)

// Input is what Decide looks at. Nothing in it is modified.
type Input struct {
	Deployment *structs.Deployment
	// Job is the job as stored now (nil when purged).
	Job *structs.Job
	// Allocs are every allocation of the job.
	Allocs []*structs.Allocation
	// LatestStable is the job's newest stable version other than the
	// deployed one, nil if none: the target of an auto-revert.
	LatestStable *structs.Job
	// EvaluatedProgress is the deployment's progress (see Decision.Progress)
	// when the watcher last asked for an evaluation (0 when it never did, on
	// this leader).
	EvaluatedProgress int
	Now               time.Time
}

// Decision is what to do. The zero Decision does nothing.
type Decision struct {
	// End, when set, ends the deployment (successful, failed, cancelled).
	End *structs.DeploymentStatusUpdate
	// MarkStable marks the deployed job version stable (with End successful).
	MarkStable bool
	// RevertTo, with a failure of a deployment with auto_revert, is the
	// version to register again.
	RevertTo *structs.Job
	// Promote lists the groups whose canaries to promote (auto_promote).
	Promote []string
	// Evaluate asks for an evaluation of the job: there is a next batch to
	// place or to stop. Progress is what it was asked at: the deployment's
	// healthy allocations plus, in groups whose canaries were promoted, the
	// older allocations their clients stopped (paced as the next batch is).
	Evaluate bool
	Progress int
	// NextCheck is when to decide again if nothing changes before (zero:
	// only a change can alter the decision).
	NextCheck time.Time
}

// groupView is a group's allocations, as the decision sees them.
type groupView struct {
	name  string
	state *structs.DeploymentState
	// mine are the live allocations the deployment placed; healthy, unhealthy
	// count all its allocations (live or not) by health.
	mine               []*structs.Allocation
	healthy, unhealthy int
	healthyCanaries    int
	canaries           int // standing canaries of the deployment
	// others are live allocations of other versions (left to replace).
	others int
	// current counts live allocations of the deployed version.
	current int
	// failed counts the deployment's allocations whose client failed them
	// before a health was reported.
	failed int
	// retired counts, once the group's canaries are promoted, the older
	// allocations their clients stopped.
	retired int
	// adopted are the live allocations of the deployed version an earlier
	// deployment placed (a version that changed them in place: a count or
	// restart change, a revert to the spec that runs): their health counts
	// too, so a version is not marked stable on allocations known unhealthy.
	adopted []*structs.Allocation
}

func view(d *structs.Deployment, allocs []*structs.Allocation) []*groupView {
	var out []*groupView
	for _, name := range d.GroupNames() {
		g := &groupView{name: name, state: d.TaskGroups[name]}
		for _, a := range allocs {
			if a.TaskGroup != name {
				continue
			}
			mine := a.DeploymentID == d.ID
			ds := a.DeploymentStatus
			if mine {
				switch {
				case ds.IsHealthy():
					g.healthy++
				case ds.IsUnhealthy():
					g.unhealthy++
				case a.ClientStatus == structs.AllocClientStatusFailed:
					g.failed++
				}
				if ds.IsCanary() && !a.ServerTerminal() && a.ClientStatus != structs.AllocClientStatusLost {
					g.canaries++
					if ds.IsHealthy() {
						g.healthyCanaries++
					}
				}
			}
			if a.TerminalStatus() {
				if !mine && g.state.Promoted && g.state.DesiredCanaries > 0 && a.ClientTerminal() {
					g.retired++
				}
				continue
			}
			if mine {
				g.mine = append(g.mine, a)
			}
			switch {
			case a.Job != nil && a.Job.Version == d.JobVersion && a.Job.CreateIndex == d.JobCreateIndex:
				if !(ds.IsCanary() && !g.state.Promoted) {
					g.current++
				}
				if !mine && a.DeploymentID != "" {
					g.adopted = append(g.adopted, a)
				}
			case !(mine && ds.IsCanary()):
				g.others++
			}
		}
		out = append(out, g)
	}
	return out
}

// awaitingPromotion reports whether the group waits for its canaries to be
// promoted, all of them healthy.
func (g *groupView) awaitingPromotion() bool {
	s := g.state
	return s.DesiredCanaries > 0 && !s.Promoted && g.healthyCanaries >= s.DesiredCanaries
}

// complete reports whether the group reached the deployed version: canaries
// promoted, nothing else left, count reached, every allocation of the
// deployment healthy.
func (g *groupView) complete() bool {
	s := g.state
	if s.DesiredCanaries > 0 && !s.Promoted {
		return false
	}
	if g.others > 0 || g.current < s.DesiredTotal {
		return false
	}
	for _, a := range g.mine {
		if !a.DeploymentStatus.IsHealthy() {
			return false
		}
	}
	for _, a := range g.adopted {
		if !a.DeploymentStatus.IsHealthy() {
			return false
		}
	}
	return true
}

// adoptedUnhealthy reports whether an allocation the deployed version
// changed in place is known unhealthy.
func (g *groupView) adoptedUnhealthy() bool {
	for _, a := range g.adopted {
		if a.DeploymentStatus.IsUnhealthy() {
			return true
		}
	}
	return false
}

// Decide returns what to do next with in.Deployment.
func Decide(in Input) Decision {
	d := in.Deployment
	if !d.Active() {
		return Decision{}
	}
	switch job := in.Job; {
	case job == nil || job.Stop:
		return Decision{End: end(d, structs.DeploymentStatusCancelled, structs.DeploymentDescStoppedJob)}
	case job.CreateIndex != d.JobCreateIndex || job.Version != d.JobVersion:
		return Decision{End: end(d, structs.DeploymentStatusCancelled, structs.DeploymentDescNewerJob)}
	}
	groups := view(d, in.Allocs)

	for _, g := range groups {
		if g.unhealthy > 0 || g.failed > 0 || g.adoptedUnhealthy() {
			return fail(in, structs.DeploymentDescFailedAllocations)
		}
	}
	if d.Status == structs.DeploymentStatusPaused {
		return Decision{} // a paused deployment waits for the operator, deadlines too
	}
	var next time.Time
	for _, g := range groups {
		by := g.state.RequireProgressBy
		// A deployment waiting for a manual promotion fails at its
		// progress deadline too: no deployment waits forever.
		if by.IsZero() || g.complete() {
			continue
		}
		if !in.Now.Before(by) {
			return fail(in, structs.DeploymentDescProgressDeadline)
		}
		if next.IsZero() || by.Before(next) {
			next = by
		}
	}

	allComplete := true
	for _, g := range groups {
		allComplete = allComplete && g.complete()
	}
	if allComplete {
		return Decision{End: end(d, structs.DeploymentStatusSuccessful, structs.DeploymentDescSuccessful), MarkStable: true}
	}

	dec := Decision{NextCheck: next}
	if promote := autoPromote(groups); len(promote) > 0 {
		dec.Promote, dec.Evaluate = promote, true
	}
	progress := 0
	for _, g := range groups {
		progress += g.healthy + g.retired
	}
	if progress > in.EvaluatedProgress {
		dec.Evaluate = true
	}
	if dec.Evaluate {
		dec.Progress = progress
	}
	return dec
}

// autoPromote returns the groups to promote: once every group with canaries
// to promote has them all healthy, those with auto_promote (Nomad promotes
// only when every group is ready).
func autoPromote(groups []*groupView) []string {
	var out []string
	for _, g := range groups {
		s := g.state
		if s.DesiredCanaries == 0 || s.Promoted {
			continue
		}
		if !g.awaitingPromotion() || !s.AutoPromote {
			return nil
		}
		out = append(out, g.name)
	}
	return out
}

func end(d *structs.Deployment, status structs.DeploymentStatus, desc string) *structs.DeploymentStatusUpdate {
	return &structs.DeploymentStatusUpdate{DeploymentID: d.ID, Status: status, StatusDescription: desc}
}

// fail fails the deployment; with auto_revert in a group and a stable
// version to go back to, it names it.
func fail(in Input, desc string) Decision {
	dec := Decision{}
	revert := false
	for _, s := range in.Deployment.TaskGroups {
		revert = revert || s.AutoRevert
	}
	if revert && in.LatestStable != nil {
		dec.RevertTo = in.LatestStable
		desc = fmt.Sprintf("%s - rolling back to job version %d", desc, in.LatestStable.Version)
	} else if revert {
		desc += " - no stable job version to auto revert to"
	}
	dec.End = end(in.Deployment, structs.DeploymentStatusFailed, desc)
	return dec
}

// Waiting says, per group of a running deployment, what it waits for, as
// `orch deployment status` shows it; groups that wait for nothing are absent.
// failures gives, per group, why the job's latest evaluation could not place
// some of its allocations ("memory exhausted on 3 nodes"), if it could not.
func Waiting(d *structs.Deployment, job *structs.Job, allocs []*structs.Allocation, failures map[string]string, now time.Time) map[string]string {
	out := map[string]string{}
	if !d.Active() {
		return out
	}
	for _, g := range view(d, allocs) {
		if msg := g.waiting(d, job, failures[g.name], now); msg != "" {
			out[g.name] = msg
		}
	}
	return out
}

func (g *groupView) waiting(d *structs.Deployment, job *structs.Job, failure string, now time.Time) string {
	s := g.state
	deadline := ""
	if !s.RequireProgressBy.IsZero() {
		deadline = fmt.Sprintf("; progress deadline in %s", s.RequireProgressBy.Sub(now).Round(time.Second))
	}
	if d.Status == structs.DeploymentStatusPaused {
		return fmt.Sprintf("paused (run \"orch deployment resume %s\")", shortID(d.ID))
	}
	if g.awaitingPromotion() {
		if s.AutoPromote {
			return fmt.Sprintf("promoting automatically: %d/%d canaries healthy", g.healthyCanaries, s.DesiredCanaries)
		}
		return fmt.Sprintf("waiting for promotion: %d/%d canaries healthy (run \"orch deployment promote %s\")%s",
			g.healthyCanaries, s.DesiredCanaries, shortID(d.ID), deadline)
	}
	if s.DesiredCanaries > 0 && !s.Promoted && g.canaries < s.DesiredCanaries {
		missing := s.DesiredCanaries - g.canaries
		if failure != "" {
			return fmt.Sprintf("blocked: %s cannot be placed: %s%s", count(missing, "canary", "canaries"), failure, deadline)
		}
		return fmt.Sprintf("blocked: %d of %d canaries not placed yet%s", missing, s.DesiredCanaries, deadline)
	}
	var pending []*structs.Allocation
	for _, a := range append(slices.Clone(g.mine), g.adopted...) {
		if !a.DeploymentStatus.IsHealthy() {
			pending = append(pending, a)
		}
	}
	if len(pending) > 0 {
		if tg := jobGroup(job, g.name); tg != nil && tg.Update != nil {
			return "waiting: " + pendingHealth(pending, tg, now) + deadline
		}
		return fmt.Sprintf("waiting: %s must be healthy%s", count(len(pending), "allocation", "allocations"), deadline)
	}
	if g.others > 0 && g.current >= s.DesiredTotal {
		maxParallel := 0
		if tg := jobGroup(job, g.name); tg != nil && tg.Update != nil {
			maxParallel = tg.Update.MaxParallel
		}
		return fmt.Sprintf("retiring: %s of the old version left to stop, %d at a time (max_parallel)%s",
			count(g.others, "allocation", "allocations"), maxParallel, deadline)
	}
	if g.others > 0 || g.current < s.DesiredTotal {
		if failure != "" {
			return fmt.Sprintf("blocked: %s cannot be placed: %s%s",
				count(s.DesiredTotal-g.current, "allocation", "allocations"), failure, deadline)
		}
		return fmt.Sprintf("placing: %d of %d allocations on the new version%s", g.current, s.DesiredTotal, deadline)
	}
	return ""
}

// pendingHealth says what the allocations of a deployment whose health is
// not known yet wait for, from their task states (as the servers see them):
// "2 allocations must stay healthy for 8s more (min_healthy_time 10s)", "1
// allocation starting", the client's verdict (or their checks, in "checks"
// mode) once min_healthy_time passed, or, in "manual" mode, the operator.
func pendingHealth(pending []*structs.Allocation, tg *structs.TaskGroup, now time.Time) string {
	u := tg.Update
	if u.HealthCheck == structs.UpdateHealthCheckManual {
		// An allocation changed in place stays in the deployment that
		// placed it: its health is set there.
		return fmt.Sprintf("%s must be set healthy by an operator (health_check \"manual\": run \"orch deployment allocation-health -healthy ALLOC %s\")",
			count(len(pending), "allocation", "allocations"), shortID(pending[0].DeploymentID))
	}
	var starting, restarting, staying, reporting int
	var longest time.Duration
	restarted := "" // the first restarting allocation's task and restarts
	for _, a := range pending {
		ok, at := a.HealthyByTaskStates(u.MinHealthyTime, now)
		switch {
		case at.IsZero():
			if task, n := restartingTask(a); n > 0 {
				restarting++
				if restarted == "" {
					restarted = fmt.Sprintf("task %q restarted %s", task, count(n, "time", "times"))
				}
				continue
			}
			starting++
		case !ok:
			staying++
			longest = max(longest, at.Sub(now))
		default:
			reporting++
		}
	}
	var parts []string
	if staying > 0 {
		parts = append(parts, fmt.Sprintf("%s must stay healthy for %s more (min_healthy_time %s)",
			count(staying, "allocation", "allocations"), roundUp(longest), u.MinHealthyTime))
	}
	if restarting > 0 {
		parts = append(parts, fmt.Sprintf("%s restarting (%s; unhealthy unless healthy within healthy_deadline %s)",
			count(restarting, "allocation", "allocations"), restarted, u.HealthyDeadline))
	}
	if starting > 0 {
		part := count(starting, "allocation", "allocations") + " starting"
		if staying == 0 && restarting == 0 {
			part += fmt.Sprintf(" (then healthy for min_healthy_time %s)", u.MinHealthyTime)
		}
		parts = append(parts, part)
	}
	if reporting > 0 {
		what := "the client's health report"
		if u.HealthCheck == structs.UpdateHealthCheckChecks && hasChecks(tg) {
			what = "their checks to pass (health_check \"checks\") or the client's report"
		}
		parts = append(parts, fmt.Sprintf("%s ran for min_healthy_time, waiting for %s", count(reporting, "allocation", "allocations"), what))
	}
	return strings.Join(parts, "; ")
}

// restartingTask returns a task of a that is not running and restarted
// (the one with the most restarts, by name on a tie), and its restarts; 0
// when none.
func restartingTask(a *structs.Allocation) (string, int) {
	task, most := "", 0
	for name, ts := range a.TaskStates {
		if ts == nil || ts.State == structs.TaskStateRunning || ts.Restarts == 0 {
			continue
		}
		if n := int(ts.Restarts); n > most || n == most && name < task {
			task, most = name, n
		}
	}
	return task, most
}

// hasChecks reports whether a check of the group's or its tasks' services
// counts for health (on_update other than "ignore").
func hasChecks(tg *structs.TaskGroup) bool {
	services := slices.Clone(tg.Services)
	for _, t := range tg.Tasks {
		services = append(services, t.Services...)
	}
	for _, s := range services {
		for _, c := range s.Checks {
			if c != nil && c.OnUpdate != structs.OnUpdateIgnore {
				return true
			}
		}
	}
	return false
}

// roundUp rounds a wait to the second above (a wait of 200ms reads "1s").
func roundUp(d time.Duration) time.Duration {
	if r := d.Truncate(time.Second); r < d {
		return r + time.Second
	}
	return d
}

func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func jobGroup(job *structs.Job, name string) *structs.TaskGroup {
	if job == nil {
		return nil
	}
	return job.LookupTaskGroup(name)
}

func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}
