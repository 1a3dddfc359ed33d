package server

import (
	"context"

	"github.com/orch-io/orch/structs"
)

// Scale sets the count of one group of a job and registers the job again
// with that change alone (and a job-register evaluation), checked against
// args.JobModifyIndex or, when 0, the job's current one. A token with
// scale-job may call it without submit-job (acl_rpc.go), so it takes no job
// from the caller: only a group name and a count.
func (j *jobEndpoint) Scale(ctx context.Context, args *structs.JobScaleRequest, reply *structs.JobRegisterResponse) error {
	if done, err := j.srv.forward(ctx, "Job.Scale", args, reply); done {
		return err
	}
	ns := structs.NamespaceOr(args.Namespace)
	if args.Count < 0 {
		return structs.NewError(structs.CodeInvalid, "Count = %d: must be >= 0", args.Count)
	}
	existing := j.srv.state.JobByID(ns, args.JobID)
	switch {
	case existing == nil:
		return jobNotFound(ns, args.JobID)
	case existing.Stop:
		return structs.NewError(structs.CodeConflict, "job %q is stopped: run it again before scaling it", args.JobID)
	case existing.LookupTaskGroup(args.Group) == nil:
		return structs.NewError(structs.CodeInvalid, "Target.Group = %q: job %q has no such group", args.Group, args.JobID)
	}
	enforce := existing.JobModifyIndex
	if args.JobModifyIndex != 0 {
		enforce = args.JobModifyIndex
	}
	job := existing.Copy()
	job.LookupTaskGroup(args.Group).Count = args.Count
	job.Canonicalize()
	if err := validateJobForServer(job, j.srv.config.Limits); err != nil {
		return err
	}
	return j.registerOnce(ctx, job, true, enforce, args.RequestID, reply)
}
