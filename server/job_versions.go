package server

import (
	"context"
	"fmt"

	"github.com/orch-io/orch/server/state"
	"github.com/orch-io/orch/structs"
)

// Job versions: every registration that changes a job's specification is a
// version (state/job_versions.go keeps the last ones). The endpoints below
// read them, register an old one again (revert) and mark one stable.

// GetJobVersions returns the kept versions of a job, newest first, and with
// Diffs what each changed from the one before. A blocking query.
func (j *jobEndpoint) GetJobVersions(ctx context.Context, args *structs.JobVersionsRequest, reply *structs.JobVersionsResponse) error {
	if done, err := j.srv.forward(ctx, "Job.GetJobVersions", args, reply); done {
		return err
	}
	return j.srv.namespacedQuery(ctx, &args.QueryOptions, &reply.QueryMeta, func(snap *state.Snapshot, ns string) (uint64, error) {
		reply.Versions, reply.Diffs = snap.JobVersions(ns, args.JobID), nil
		if args.Diffs {
			for i := 0; i+1 < len(reply.Versions); i++ {
				d, err := structs.DiffJobs(reply.Versions[i+1], reply.Versions[i])
				if err != nil {
					return 0, err
				}
				reply.Diffs = append(reply.Diffs, d)
			}
		}
		return snap.IndexUnwatched(state.TableJobVersions), nil
	})
}

// Revert registers a kept version of a job again: the job's current
// specification becomes that version's, as a new version (which deploys
// like any other). Reverting to the current version is an error.
func (j *jobEndpoint) Revert(ctx context.Context, args *structs.JobRevertRequest, reply *structs.JobRegisterResponse) error {
	if done, err := j.srv.forward(ctx, "Job.Revert", args, reply); done {
		return err
	}
	if first, err := j.srv.recordedOutcome(MsgJobRegister, args.RequestID); first != nil || err != nil {
		if err != nil {
			return err
		}
		r := j.jobWriteReply(first, "", args.Namespace, args.JobID)
		reply.EvalID, reply.EvalCreateIndex, reply.JobModifyIndex, reply.Index = r.evalID, r.index, r.jobModifyIndex, r.index
		return nil
	}
	snap := j.srv.state.Snapshot()
	ns := structs.NamespaceOr(args.Namespace)
	if err := requireNamespace(snap, ns); err != nil {
		return err
	}
	cur := snap.JobByID(ns, args.JobID)
	if cur == nil {
		return jobNotFound(ns, args.JobID)
	}
	if args.EnforcePriorVersion != nil && cur.Version != *args.EnforcePriorVersion {
		return structs.NewError(structs.CodeConflict, "job %q is at version %d, not %d (enforce prior version)",
			args.JobID, cur.Version, *args.EnforcePriorVersion)
	}
	if args.JobVersion == cur.Version {
		return structs.NewError(structs.CodeInvalid, "job %q is already at version %d: there is nothing to revert", args.JobID, cur.Version)
	}
	old := snap.JobByIDAndVersion(ns, args.JobID, args.JobVersion)
	if old == nil {
		return structs.NewError(structs.CodeNotFound, "job %q has no version %d (only the last %d are kept)",
			args.JobID, args.JobVersion, state.JobTrackedVersions)
	}
	r, err := j.register(ctx, revertedJob(old), true, cur.JobModifyIndex, args.RequestID)
	if err != nil {
		return err
	}
	reply.EvalID, reply.EvalCreateIndex, reply.JobModifyIndex, reply.Index = r.evalID, r.index, r.jobModifyIndex, r.index
	return nil
}

// revertedJob is the registration that brings a job back to the
// specification of old: a copy, running (a version of a stopped job is
// stopped too, and reverting to it would stop nothing new).
func revertedJob(old *structs.Job) *structs.Job {
	job := old.Copy()
	job.Stop = false
	return job
}

// Stable marks a kept version of a job stable or not (the deployment watcher
// does it when a deployment succeeds; operators may too).
func (j *jobEndpoint) Stable(ctx context.Context, args *structs.JobStabilityRequest, reply *structs.JobStabilityResponse) error {
	if done, err := j.srv.forward(ctx, "Job.Stable", args, reply); done {
		return err
	}
	// A fast answer for an unknown job; the FSM checks the version again.
	ns := structs.NamespaceOr(args.Namespace)
	if err := requireNamespace(j.srv.state.Snapshot(), ns); err != nil {
		return err
	}
	if j.srv.state.JobByID(ns, args.JobID) == nil {
		return jobNotFound(ns, args.JobID)
	}
	out, err := j.srv.raftApplyWrite(ctx, MsgJobStability,
		&JobStabilityEntry{Namespace: ns, JobID: args.JobID, Version: args.JobVersion, Stable: args.Stable}, args.RequestID)
	if err != nil {
		return err
	}
	reply.Index = out.Index
	return nil
}

func (f *FSM) applyJobStability(a *entryApply, body []byte) error {
	var e JobStabilityEntry
	if err := decodeEntry(MsgJobStability, body, &e); err != nil {
		return err
	}
	if err := a.txn.SetJobStability(e.Namespace, e.JobID, e.Version, e.Stable); err != nil {
		return fmt.Errorf("server: JobStability entry at index %d: %w", a.index, err)
	}
	return nil
}
