package scheduler

import "github.com/orch-io/orch/structs"

// Rolling updates of system jobs. A system group with an update block
// (max_parallel > 0) is deployed like a service group (reconcile_update.go):
// the first plan of a version creates its deployment, whose DesiredTotal is
// the number of nodes that should run the group; at most max_parallel of the
// group's allocations are out of service at once, so a plan replaces at most
// max_parallel minus those on as many nodes; the rest keep running the old
// version until the deployment watcher asks for the next evaluation, as
// earlier replacements become healthy. Placements on nodes that had no
// allocation of the group (a new node) are not limited: they take nothing out
// of service. Canaries of system jobs are refused by validation (not
// supported yet), and sysbatch jobs, which run to completion, never deploy.

// systemDeployment returns the deployment planner of a system job's plan, nil
// for a sysbatch job or one without a rolling group. Superseded deployments
// (an older version, a stopped job) are cancelled into plan.
func (s *systemScheduler) systemDeployment(state State, namespace, jobID string, job *structs.Job, allocs []*structs.Allocation, plan *structs.Plan) *deploymentPlanner {
	if s.sysbatch {
		return nil
	}
	res := &reconcileResult{}
	dp := newDeploymentPlanner(reconcileInput{Job: job, Allocs: allocs,
		Deployment: state.LatestDeploymentByJobID(namespace, jobID), DeploymentID: s.g.deploymentID(job), Now: s.g.cfg.Now}, res)
	plan.DeploymentUpdates = res.DeploymentUpdates
	return dp
}

// roll limits the group's destructive updates to what its update block
// allows and stamps its placements with the deployment. Called once every
// node of the group was looked at (gp.pending, gp.desired are complete).
func (gp *systemGroupPlan) roll(dp *deploymentPlanner) {
	u := gp.tg.Update
	if dp == nil || !u.Rolling() || len(gp.pending) == 0 {
		return
	}
	d := dp.deployment(gp.tg, 0)
	kept := gp.pending[:0:0]
	if d == nil {
		// The version's deployment ended (failed, cancelled): nothing more is
		// replaced under it; new nodes still get the group, outside any.
		for _, pp := range gp.pending {
			if pp.p.StopPrevious != allocUpdating {
				kept = append(kept, pp)
			}
		}
		gp.pending = kept
		return
	}
	allowed := 0
	if d.Status == structs.DeploymentStatusRunning {
		allowed = max(0, u.MaxParallel-dp.outOfService(gp.tg.Name))
	}
	for _, pp := range gp.pending {
		if pp.p.StopPrevious == allocUpdating && !dp.isOutOfService(pp.p.Previous) {
			if allowed == 0 {
				continue // keeps running the old version for now
			}
			allowed--
		}
		pp.p.DeploymentID = d.ID
		kept = append(kept, pp)
	}
	gp.pending = kept
}

// finishSystemDeployment puts in plan the deployment it creates, with each
// group's desired total: the nodes that should run it.
func finishSystemDeployment(dp *deploymentPlanner, groups []*systemGroupPlan, plan *structs.Plan) {
	if dp == nil || !dp.created {
		return
	}
	for _, gp := range groups {
		if s := dp.current.TaskGroups[gp.tg.Name]; s != nil {
			s.DesiredTotal = gp.desired
		}
	}
	plan.Deployment = dp.current
}
