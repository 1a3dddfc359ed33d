package scheduler

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/orch-io/orch/server/deploywatch"
	"github.com/orch-io/orch/structs"
)

// Deployment commands of the scenario files (scenario_test.go). They drive
// the reconciler and the deployment watcher's decision (deploywatch.Decide)
// the way the leader does, on the scenario's clock:
//
//	job ... [max-parallel=N] [canary=N] [auto-promote] [auto-revert]
//	        [min-healthy=DUR] [healthy-deadline=DUR] [progress-deadline=DUR]
//	    sets the group's update block (Nomad's defaults for what is not given)
//	health all|ALLOC-NAME[@NODE]... healthy|unhealthy
//	    the clients report the deployment health of the live allocations of
//	    the job's latest deployment that have none yet (all of them, or those named)
//	clock +DUR       moves the clock on (deadlines, the next deployment's times)
//	watch [job=job]  the deployment watcher decides once for the latest
//	                 deployment and carries the decision out: it prints it,
//	                 then the evaluation it asks for (as eval does), if any
//	promote [group=g] [job=job]
//	                 an operator promotes the latest deployment, and its
//	                 evaluation runs
//	deployment [job=job]  prints the latest deployment and what it waits for
//	client-stops [job=job]  the clients stop every allocation of the job the
//	                 servers stopped (they report them complete)
//
// After an eval, a job with a deployment prints it on a last line.

// updateArg applies one update-block argument of the job command; false when
// arg is not one.
func updateArg(tg *structs.TaskGroup, k, v string, fail func(string, ...any), atoi func(string) int) bool {
	u := tg.Update
	if u == nil {
		u = &structs.UpdateStrategy{MaxParallel: structs.DefaultUpdateMaxParallel, HealthCheck: structs.UpdateHealthCheckTaskStates,
			MinHealthyTime: structs.DefaultUpdateMinHealthyTime, HealthyDeadline: structs.DefaultUpdateHealthyDeadline,
			ProgressDeadline: structs.DefaultUpdateProgressDeadline}
	}
	dur := func() time.Duration {
		d, err := time.ParseDuration(v)
		if err != nil {
			fail("%s=%q: %v", k, v, err)
		}
		return d
	}
	switch k {
	case "max-parallel":
		u.MaxParallel = atoi(v)
	case "canary":
		u.Canary = atoi(v)
	case "auto-promote":
		u.AutoPromote = true
	case "auto-revert":
		u.AutoRevert = true
	case "min-healthy":
		u.MinHealthyTime = dur()
	case "healthy-deadline":
		u.HealthyDeadline = dur()
	case "progress-deadline":
		u.ProgressDeadline = dur()
	default:
		return false
	}
	tg.Update = u
	return true
}

// deployCommand runs a deployment command; false when name is not one.
func (sc *scenario) deployCommand(name string, args []string, fail func(string, ...any)) (string, bool) {
	jobID, group := "job", ""
	var rest []string
	for _, a := range args {
		switch k, v, _ := strings.Cut(a, "="); k {
		case "job":
			jobID = v
		case "group":
			group = v
		default:
			rest = append(rest, a)
		}
	}
	h := sc.h
	switch name {
	case "clock":
		if len(args) != 1 || !strings.HasPrefix(args[0], "+") {
			fail("want clock +DURATION")
		}
		d, err := time.ParseDuration(args[0][1:])
		if err != nil {
			fail("%v", err)
		}
		h.now = h.now.Add(d)
		return "", true
	case "health":
		if len(rest) < 2 {
			fail("want health all|ALLOC... healthy|unhealthy")
		}
		return sc.health(jobID, rest[:len(rest)-1], rest[len(rest)-1], fail), true
	case "watch":
		return sc.watch(jobID, fail), true
	case "promote":
		d := h.store.Snapshot().LatestDeploymentByJobID("default", jobID)
		if d == nil {
			fail("job %s has no deployment", jobID)
		}
		var groups []string
		if group != "" {
			groups = []string{group}
		}
		if err := sc.write(func(w writeTxn) error { return w.PromoteDeployment(d.ID, groups, h.now.UnixNano()) }); err != nil {
			return "promote refused: " + err.Error(), true
		}
		return sc.evaluate(jobID, structs.EvalTriggerDeploymentWatcher), true
	case "deployment":
		return sc.renderDeployment(jobID, true), true
	case "client-stops":
		for _, a := range h.store.Snapshot().AllocsByJob("default", jobID) {
			if a.ServerTerminal() && !a.ClientTerminal() {
				h.setClientStatus(a.ID, structs.AllocClientStatusComplete)
			}
		}
		return "", true
	}
	return "", false
}

// writeTxn is what the deployment commands write through.
type writeTxn interface {
	PromoteDeployment(id string, groups []string, now int64) error
	SetAllocHealth(deploymentID string, healthy, unhealthy []string, now time.Time) error
	UpdateDeploymentStatus(u *structs.DeploymentStatusUpdate, now int64) error
	SetJobStability(namespace, jobID string, version uint64, stable bool) error
	UpsertJob(job *structs.Job) error
}

// write runs fn in a transaction of its own, as one Raft entry.
func (sc *scenario) write(fn func(w writeTxn) error) error {
	w := sc.h.store.Begin(sc.h.nextIndex())
	defer w.Abort()
	if err := fn(w); err != nil {
		return err
	}
	return w.Commit()
}

// health sets the health of the named live allocations (or all) of the
// job's latest deployment that have none yet.
// It says so when none does.
func (sc *scenario) health(jobID string, refs []string, verdict string, fail func(string, ...any)) string {
	h := sc.h
	d := h.store.Snapshot().LatestDeploymentByJobID("default", jobID)
	if d == nil {
		fail("job %s has no deployment", jobID)
	}
	var ids []string
	for _, a := range h.live(jobID) {
		if a.DeploymentID != d.ID || (a.DeploymentStatus.IsHealthy() || a.DeploymentStatus.IsUnhealthy()) {
			continue
		}
		ref := a.Name + "@" + a.NodeName
		if refs[0] == "all" || slices.Contains(refs, a.Name) || slices.Contains(refs, ref) {
			ids = append(ids, a.ID)
		}
	}
	if len(ids) == 0 {
		return "no allocation waits for its health"
	}
	var healthy, unhealthy []string
	switch verdict {
	case "healthy":
		healthy = ids
	case "unhealthy":
		unhealthy = ids
	default:
		fail("health is healthy or unhealthy, not %q", verdict)
	}
	must(h.t, sc.write(func(w writeTxn) error { return w.SetAllocHealth(d.ID, healthy, unhealthy, h.now) }))
	return ""
}

// watch decides once for the job's latest deployment, as the leader's
// deployment watcher does, and carries the decision out.
func (sc *scenario) watch(jobID string, fail func(string, ...any)) string {
	h := sc.h
	snap := h.store.Snapshot()
	d := snap.LatestDeploymentByJobID("default", jobID)
	if d == nil {
		fail("job %s has no deployment", jobID)
	}
	dec := deploywatch.Decide(deploywatch.Input{Deployment: d, Job: snap.JobByID("default", jobID), Allocs: snap.AllocsByJob("default", jobID),
		LatestStable: snap.LatestStableVersion("default", jobID, d.JobVersion), EvaluatedProgress: sc.evaluated[d.ID], Now: h.now})
	var lines []string
	must(h.t, sc.write(func(w writeTxn) error {
		if dec.End != nil {
			lines = append(lines, fmt.Sprintf("watcher: deployment %s: %s", dec.End.Status, dec.End.StatusDescription))
			if err := w.UpdateDeploymentStatus(dec.End, h.now.UnixNano()); err != nil {
				return err
			}
		}
		if dec.MarkStable {
			lines = append(lines, fmt.Sprintf("watcher: version %d is stable", d.JobVersion))
			if err := w.SetJobStability("default", jobID, d.JobVersion, true); err != nil {
				return err
			}
		}
		if len(dec.Promote) > 0 {
			lines = append(lines, "watcher: promote "+strings.Join(dec.Promote, ","))
			if err := w.PromoteDeployment(d.ID, dec.Promote, h.now.UnixNano()); err != nil {
				return err
			}
		}
		return nil
	}))
	if !dec.NextCheck.IsZero() {
		lines = append(lines, fmt.Sprintf("watcher: next check in %s", dec.NextCheck.Sub(h.now)))
	}
	if len(lines) == 0 && !dec.Evaluate && dec.RevertTo == nil {
		lines = append(lines, "watcher: nothing to do")
	}
	switch {
	case dec.RevertTo != nil:
		lines = append(lines, fmt.Sprintf("watcher: revert to version %d", dec.RevertTo.Version))
		job := dec.RevertTo.Copy()
		job.Stop = false
		must(h.t, sc.write(func(w writeTxn) error { return w.UpsertJob(job) }))
		lines = append(lines, sc.evaluate(jobID, structs.EvalTriggerJobRegister))
	case dec.Evaluate:
		sc.evaluated[d.ID] = dec.Progress
		lines = append(lines, "watcher: evaluate", sc.evaluate(jobID, structs.EvalTriggerDeploymentWatcher))
	}
	return strings.Join(lines, "\n")
}

// evaluate processes an evaluation of the job and renders it.
func (sc *scenario) evaluate(jobID, trigger string) string {
	h := sc.h
	job := h.store.JobByID("default", jobID)
	plans, created := len(h.plans), len(h.created)
	h.process(job.Type, h.newEval(job, trigger))
	return sc.render(job.ID, h.plans[plans:], h.created[created:])
}

// renderDeployment prints the job's latest deployment on one line (and,
// with waiting, what it waits for); "" when it has none.
func (sc *scenario) renderDeployment(jobID string, waiting bool) string {
	snap := sc.h.store.Snapshot()
	d := snap.LatestDeploymentByJobID("default", jobID)
	if d == nil {
		return ""
	}
	line := fmt.Sprintf("deployment v%d %s:", d.JobVersion, d.Status)
	for _, name := range d.GroupNames() {
		s := d.TaskGroups[name]
		line += fmt.Sprintf(" %s desired=%d placed=%d healthy=%d unhealthy=%d", name, s.DesiredTotal, s.PlacedAllocs, s.HealthyAllocs, s.UnhealthyAllocs)
		if s.DesiredCanaries > 0 {
			line += fmt.Sprintf(" canaries=%d/%d promoted=%t", len(s.PlacedCanaries), s.DesiredCanaries, s.Promoted)
		}
	}
	if !waiting {
		return line
	}
	if d.StatusDescription != "" {
		line += "\n  " + d.StatusDescription
	}
	failures := map[string]string{}
	if len(sc.h.updated) > 0 {
		for g, m := range sc.h.lastEval().FailedTGAllocs {
			failures[g] = FailureReasons(m)
		}
	}
	w := deploywatch.Waiting(d, snap.JobByID("default", jobID), snap.AllocsByJob("default", jobID), failures, sc.h.now)
	for _, name := range d.GroupNames() {
		if msg, ok := w[name]; ok {
			line += fmt.Sprintf("\n  %s: %s", name, msg)
		}
	}
	return line
}
