package server

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/orch-io/orch/server/state"
	"github.com/orch-io/orch/structs"
)

// ErrInvalidJobPrefix starts the text of every error Job.Register returns for
// a job that fails validation; the HTTP API maps it to 400.
const ErrInvalidJobPrefix = "invalid job: "

// jobEndpoint serves the "Job" RPC methods (structs/rpc.go).
type jobEndpoint struct {
	srv *Server
}

// Register canonicalizes and validates a job, then commits it with a
// job-register evaluation in one Raft entry.
func (j *jobEndpoint) Register(args *structs.JobRegisterRequest, reply *structs.JobRegisterResponse) error {
	if done, err := j.srv.forward("Job.Register", args, reply); done {
		return err
	}
	if args.Job == nil {
		return errors.New(ErrInvalidJobPrefix + "the request carries no job")
	}
	job := args.Job.Copy()
	job.Canonicalize()
	if err := validateJobForServer(job, j.srv.config.Limits); err != nil {
		return err
	}

	snap := j.srv.state.Snapshot()
	existing := snap.JobByID(job.ID)
	if args.EnforceIndex {
		if err := checkJobModifyIndex(job.ID, existing, args.JobModifyIndex); err != nil {
			return err
		}
	}

	now := time.Now().UnixNano()
	// The servers own these fields; whatever the request says is dropped.
	job.Status, job.StatusDescription = "", ""
	job.SubmitTime = now
	job.Version, job.CreateIndex, job.ModifyIndex, job.JobModifyIndex = 0, 0, 0, 0

	eval := newJobEval(job, structs.EvalTriggerJobRegister, now)
	index, err := j.srv.raftApply(MsgJobRegister, &JobRegisterEntry{Job: job, Eval: eval})
	if err != nil {
		return err
	}
	reply.EvalID = eval.ID
	reply.EvalCreateIndex = index
	reply.JobModifyIndex = index
	if stored := j.srv.state.JobByID(job.ID); stored != nil {
		reply.JobModifyIndex = stored.JobModifyIndex
	}
	reply.Index = index
	j.srv.logger.Info("job registered", "job_id", job.ID, "eval_id", eval.ID, "index", index)
	return nil
}

// checkJobModifyIndex is the check of a registration with EnforceIndex: with
// want 0 the job must not exist, otherwise the stored job's JobModifyIndex
// must be want. The error wraps structs.ErrJobModifyIndex.
func checkJobModifyIndex(id string, existing *structs.Job, want uint64) error {
	switch {
	case existing == nil && want != 0:
		return fmt.Errorf("%w %d: job %q does not exist", structs.ErrJobModifyIndex, want, id)
	case existing != nil && existing.JobModifyIndex != want:
		return fmt.Errorf("%w %d: job %q exists with index %d", structs.ErrJobModifyIndex, want, id, existing.JobModifyIndex)
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
	return structs.NewError(structs.CodeInvalid, "%s", ErrInvalidJobPrefix+strings.Join(problems, "; "))
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

// jobNotFound is the error for an unknown job; its text contains "not found"
// (structs.ErrNotFound), which the HTTP API maps to 404.
func jobNotFound(id string) error {
	return fmt.Errorf("job %q %w", id, structs.ErrNotFound)
}

// Deregister stops a job (or, with Purge, removes it) and commits a
// job-deregister evaluation with it in one Raft entry.
func (j *jobEndpoint) Deregister(args *structs.JobDeregisterRequest, reply *structs.JobDeregisterResponse) error {
	if done, err := j.srv.forward("Job.Deregister", args, reply); done {
		return err
	}
	if args.JobID == "" {
		return errors.New("job deregister: job ID is empty")
	}
	job := j.srv.state.JobByID(args.JobID)
	if job == nil {
		return jobNotFound(args.JobID)
	}
	eval := newJobEval(job, structs.EvalTriggerJobDeregister, time.Now().UnixNano())
	index, err := j.srv.raftApply(MsgJobDeregister, &JobDeregisterEntry{JobID: args.JobID, Purge: args.Purge, Eval: eval})
	if err != nil {
		return err
	}
	reply.EvalID = eval.ID
	reply.EvalCreateIndex = index
	reply.JobModifyIndex = index
	if stored := j.srv.state.JobByID(args.JobID); stored != nil {
		reply.JobModifyIndex = stored.JobModifyIndex
	}
	reply.Index = index
	j.srv.logger.Info("job deregistered", "job_id", args.JobID, "purge", args.Purge, "eval_id", eval.ID, "index", index)
	return nil
}

// GetJob returns one job, nil when it does not exist.
func (j *jobEndpoint) GetJob(args *structs.JobSpecificRequest, reply *structs.SingleJobResponse) error {
	if done, err := j.srv.forward("Job.GetJob", args, reply); done {
		return err
	}
	return j.srv.blockingQuery(&args.QueryOptions, &reply.QueryMeta, func(snap *state.Snapshot) (uint64, error) {
		reply.Job = snap.JobByID(args.JobID)
		return snap.Index(state.TableJobs), nil
	})
}

// List returns the summaries of the jobs whose ID starts with Prefix.
func (j *jobEndpoint) List(args *structs.JobListRequest, reply *structs.JobListResponse) error {
	if done, err := j.srv.forward("Job.List", args, reply); done {
		return err
	}
	return j.srv.blockingQuery(&args.QueryOptions, &reply.QueryMeta, func(snap *state.Snapshot) (uint64, error) {
		jobs := snap.Jobs(args.Prefix)
		reply.Jobs = make([]*structs.JobListStub, 0, len(jobs))
		for _, job := range jobs {
			reply.Jobs = append(reply.Jobs, job.Stub())
		}
		return snap.Index(state.TableJobs), nil
	})
}

// Allocations returns the summaries of a job's allocations.
func (j *jobEndpoint) Allocations(args *structs.JobSpecificRequest, reply *structs.JobAllocationsResponse) error {
	if done, err := j.srv.forward("Job.Allocations", args, reply); done {
		return err
	}
	return j.srv.blockingQuery(&args.QueryOptions, &reply.QueryMeta, func(snap *state.Snapshot) (uint64, error) {
		allocs := snap.AllocsByJob(args.JobID)
		reply.Allocations = make([]*structs.AllocListStub, 0, len(allocs))
		for _, a := range allocs {
			reply.Allocations = append(reply.Allocations, a.Stub())
		}
		return snap.Index(state.TableAllocs), nil
	})
}

// Evaluations returns a job's evaluations.
func (j *jobEndpoint) Evaluations(args *structs.JobSpecificRequest, reply *structs.JobEvaluationsResponse) error {
	if done, err := j.srv.forward("Job.Evaluations", args, reply); done {
		return err
	}
	return j.srv.blockingQuery(&args.QueryOptions, &reply.QueryMeta, func(snap *state.Snapshot) (uint64, error) {
		reply.Evaluations = snap.EvalsByJob(args.JobID)
		return snap.Index(state.TableEvals), nil
	})
}
