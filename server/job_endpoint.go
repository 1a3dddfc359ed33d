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
	// The job's namespace is the request's when the job names none; a job
	// that names another than the request is refused (the HTTP API gives
	// both the same: ?namespace=, else the body's, else the job's).
	switch {
	case job.Namespace == "":
		job.Namespace = args.Namespace
	case args.Namespace != "" && args.Namespace != job.Namespace:
		return structs.NewError(structs.CodeInvalid, "%sjob namespace %q differs from the request's namespace %q", ErrInvalidJobPrefix, job.Namespace, args.Namespace)
	}
	if err := j.srv.checkJobRegion(job); err != nil {
		return err
	}
	job.Canonicalize()
	if err := validateJobForServer(job, j.srv.config.Limits); err != nil {
		return err
	}
	if err := requireNamespace(j.srv.state.Snapshot(), job.Namespace); err != nil {
		return err
	}
	return j.registerOnce(ctx, job, args.EnforceIndex, args.JobModifyIndex, args.RequestID, reply)
}

// registerOnce registers job as the write requestID names (see register) and
// fills reply. A retry of a write that already committed is answered from
// its recorded outcome and registers nothing again. Register and Scale call
// it.
func (j *jobEndpoint) registerOnce(ctx context.Context, job *structs.Job, enforce bool, jobModifyIndex uint64,
	requestID string, reply *structs.JobRegisterResponse) error {
	if first, err := j.srv.recordedOutcome(MsgJobRegister, requestID); first != nil || err != nil {
		if err != nil {
			return err
		}
		r := j.jobWriteReply(first, "", job.Namespace, job.ID)
		reply.EvalID, reply.EvalCreateIndex, reply.JobModifyIndex, reply.Index = r.evalID, r.index, r.jobModifyIndex, r.index
		return nil
	}
	r, err := j.register(ctx, job, enforce, jobModifyIndex, requestID)
	if err != nil {
		return err
	}
	reply.EvalID, reply.EvalCreateIndex, reply.JobModifyIndex, reply.Index = r.evalID, r.index, r.jobModifyIndex, r.index
	reply.Warnings = jobWarnings(job, j.srv.state.SchedulerConfig())
	return nil
}

// register commits a canonicalized, valid job with a job-register
// evaluation in one Raft entry; with enforce, only if the stored job's
// JobModifyIndex is jobModifyIndex (0: the job must not exist). Register and
// Revert call it.
func (j *jobEndpoint) register(ctx context.Context, job *structs.Job, enforce bool, jobModifyIndex uint64, requestID string) (jobWriteResult, error) {
	entry := &JobRegisterEntry{}
	if enforce {
		// A fast answer for a stale index; the decisive check is the FSM's,
		// in the transaction that writes the job.
		if err := checkJobModifyIndex(job.ID, j.srv.state.JobByID(job.Namespace, job.ID), jobModifyIndex); err != nil {
			return jobWriteResult{}, err
		}
		entry.EnforceIndex, entry.JobModifyIndex = true, jobModifyIndex
	}

	now := j.srv.config.Clock.Now().UnixNano()
	// The servers own these fields; whatever the request says is dropped.
	job.Status, job.StatusDescription = "", ""
	job.SubmitTime = now
	job.Version, job.Stable, job.CreateIndex, job.ModifyIndex, job.JobModifyIndex = 0, false, 0, 0, 0

	entry.Job, entry.Eval = job, newJobEval(job, structs.EvalTriggerJobRegister, now)
	entry.Eval.RequestID = requestID
	out, err := j.srv.raftApplyWrite(ctx, MsgJobRegister, entry, requestID)
	if err != nil {
		return jobWriteResult{}, err
	}
	r := j.jobWriteReply(out, entry.Eval.ID, job.Namespace, job.ID)
	j.srv.logger.Info("job registered", "job_id", job.ID, "namespace", job.Namespace, "eval_id", r.evalID, "index", r.index, "request_id", requestID)
	return r, nil
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
func (j *jobEndpoint) jobWriteReply(o *state.RequestOutcome, evalID, namespace, jobID string) jobWriteResult {
	r := jobWriteResult{evalID: o.EvalID, index: o.Index, jobModifyIndex: o.JobModifyIndex}
	if r.evalID == "" {
		r.evalID, r.jobModifyIndex = evalID, o.Index
		if stored := j.srv.state.JobByID(structs.NamespaceOr(namespace), jobID); stored != nil {
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

// jobNotFound is the error for an unknown job of a namespace.
func jobNotFound(namespace, id string) error {
	if namespace == "" || namespace == structs.DefaultNamespace {
		return structs.NewError(structs.CodeNotFound, "job %q not found", id)
	}
	return structs.NewError(structs.CodeNotFound, "job %q not found in namespace %q", id, namespace)
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
	ns := structs.NamespaceOr(args.Namespace)
	if err := requireNamespace(j.srv.state.Snapshot(), ns); err != nil {
		return err
	}
	// A retry of a deregister that applied finds the job gone (purged):
	// the first outcome answers it.
	first, err := j.srv.recordedOutcome(MsgJobDeregister, args.RequestID)
	if err != nil {
		return err
	}
	var r jobWriteResult
	if first != nil {
		r = j.jobWriteReply(first, "", ns, args.JobID)
	} else {
		job := j.srv.state.JobByID(ns, args.JobID)
		if job == nil {
			return jobNotFound(ns, args.JobID)
		}
		eval := newJobEval(job, structs.EvalTriggerJobDeregister, time.Now().UnixNano())
		eval.RequestID = args.RequestID
		out, err := j.srv.raftApplyWrite(ctx, MsgJobDeregister,
			&JobDeregisterEntry{Namespace: ns, JobID: args.JobID, Purge: args.Purge, Eval: eval}, args.RequestID)
		if err != nil {
			return err
		}
		r = j.jobWriteReply(out, eval.ID, ns, args.JobID)
		j.srv.logger.Info("job deregistered", "job_id", args.JobID, "namespace", ns, "purge", args.Purge, "eval_id", r.evalID, "index", r.index, "request_id", args.RequestID)
	}
	reply.EvalID, reply.EvalCreateIndex, reply.JobModifyIndex, reply.Index = r.evalID, r.index, r.jobModifyIndex, r.index
	return nil
}

// GetJob returns one job, nil when it does not exist.
func (j *jobEndpoint) GetJob(ctx context.Context, args *structs.JobSpecificRequest, reply *structs.SingleJobResponse) error {
	if done, err := j.srv.forward(ctx, "Job.GetJob", args, reply); done {
		return err
	}
	return j.srv.namespacedQuery(ctx, &args.QueryOptions, &reply.QueryMeta, func(snap *state.Snapshot, ns string) (uint64, error) {
		reply.Job = snap.JobByID(ns, args.JobID)
		return snap.IndexUnwatched(state.TableJobs), nil
	})
}

// List returns the summaries of the jobs of the request's namespace (of
// every namespace with "*") whose ID starts with Prefix.
func (j *jobEndpoint) List(ctx context.Context, args *structs.JobListRequest, reply *structs.JobListResponse) error {
	if done, err := j.srv.forward(ctx, "Job.List", args, reply); done {
		return err
	}
	return j.srv.namespacedQuery(ctx, &args.QueryOptions, &reply.QueryMeta, func(snap *state.Snapshot, ns string) (uint64, error) {
		jobs := snap.Jobs(ns, args.Prefix)
		reply.Jobs = make([]*structs.JobListStub, 0, len(jobs))
		for _, job := range jobs {
			stub := job.Stub()
			stub.JobSummary = summarizeJob(snap, job)
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
	return j.srv.namespacedQuery(ctx, &args.QueryOptions, &reply.QueryMeta, func(snap *state.Snapshot, ns string) (uint64, error) {
		reply.JobSummary = nil
		if job := snap.JobByID(ns, args.JobID); job != nil {
			reply.JobSummary = summarizeJob(snap, job)
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
	return j.srv.namespacedQuery(ctx, &args.QueryOptions, &reply.QueryMeta, func(snap *state.Snapshot, ns string) (uint64, error) {
		reply.Allocations = stubs(snap.AllocsByJob(ns, args.JobID))
		return snap.IndexUnwatched(state.TableAllocs), nil
	})
}

// Evaluations returns a job's evaluations.
func (j *jobEndpoint) Evaluations(ctx context.Context, args *structs.JobSpecificRequest, reply *structs.JobEvaluationsResponse) error {
	if done, err := j.srv.forward(ctx, "Job.Evaluations", args, reply); done {
		return err
	}
	return j.srv.namespacedQuery(ctx, &args.QueryOptions, &reply.QueryMeta, func(snap *state.Snapshot, ns string) (uint64, error) {
		reply.Evaluations = snap.EvalsByJob(ns, args.JobID)
		return snap.IndexUnwatched(state.TableEvals), nil
	})
}

// summarizeJob is the job's summary, its children counted when it is a parent.
func summarizeJob(snap *state.Snapshot, job *structs.Job) *structs.JobSummary {
	sum := structs.SummarizeJob(job, snap.AllocsByJob(job.Namespace, job.ID), snap.EvalsByJob(job.Namespace, job.ID))
	if job.IsParent() {
		sum.Children = structs.CountChildren(snap.ChildJobs(job.Namespace, job.ID))
	}
	return sum
}
