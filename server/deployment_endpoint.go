package server

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/orch-io/orch/server/state"
	"github.com/orch-io/orch/structs"
)

// deploymentEndpoint serves the "Deployment" RPC methods
// (structs/deployment_rpc.go): reads, and an operator's promote, fail,
// pause/resume and manual health. Writes commit one DeploymentUpdateEntry,
// with the evaluation of the job they call for.
type deploymentEndpoint struct {
	srv *Server
}

// List returns the deployments whose ID starts with Prefix.
func (e *deploymentEndpoint) List(ctx context.Context, args *structs.DeploymentListRequest, reply *structs.DeploymentListResponse) error {
	if done, err := e.srv.forward(ctx, "Deployment.List", args, reply); done {
		return err
	}
	return e.srv.namespacedQuery(ctx, &args.QueryOptions, &reply.QueryMeta, func(snap *state.Snapshot, ns string) (uint64, error) {
		reply.Deployments = filterNamespace(snap.Deployments(args.Prefix), ns, func(d *structs.Deployment) string { return d.Namespace })
		return snap.IndexUnwatched(state.TableDeployments), nil
	})
}

// GetDeployment returns one deployment, nil when it does not exist.
func (e *deploymentEndpoint) GetDeployment(ctx context.Context, args *structs.DeploymentSpecificRequest, reply *structs.SingleDeploymentResponse) error {
	if done, err := e.srv.forward(ctx, "Deployment.GetDeployment", args, reply); done {
		return err
	}
	return e.srv.blockingQuery(ctx, &args.QueryOptions, &reply.QueryMeta, func(snap *state.Snapshot) (uint64, error) {
		reply.Deployment = snap.DeploymentByID(args.DeploymentID)
		return snap.IndexUnwatched(state.TableDeployments), nil
	})
}

// Allocations returns the summaries of the allocations a deployment placed.
func (e *deploymentEndpoint) Allocations(ctx context.Context, args *structs.DeploymentSpecificRequest, reply *structs.AllocListResponse) error {
	if done, err := e.srv.forward(ctx, "Deployment.Allocations", args, reply); done {
		return err
	}
	return e.srv.blockingQuery(ctx, &args.QueryOptions, &reply.QueryMeta, func(snap *state.Snapshot) (uint64, error) {
		allocs := snap.AllocsByDeployment(args.DeploymentID)
		reply.Allocations = make([]*structs.AllocListStub, 0, len(allocs))
		for _, a := range allocs {
			reply.Allocations = append(reply.Allocations, a.Stub())
		}
		return snap.IndexUnwatched(state.TableAllocs), nil
	})
}

// Deployments returns a job's deployments, newest first.
func (j *jobEndpoint) Deployments(ctx context.Context, args *structs.JobSpecificRequest, reply *structs.DeploymentListResponse) error {
	if done, err := j.srv.forward(ctx, "Job.Deployments", args, reply); done {
		return err
	}
	return j.srv.namespacedQuery(ctx, &args.QueryOptions, &reply.QueryMeta, func(snap *state.Snapshot, ns string) (uint64, error) {
		reply.Deployments = snap.DeploymentsByJob(ns, args.JobID)
		return snap.IndexUnwatched(state.TableDeployments), nil
	})
}

// LatestDeployment returns a job's newest deployment, nil if none.
func (j *jobEndpoint) LatestDeployment(ctx context.Context, args *structs.JobSpecificRequest, reply *structs.SingleDeploymentResponse) error {
	if done, err := j.srv.forward(ctx, "Job.LatestDeployment", args, reply); done {
		return err
	}
	return j.srv.namespacedQuery(ctx, &args.QueryOptions, &reply.QueryMeta, func(snap *state.Snapshot, ns string) (uint64, error) {
		reply.Deployment = snap.LatestDeploymentByJobID(ns, args.JobID)
		return snap.IndexUnwatched(state.TableDeployments), nil
	})
}

// activeDeployment returns the deployment, which must be active.
func (e *deploymentEndpoint) activeDeployment(snap *state.Snapshot, id string) (*structs.Deployment, error) {
	d := snap.DeploymentByID(id)
	if d == nil {
		return nil, structs.NewError(structs.CodeNotFound, "deployment %q not found", id)
	}
	if !d.Active() {
		return nil, structs.NewError(structs.CodeInvalid, "deployment %s is %s (%s): it can no longer change", d.ID, d.Status, d.StatusDescription)
	}
	return d, nil
}

// Promote promotes the canaries of a deployment: of every group (All) or of
// Groups. Every canary of those groups must be healthy.
func (e *deploymentEndpoint) Promote(ctx context.Context, args *structs.DeploymentPromoteRequest, reply *structs.DeploymentUpdateResponse) error {
	if done, err := e.srv.forward(ctx, "Deployment.Promote", args, reply); done {
		return err
	}
	snap := e.srv.state.Snapshot()
	d, err := e.activeDeployment(snap, args.DeploymentID)
	if err != nil {
		return err
	}
	groups := args.Groups
	if args.All || len(groups) == 0 {
		groups = nil
		for _, name := range d.GroupNames() {
			if s := d.TaskGroups[name]; s.DesiredCanaries > 0 && !s.Promoted {
				groups = append(groups, name)
			}
		}
		if len(groups) == 0 {
			return structs.NewError(structs.CodeInvalid, "deployment %s has no canaries to promote", d.ID)
		}
	}
	var problems []error
	for _, g := range groups {
		s := d.TaskGroups[g]
		if s == nil || s.DesiredCanaries == 0 {
			problems = append(problems, fmt.Errorf("group %q has no canaries in deployment %s", g, d.ID))
			continue
		}
		healthy := 0
		for _, id := range s.PlacedCanaries {
			if a := snap.AllocByID(id); a != nil && a.DeploymentStatus.IsHealthy() {
				healthy++
			}
		}
		if healthy < s.DesiredCanaries {
			problems = append(problems, fmt.Errorf("group %q has %d/%d healthy canaries", g, healthy, s.DesiredCanaries))
		}
	}
	if err := errors.Join(problems...); err != nil {
		return structs.NewError(structs.CodeInvalid, "cannot promote deployment %s: %v", d.ID, err)
	}
	return e.commit(ctx, d, &DeploymentUpdateEntry{Promotions: []*DeploymentPromotion{{DeploymentID: d.ID, Groups: groups}}},
		true, args.RequestID, reply)
}

// Pause pauses or resumes a deployment.
func (e *deploymentEndpoint) Pause(ctx context.Context, args *structs.DeploymentPauseRequest, reply *structs.DeploymentUpdateResponse) error {
	if done, err := e.srv.forward(ctx, "Deployment.Pause", args, reply); done {
		return err
	}
	d, err := e.activeDeployment(e.srv.state.Snapshot(), args.DeploymentID)
	if err != nil {
		return err
	}
	u := &structs.DeploymentStatusUpdate{DeploymentID: d.ID, Status: structs.DeploymentStatusPaused, StatusDescription: structs.DeploymentDescPaused}
	if !args.Pause {
		u.Status, u.StatusDescription = structs.DeploymentStatusRunning, structs.DeploymentDescRunning
	}
	return e.commit(ctx, d, &DeploymentUpdateEntry{StatusUpdates: []*structs.DeploymentStatusUpdate{u}}, !args.Pause, args.RequestID, reply)
}

// SetAllocHealth sets the health of allocations of a deployment by hand.
func (e *deploymentEndpoint) SetAllocHealth(ctx context.Context, args *structs.DeploymentAllocHealthRequest, reply *structs.DeploymentUpdateResponse) error {
	if done, err := e.srv.forward(ctx, "Deployment.SetAllocHealth", args, reply); done {
		return err
	}
	if len(args.HealthyAllocationIDs)+len(args.UnhealthyAllocationIDs) == 0 {
		return structs.NewError(structs.CodeInvalid, "no allocations given: set HealthyAllocationIDs or UnhealthyAllocationIDs")
	}
	d, err := e.activeDeployment(e.srv.state.Snapshot(), args.DeploymentID)
	if err != nil {
		return err
	}
	health := &DeploymentAllocHealth{DeploymentID: d.ID, Healthy: args.HealthyAllocationIDs, Unhealthy: args.UnhealthyAllocationIDs}
	return e.commit(ctx, d, &DeploymentUpdateEntry{AllocHealth: health}, true, args.RequestID, reply)
}

// Fail fails a running deployment; with auto_revert, the job goes back to its
// latest stable version.
func (e *deploymentEndpoint) Fail(ctx context.Context, args *structs.DeploymentFailRequest, reply *structs.DeploymentUpdateResponse) error {
	if done, err := e.srv.forward(ctx, "Deployment.Fail", args, reply); done {
		return err
	}
	snap := e.srv.state.Snapshot()
	d, err := e.activeDeployment(snap, args.DeploymentID)
	if err != nil {
		return err
	}
	desc, revertTo := structs.DeploymentDescFailedByUser, autoRevertTarget(snap, d)
	if revertTo != nil {
		desc = fmt.Sprintf("%s - rolling back to job version %d", desc, revertTo.Version)
	}
	u := &structs.DeploymentStatusUpdate{DeploymentID: d.ID, Status: structs.DeploymentStatusFailed, StatusDescription: desc}
	if err := e.commit(ctx, d, &DeploymentUpdateEntry{StatusUpdates: []*structs.DeploymentStatusUpdate{u}}, revertTo == nil, args.RequestID, reply); err != nil {
		return err
	}
	if revertTo != nil {
		r, err := e.srv.revertJob(ctx, d, revertTo)
		if err != nil {
			return err
		}
		v := revertTo.Version
		reply.EvalID, reply.EvalCreateIndex, reply.RevertedJobVersion = r.evalID, r.index, &v
	}
	return nil
}

// autoRevertTarget is the version a failure of d goes back to: the job's
// latest stable version, when a group of d has auto_revert.
func autoRevertTarget(snap *state.Snapshot, d *structs.Deployment) *structs.Job {
	for _, s := range d.TaskGroups {
		if s.AutoRevert {
			return snap.LatestStableVersion(d.Namespace, d.JobID, d.JobVersion)
		}
	}
	return nil
}

// revertJob registers version to of d's job again, provided the job is still
// at the version d deployed.
func (s *Server) revertJob(ctx context.Context, d *structs.Deployment, to *structs.Job) (jobWriteResult, error) {
	j := &jobEndpoint{srv: s}
	cur := s.state.JobByID(d.Namespace, d.JobID)
	if cur == nil || cur.Version != d.JobVersion {
		return jobWriteResult{}, structs.NewError(structs.CodeConflict, "job %q moved on from version %d: not reverting", d.JobID, d.JobVersion)
	}
	s.logger.Info("reverting job to its latest stable version", "job_id", d.JobID, "deployment_id", d.ID, "version", to.Version)
	return j.register(ctx, revertedJob(to), true, cur.JobModifyIndex, "")
}

// commit writes entry (with an evaluation of d's job when evaluate) and fills
// reply.
func (e *deploymentEndpoint) commit(ctx context.Context, d *structs.Deployment, entry *DeploymentUpdateEntry, evaluate bool,
	requestID string, reply *structs.DeploymentUpdateResponse) error {
	now := time.Now()
	entry.Time = now.UnixNano()
	if evaluate {
		if job := e.srv.state.JobByID(d.Namespace, d.JobID); job != nil {
			entry.Evals = []*structs.Evaluation{deploymentEval(job, now)}
		}
	}
	out, err := e.srv.raftApplyWrite(ctx, MsgDeploymentUpdate, entry, requestID)
	if err != nil {
		return err
	}
	reply.Index, reply.DeploymentModifyIndex = out.Index, out.Index
	reply.EvalID = out.EvalID
	if reply.EvalID == "" && len(entry.Evals) > 0 { // a bare entry (rolling upgrade)
		reply.EvalID = entry.Evals[0].ID
	}
	if reply.EvalID != "" {
		reply.EvalCreateIndex = out.Index
	}
	return nil
}

// deploymentEval is the evaluation a deployment's progress calls for.
func deploymentEval(job *structs.Job, now time.Time) *structs.Evaluation {
	e := newJobEval(job, structs.EvalTriggerDeploymentWatcher, now.UnixNano())
	e.JobModifyIndex = job.JobModifyIndex
	return e
}

func (f *FSM) applyDeploymentUpdate(a *entryApply, body []byte) error {
	var e DeploymentUpdateEntry
	if err := decodeEntry(MsgDeploymentUpdate, body, &e); err != nil {
		return err
	}
	for _, u := range e.StatusUpdates {
		if err := a.txn.UpdateDeploymentStatus(u, e.Time); err != nil {
			return err
		}
	}
	for _, p := range e.Promotions {
		if err := a.txn.PromoteDeployment(p.DeploymentID, p.Groups, e.Time); err != nil {
			return err
		}
	}
	if h := e.AllocHealth; h != nil {
		if err := a.txn.SetAllocHealth(h.DeploymentID, h.Healthy, h.Unhealthy, time.Unix(0, e.Time)); err != nil {
			return err
		}
	}
	for _, s := range e.StableVersions {
		if err := a.txn.SetJobStability(s.Namespace, s.JobID, s.Version, s.Stable); err != nil {
			return err
		}
	}
	if err := a.txn.DeleteDeployments(e.GC); err != nil {
		return err
	}
	if len(e.Evals) > 0 {
		a.evalID = e.Evals[0].ID
	}
	return a.upsertEvals(e.Evals)
}
