package scheduler

import (
	"time"

	"github.com/orch-io/orch/structs"
)

// Deployments in the reconciler: how a new version of a group with a rolling
// update block (max_parallel > 0) replaces the old one.
//
//   - The first plan of a version that places anything in such a group
//     creates the version's deployment; an active deployment of an older
//     version is cancelled (superseded), and a stopped job cancels its own.
//   - Rolling: at most max_parallel allocations of the group are out of
//     service at once. A live allocation placed by a deployment (this one or
//     an earlier one) that is not healthy is out of service; the destructive
//     update of an allocation in service takes one more out, so a plan makes
//     at most max_parallel minus those of them. Replacing an allocation that
//     is out of service already is free (or a failed deployment's unhealthy
//     allocations would block every later version). The rest of the old
//     allocations keep running, untouched, until a later evaluation (the
//     deployment watcher creates one as allocations become healthy).
//   - Canary: while the group's canaries are not promoted, no old allocation
//     is touched; the canaries (new allocations flagged Canary) are placed
//     beside the old ones, and do not claim their names. Once promoted they
//     take their names over, which stops the old allocations they replace;
//     the rest then rolls as above. canary = count is a blue-green update.
//   - Once promoted, the old allocations the canaries replace are stopped at
//     the pace of max_parallel too (a blue-green update does not drop the
//     whole old set at once): a plan stops at most max_parallel of them minus
//     those stopped before whose client has not stopped them yet; the watcher
//     asks for the next evaluation as clients report them stopped.
//   - A version that changes the group's allocations in place only (a count
//     or restart change, a revert to the spec that runs) gets a deployment
//     too, as in Nomad: the watcher ends it successful once those
//     allocations are healthy, which marks the version stable.
//   - A paused or failed deployment makes no destructive update and places
//     no canary (auto-revert, if set, registers a new version instead); nor
//     does one that ended otherwise.
//
// New allocations in such a group carry the deployment's ID. In-place
// updates and lost replacements are not limited: they take nothing out of
// service that is not already out.

// deploymentPlanner holds what the reconciler decides about deployments for
// one job. Pure: it reads only its input.
type deploymentPlanner struct {
	job *structs.Job
	now time.Time
	// current is the deployment of the job's version: the latest one if it
	// deploys this version, else the one this plan creates (nil until then).
	current *structs.Deployment
	// created is set when current is created by this plan.
	created bool
	newID   string
	// canaryIndexes, per group, the indexes held by canaries not promoted yet.
	canaryIndexes map[string]map[int]bool
	allocs        []*structs.Allocation
	tainted       map[string]bool
}

// newDeploymentPlanner looks at the job's latest deployment: it cancels it
// (into res) when it deploys an older version, or when the job is stopped.
func newDeploymentPlanner(in reconcileInput, res *reconcileResult) *deploymentPlanner {
	dp := &deploymentPlanner{job: in.Job, now: in.Now, newID: in.DeploymentID, allocs: in.Allocs,
		canaryIndexes: map[string]map[int]bool{}, tainted: in.TaintedNodes}
	d := in.Deployment
	if d == nil {
		return dp
	}
	switch {
	case in.Job.Stopped():
		if d.Active() {
			res.DeploymentUpdates = append(res.DeploymentUpdates, &structs.DeploymentStatusUpdate{
				DeploymentID: d.ID, Status: structs.DeploymentStatusCancelled, StatusDescription: structs.DeploymentDescStoppedJob})
		}
	case d.JobCreateIndex != in.Job.CreateIndex || d.JobVersion != in.Job.Version:
		if d.Active() {
			res.DeploymentUpdates = append(res.DeploymentUpdates, &structs.DeploymentStatusUpdate{
				DeploymentID: d.ID, Status: structs.DeploymentStatusCancelled, StatusDescription: structs.DeploymentDescNewerJob})
		}
	default:
		dp.current = d
	}
	return dp
}

// isPendingCanary reports whether a is a canary of the current deployment
// that is not promoted yet: it stands beside the old allocations, outside
// the group's names. It records the index it holds.
func (dp *deploymentPlanner) isPendingCanary(a *structs.Allocation) bool {
	if !dp.pendingCanary(a) {
		return false
	}
	if !canaryGone(a) {
		if dp.canaryIndexes[a.TaskGroup] == nil {
			dp.canaryIndexes[a.TaskGroup] = map[int]bool{}
		}
		dp.canaryIndexes[a.TaskGroup][a.Index()] = true
	}
	return true
}

// pendingCanary reports whether a is a canary of the current deployment not
// promoted yet.
func (dp *deploymentPlanner) pendingCanary(a *structs.Allocation) bool {
	if dp.current == nil || a.DeploymentID != dp.current.ID || !a.DeploymentStatus.IsCanary() {
		return false
	}
	s := dp.current.TaskGroups[a.TaskGroup]
	return s != nil && !s.Promoted
}

// canaryGone reports whether a canary no longer stands: lost with its node,
// or stopped by the servers. A canary that failed still stands (it fails the
// deployment); one that is gone is placed again.
func canaryGone(a *structs.Allocation) bool {
	return a.ServerTerminal() || a.ClientStatus == structs.AllocClientStatusLost
}

// rollGroup applies the group's update block to the placements reconcileGroup
// added to res from index start on: it limits the destructive updates, places
// the missing canaries, and stamps the new allocations with the deployment.
// A new version that only updates allocations in place (inPlace: a count or
// restart change, a revert to the spec that runs) gets a deployment too,
// which ends successful at the watcher's next look and marks the version
// stable, as in Nomad.
func (dp *deploymentPlanner) rollGroup(tg *structs.TaskGroup, res *reconcileResult, start int, inPlace bool) {
	u := tg.Update
	if !u.Rolling() {
		return
	}
	places := res.Place[start:]
	destructive := 0
	for _, p := range places {
		if p.StopPrevious == allocUpdating {
			destructive++
		}
	}
	canaries := dp.desiredCanaries(tg, destructive)
	if len(places) == 0 && canaries == 0 {
		if inPlace {
			dp.deployment(tg, 0)
		}
		return
	}
	d := dp.deployment(tg, canaries)
	if d == nil {
		dp.holdUpdates(res, start)
		return
	}
	state := d.TaskGroups[tg.Name]

	allowed := 0
	switch {
	case d.Status != structs.DeploymentStatusRunning:
		// paused or failed: hold the update
	case state.DesiredCanaries > 0 && !state.Promoted:
		// canaries first: the old allocations stay until promotion
	default:
		allowed = max(0, u.MaxParallel-dp.outOfService(tg.Name))
	}
	kept := places[:0:0]
	for _, p := range places {
		if p.StopPrevious == allocUpdating && !dp.isOutOfService(p.Previous) {
			if allowed == 0 {
				res.Ignore = append(res.Ignore, p.Previous)
				continue
			}
			allowed--
		}
		p.DeploymentID = d.ID
		kept = append(kept, p)
	}
	res.Place = append(res.Place[:start], kept...)

	if d.Status == structs.DeploymentStatusRunning && !state.Promoted {
		res.Place = append(res.Place, dp.canaryPlacements(tg, d, state.DesiredCanaries)...)
	}
}

// holdUpdates drops the destructive updates among the placements from start
// on, leaving their allocations as they are: the version's deployment ended
// (failed, cancelled) and nothing more is replaced under it. Other
// placements (lost replacements, a count raised) go ahead outside any
// deployment.
func (dp *deploymentPlanner) holdUpdates(res *reconcileResult, start int) {
	kept := res.Place[start:start]
	for _, p := range res.Place[start:] {
		if p.StopPrevious == allocUpdating {
			res.Ignore = append(res.Ignore, p.Previous)
			continue
		}
		kept = append(kept, p)
	}
	res.Place = append(res.Place[:start], kept...)
}

// desiredCanaries is how many canaries the group's update needs: its canary
// count while old allocations remain to be replaced; the deployment's
// figure once it exists.
func (dp *deploymentPlanner) desiredCanaries(tg *structs.TaskGroup, destructive int) int {
	if dp.current != nil {
		if s := dp.current.TaskGroups[tg.Name]; s != nil {
			return s.DesiredCanaries
		}
	}
	if destructive == 0 {
		return 0 // nothing to replace: a first run places everything at once
	}
	return tg.Update.Canary
}

// deployment returns the deployment the group's placements belong to,
// creating it with this plan if the version has none yet; nil when the
// version's deployment has ended (successful, failed, cancelled).
func (dp *deploymentPlanner) deployment(tg *structs.TaskGroup, canaries int) *structs.Deployment {
	if dp.current == nil {
		dp.current = structs.NewDeployment(dp.newID, dp.job, dp.now)
		dp.created = true
	}
	d := dp.current
	if !d.Active() {
		return nil
	}
	if dp.created {
		if s := d.TaskGroups[tg.Name]; s != nil {
			s.DesiredCanaries = canaries
		}
		if d.RequiresPromotion() {
			d.StatusDescription = structs.DeploymentDescRunningNeedsPromotion
		}
	}
	return d
}

// outOfService counts the group's live allocations that are out of service
// (isOutOfService).
func (dp *deploymentPlanner) outOfService(group string) int {
	n := 0
	for _, a := range dp.allocs {
		if a.TaskGroup == group && !a.TerminalStatus() && dp.isOutOfService(a) {
			n++
		}
	}
	return n
}

// isOutOfService reports whether a was placed by a deployment and is not
// healthy (yet). Canaries not promoted stand beside the old set: they take
// nothing out of service.
func (dp *deploymentPlanner) isOutOfService(a *structs.Allocation) bool {
	if a.DeploymentID == "" || a.DeploymentStatus.IsHealthy() {
		return false
	}
	return !dp.pendingCanary(a)
}

// canaryPlacements returns the canaries to place: as many as desired minus
// those standing, at the lowest indexes no standing canary holds.
func (dp *deploymentPlanner) canaryPlacements(tg *structs.TaskGroup, d *structs.Deployment, desired int) []placement {
	held := dp.canaryIndexes[tg.Name]
	var out []placement
	for i := 0; len(held)+len(out) < desired; i++ {
		if held[i] {
			continue
		}
		out = append(out, placement{TaskGroup: tg, Name: structs.AllocName(dp.job.ID, tg.Name, i), Index: i,
			DeploymentID: d.ID, Canary: true})
	}
	return out
}

// finish records in res the deployment this plan creates.
func (dp *deploymentPlanner) finish(res *reconcileResult) {
	if dp.created {
		res.Deployment = dp.current
	}
}

// paceRetirements limits the stops, among those reconcileGroup added to res
// from index start on, of older allocations whose names promoted canaries
// took over: at most max_parallel are being stopped at once. The others are
// left running for a later evaluation.
func (dp *deploymentPlanner) paceRetirements(tg *structs.TaskGroup, res *reconcileResult, start int) {
	u, d := tg.Update, dp.current
	if !u.Rolling() || d == nil || !d.Active() {
		return
	}
	state := d.TaskGroups[tg.Name]
	if state == nil || state.DesiredCanaries == 0 || !state.Promoted {
		return
	}
	allowed := max(0, u.MaxParallel-dp.retiring(tg.Name))
	kept := res.Stop[start:start]
	for _, st := range res.Stop[start:] {
		if st.Description == allocNotNeeded && dp.olderVersion(st.Alloc) {
			if allowed == 0 {
				res.Ignore = append(res.Ignore, st.Alloc)
				continue
			}
			allowed--
		}
		kept = append(kept, st)
	}
	res.Stop = append(res.Stop[:start], kept...)
}

// olderVersion reports whether a runs another version than the deployed one.
func (dp *deploymentPlanner) olderVersion(a *structs.Allocation) bool {
	return a.Job != nil && (a.Job.Version != dp.current.JobVersion || a.Job.CreateIndex != dp.current.JobCreateIndex)
}

// retiring counts the group's older allocations the servers stopped as not
// needed and their client has not stopped yet (on a node that is still up).
func (dp *deploymentPlanner) retiring(group string) int {
	n := 0
	for _, a := range dp.allocs {
		if a.TaskGroup == group && a.ServerTerminal() && !a.ClientTerminal() && a.DesiredDescription == allocNotNeeded &&
			!dp.tainted[a.NodeID] && dp.olderVersion(a) {
			n++
		}
	}
	return n
}
