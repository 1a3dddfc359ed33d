package server

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/orch-io/orch/server/state"
	"github.com/orch-io/orch/structs"
)

// ErrInvalidJobPrefix starts the text of every error Job.Register returns for
// a job that fails validation (code structs.CodeInvalid), for the reader.
const ErrInvalidJobPrefix = "invalid job: "

// jobEndpoint serves the "Job" RPC methods (structs/rpc.go).
type jobEndpoint struct {
	srv *Server
}

// Register canonicalizes and validates a job, then commits it with a
// job-register evaluation in one Raft entry.
func (j *jobEndpoint) Register(ctx context.Context, args *structs.JobRegisterRequest, reply *structs.JobRegisterResponse) error {
	if done, err := j.srv.forward(ctx, "Job.Register", args, reply); done {
		return err
	}
	if args.Job == nil {
		return structs.NewError(structs.CodeInvalid, "%sthe request carries no job", ErrInvalidJobPrefix)
	}
	job := args.Job.Copy()
	job.Canonicalize()
	if err := validateJobForServer(job, j.srv.config.Limits); err != nil {
		return err
	}
	if first, err := j.srv.recordedOutcome(MsgJobRegister, args.RequestID); first != nil || err != nil {
		if err != nil {
			return err
		}
		r := j.jobWriteReply(first, "", job.ID)
		reply.EvalID, reply.EvalCreateIndex, reply.JobModifyIndex, reply.Index = r.evalID, r.index, r.jobModifyIndex, r.index
		return nil
	}

	entry := &JobRegisterEntry{}
	if args.EnforceIndex {
		// A fast answer for a stale index; the decisive check is the FSM's,
		// in the transaction that writes the job.
		if err := checkJobModifyIndex(job.ID, j.srv.state.JobByID(job.ID), args.JobModifyIndex); err != nil {
			return err
		}
		entry.EnforceIndex, entry.JobModifyIndex = true, args.JobModifyIndex
	}

	now := time.Now().UnixNano()
	// The servers own these fields; whatever the request says is dropped.
	job.Status, job.StatusDescription = "", ""
	job.SubmitTime = now
	job.Version, job.CreateIndex, job.ModifyIndex, job.JobModifyIndex = 0, 0, 0, 0

	entry.Job, entry.Eval = job, newJobEval(job, structs.EvalTriggerJobRegister, now)
	out, err := j.srv.raftApplyWrite(ctx, MsgJobRegister, entry, args.RequestID)
	if err != nil {
		return err
	}
	r := j.jobWriteReply(out, entry.Eval.ID, job.ID)
	reply.EvalID, reply.EvalCreateIndex, reply.JobModifyIndex, reply.Index = r.evalID, r.index, r.jobModifyIndex, r.index
	j.srv.logger.Info("job registered", "job_id", job.ID, "eval_id", r.evalID, "index", r.index, "request_id", args.RequestID)
	return nil
}

// jobWriteResult is the reply of a job register or deregister.
type jobWriteResult struct {
	evalID         string
	index          uint64 // of the entry, which also created the eval
	jobModifyIndex uint64
}

// jobWriteReply is the reply of a job write whose outcome is o. An outcome
// without an eval ID is that of a bare entry (raftApplyWrite, during a
// rolling upgrade): its eval is evalID, and the job's modify index is read
// from the state, as before request IDs.
func (j *jobEndpoint) jobWriteReply(o *state.RequestOutcome, evalID, jobID string) jobWriteResult {
	r := jobWriteResult{evalID: o.EvalID, index: o.Index, jobModifyIndex: o.JobModifyIndex}
	if r.evalID == "" {
		r.evalID, r.jobModifyIndex = evalID, o.Index
		if stored := j.srv.state.JobByID(jobID); stored != nil {
			r.jobModifyIndex = stored.JobModifyIndex
		}
	}
	return r
}

// checkJobModifyIndex is the check of a registration with EnforceIndex: with
// want 0 the job must not exist, otherwise the stored job's JobModifyIndex
// must be want. The error has code structs.CodeConflict. The FSM calls it in
// the transaction of the entry (JobRegisterEntry.EnforceIndex); Register,
// before, for a fast error.
func checkJobModifyIndex(id string, existing *structs.Job, want uint64) error {
	switch {
	case existing == nil && want != 0:
		return structs.NewError(structs.CodeConflict, "enforcing job modify index %d: job %q does not exist", want, id)
	case existing != nil && existing.JobModifyIndex != want:
		return structs.NewError(structs.CodeConflict, "enforcing job modify index %d: job %q exists with index %d", want, id, existing.JobModifyIndex)
	}
	return nil
}

// validateJobForServer runs the job's own validation within the server's
// limits and, for a job that passes it, checks what this server needs: a
// scheduler for the job's type and an ID. Every problem is reported, behind
// ErrInvalidJobPrefix, separated by "; ", in an error of code CodeInvalid.
func validateJobForServer(job *structs.Job, limits structs.Limits) error {
	var problems []string
	if err := job.ValidateWithLimits(limits); err != nil {
		problems = flattenErrors(err)
	} else {
		if job.ID == "" {
			problems = append(problems, `id = "": must not be empty`)
		}
		switch job.Type {
		case structs.JobTypeService, structs.JobTypeBatch, structs.JobTypeSystem, structs.JobTypeSysBatch:
		default:
			problems = append(problems, fmt.Sprintf("type = %q: this server has no scheduler for it (use %q, %q, %q or %q)",
				job.Type, structs.JobTypeService, structs.JobTypeBatch, structs.JobTypeSystem, structs.JobTypeSysBatch))
		}
	}
	if len(problems) == 0 {
		return nil
	}
	return structs.NewError(structs.CodeInvalid, "%s%s", ErrInvalidJobPrefix, strings.Join(problems, "; "))
}

// flattenErrors lists the messages of an errors.Join tree, leaves only.
func flattenErrors(err error) []string {
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		var out []string
		for _, e := range joined.Unwrap() {
			out = append(out, flattenErrors(e)...)
		}
		return out
	}
	return []string{err.Error()}
}

// newJobEval returns a pending evaluation of job.
func newJobEval(job *structs.Job, trigger string, now int64) *structs.Evaluation {
	return &structs.Evaluation{
		ID:          structs.GenerateUUID(),
		Namespace:   job.Namespace,
		Priority:    job.Priority,
		Type:        job.Type,
		TriggeredBy: trigger,
		JobID:       job.ID,
		Status:      structs.EvalStatusPending,
		CreateTime:  now,
		ModifyTime:  now,
	}
}

// jobNotFound is the error for an unknown job.
func jobNotFound(id string) error {
	return structs.NewError(structs.CodeNotFound, "job %q not found", id)
}

// Deregister stops a job (or, with Purge, removes it) and commits a
// job-deregister evaluation with it in one Raft entry.
func (j *jobEndpoint) Deregister(ctx context.Context, args *structs.JobDeregisterRequest, reply *structs.JobDeregisterResponse) error {
	if done, err := j.srv.forward(ctx, "Job.Deregister", args, reply); done {
		return err
	}
	if args.JobID == "" {
		return structs.NewError(structs.CodeInvalid, "job deregister: job ID is empty")
	}
	// A retry of a deregister that applied finds the job gone (purged):
	// the first outcome answers it.
	first, err := j.srv.recordedOutcome(MsgJobDeregister, args.RequestID)
	if err != nil {
		return err
	}
	var r jobWriteResult
	if first != nil {
		r = j.jobWriteReply(first, "", args.JobID)
	} else {
		job := j.srv.state.JobByID(args.JobID)
		if job == nil {
			return jobNotFound(args.JobID)
		}
		eval := newJobEval(job, structs.EvalTriggerJobDeregister, time.Now().UnixNano())
		out, err := j.srv.raftApplyWrite(ctx, MsgJobDeregister,
			&JobDeregisterEntry{JobID: args.JobID, Purge: args.Purge, Eval: eval}, args.RequestID)
		if err != nil {
			return err
		}
		r = j.jobWriteReply(out, eval.ID, args.JobID)
		j.srv.logger.Info("job deregistered", "job_id", args.JobID, "purge", args.Purge, "eval_id", r.evalID, "index", r.index, "request_id", args.RequestID)
	}
	reply.EvalID, reply.EvalCreateIndex, reply.JobModifyIndex, reply.Index = r.evalID, r.index, r.jobModifyIndex, r.index
	return nil
}

// GetJob returns one job, nil when it does not exist.
func (j *jobEndpoint) GetJob(ctx context.Context, args *structs.JobSpecificRequest, reply *structs.SingleJobResponse) error {
	if done, err := j.srv.forward(ctx, "Job.GetJob", args, reply); done {
		return err
	}
	return j.srv.blockingQuery(ctx, &args.QueryOptions, &reply.QueryMeta, func(snap *state.Snapshot) (uint64, error) {
		reply.Job = snap.JobByID(args.JobID)
		return snap.IndexUnwatched(state.TableJobs), nil
	})
}

// List returns the summaries of the jobs whose ID starts with Prefix.
func (j *jobEndpoint) List(ctx context.Context, args *structs.JobListRequest, reply *structs.JobListResponse) error {
	if done, err := j.srv.forward(ctx, "Job.List", args, reply); done {
		return err
	}
	return j.srv.blockingQuery(ctx, &args.QueryOptions, &reply.QueryMeta, func(snap *state.Snapshot) (uint64, error) {
		jobs := snap.Jobs(args.Prefix)
		reply.Jobs = make([]*structs.JobListStub, 0, len(jobs))
		for _, job := range jobs {
			stub := job.Stub()
			stub.JobSummary = structs.SummarizeJob(job, snap.AllocsByJob(job.ID), snap.EvalsByJob(job.ID))
			reply.Jobs = append(reply.Jobs, stub)
		}
		return summaryIndex(snap), nil
	})
}

// Summary returns the summary of a job's allocations (not found when the
// job does not exist).
func (j *jobEndpoint) Summary(ctx context.Context, args *structs.JobSpecificRequest, reply *structs.JobSummaryResponse) error {
	if done, err := j.srv.forward(ctx, "Job.Summary", args, reply); done {
		return err
	}
	return j.srv.blockingQuery(ctx, &args.QueryOptions, &reply.QueryMeta, func(snap *state.Snapshot) (uint64, error) {
		reply.JobSummary = nil
		if job := snap.JobByID(args.JobID); job != nil {
			reply.JobSummary = structs.SummarizeJob(job, snap.AllocsByJob(job.ID), snap.EvalsByJob(job.ID))
		}
		return summaryIndex(snap), nil
	})
}

// summaryIndex is the index of what job summaries are derived from: the
// jobs, their allocations and their evaluations.
func summaryIndex(snap *state.Snapshot) uint64 {
	return max(snap.IndexUnwatched(state.TableJobs), snap.IndexUnwatched(state.TableAllocs), snap.IndexUnwatched(state.TableEvals))
}

// Allocations returns the summaries of a job's allocations.
func (j *jobEndpoint) Allocations(ctx context.Context, args *structs.JobSpecificRequest, reply *structs.JobAllocationsResponse) error {
	if done, err := j.srv.forward(ctx, "Job.Allocations", args, reply); done {
		return err
	}
	return j.srv.blockingQuery(ctx, &args.QueryOptions, &reply.QueryMeta, func(snap *state.Snapshot) (uint64, error) {
		reply.Allocations = stubs(snap.AllocsByJob(args.JobID))
		return snap.IndexUnwatched(state.TableAllocs), nil
	})
}

// Evaluations returns a job's evaluations.
func (j *jobEndpoint) Evaluations(ctx context.Context, args *structs.JobSpecificRequest, reply *structs.JobEvaluationsResponse) error {
	if done, err := j.srv.forward(ctx, "Job.Evaluations", args, reply); done {
		return err
	}
	return j.srv.blockingQuery(ctx, &args.QueryOptions, &reply.QueryMeta, func(snap *state.Snapshot) (uint64, error) {
		reply.Evaluations = snap.EvalsByJob(args.JobID)
		return snap.IndexUnwatched(state.TableEvals), nil
	})
}
