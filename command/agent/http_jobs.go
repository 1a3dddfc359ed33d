package agent

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/jobspec"
	"github.com/orch-io/orch/structs"
)

// maxJobBody bounds the body of a job registration.
const maxJobBody = 8 << 20

// jobRegister is PUT/POST /v1/jobs and PUT/POST /v1/job/:id → Job.Register.
func (s *HTTPServer) jobRegister(r *http.Request) (any, error) {
	var body api.JobRegisterRequest
	job, err := decodeJobBody(r.Body, &body)
	if err != nil {
		return nil, err
	}
	if pathID := r.PathValue("id"); pathID != "" && pathID != job.ID {
		return nil, badRequest("job ID %q in the body does not match %q in the path", job.ID, pathID)
	}
	// The server canonicalizes and validates the job; its "invalid job: ..."
	// errors come back here as 400s.
	req := &structs.JobRegisterRequest{
		Job:            job,
		EnforceIndex:   body.EnforceIndex,
		JobModifyIndex: body.JobModifyIndex,
		WriteRequest:   jobWriteRequest(r, job, body.Namespace, body.Region),
	}
	var reply structs.JobRegisterResponse
	if err := s.backend.RPC(r.Context(), "Job.Register", req, &reply); err != nil {
		return nil, err
	}
	s.logger.Debug("job registered", "job_id", job.ID, "eval_id", reply.EvalID)
	return withMeta{body: &reply, meta: structs.QueryMeta{Index: reply.Index, KnownLeader: true}}, nil
}

// jobPlan is PUT/POST /v1/job/:id/plan → Job.Plan: a dry run of the
// registration, with body {"Job": {...}, "Diff": true}.
func (s *HTTPServer) jobPlan(r *http.Request) (any, error) {
	id, err := pathID(r, "job")
	if err != nil {
		return nil, err
	}
	var body api.JobPlanRequest
	job, err := decodeJobBody(r.Body, &body)
	if err != nil {
		return nil, err
	}
	if job.ID != id {
		return nil, badRequest("job ID %q in the body does not match %q in the path", job.ID, id)
	}
	req := &structs.JobPlanRequest{Job: job, Diff: body.Diff, WriteRequest: jobWriteRequest(r, job, body.Namespace, body.Region)}
	var reply structs.JobPlanResponse
	if err := s.backend.RPC(r.Context(), "Job.Plan", req, &reply); err != nil {
		return nil, err
	}
	return withMeta{body: &reply, meta: structs.QueryMeta{Index: reply.Index, KnownLeader: true}}, nil
}

// jobDeregister is DELETE /v1/job/:id[?purge=true] → Job.Deregister.
func (s *HTTPServer) jobDeregister(r *http.Request) (any, error) {
	id, err := pathID(r, "job")
	if err != nil {
		return nil, err
	}
	purge := false
	if v := r.URL.Query().Get("purge"); v != "" {
		switch v {
		case "true", "1":
			purge = true
		case "false", "0":
		default:
			return nil, badRequest("invalid purge %q: must be true or false", v)
		}
	}
	req := &structs.JobDeregisterRequest{JobID: id, Purge: purge, WriteRequest: writeRequest(r)}
	var reply structs.JobDeregisterResponse
	if err := s.backend.RPC(r.Context(), "Job.Deregister", req, &reply); err != nil {
		return nil, err
	}
	return withMeta{body: &reply, meta: structs.QueryMeta{Index: reply.Index, KnownLeader: true}}, nil
}

// jobList is GET /v1/jobs[?prefix=] → Job.List.
func (s *HTTPServer) jobList(r *http.Request) (any, error) {
	q, err := parseQueryOptions(r)
	if err != nil {
		return nil, err
	}
	withJobMeta, err := queryBool(r, "meta")
	if err != nil {
		return nil, err
	}
	var reply structs.JobListResponse
	if err := s.backend.RPC(r.Context(), "Job.List", &structs.JobListRequest{QueryOptions: q}, &reply); err != nil {
		return nil, err
	}
	if !withJobMeta {
		for i, j := range reply.Jobs {
			if j != nil && j.Meta != nil {
				stub := *j
				stub.Meta = nil
				reply.Jobs[i] = &stub
			}
		}
	}
	return withMeta{body: nonNil(reply.Jobs), meta: reply.QueryMeta}, nil
}

// jobGet is GET /v1/job/:id → Job.GetJob.
func (s *HTTPServer) jobGet(r *http.Request) (any, error) {
	id, q, err := idAndQuery(r, "job")
	if err != nil {
		return nil, err
	}
	var reply structs.SingleJobResponse
	if err := s.backend.RPC(r.Context(), "Job.GetJob", &structs.JobSpecificRequest{JobID: id, QueryOptions: q}, &reply); err != nil {
		return nil, err
	}
	if reply.Job == nil {
		return nil, notFound("job %q not found", id)
	}
	return withMeta{body: reply.Job, meta: reply.QueryMeta}, nil
}

// jobAllocations is GET /v1/job/:id/allocations → Job.Allocations.
func (s *HTTPServer) jobAllocations(r *http.Request) (any, error) {
	id, q, err := idAndQuery(r, "job")
	if err != nil {
		return nil, err
	}
	var reply structs.JobAllocationsResponse
	if err := s.backend.RPC(r.Context(), "Job.Allocations", &structs.JobSpecificRequest{JobID: id, QueryOptions: q}, &reply); err != nil {
		return nil, err
	}
	return withMeta{body: nonNil(reply.Allocations), meta: reply.QueryMeta}, nil
}

// jobEvaluations is GET /v1/job/:id/evaluations → Job.Evaluations.
func (s *HTTPServer) jobEvaluations(r *http.Request) (any, error) {
	id, q, err := idAndQuery(r, "job")
	if err != nil {
		return nil, err
	}
	var reply structs.JobEvaluationsResponse
	if err := s.backend.RPC(r.Context(), "Job.Evaluations", &structs.JobSpecificRequest{JobID: id, QueryOptions: q}, &reply); err != nil {
		return nil, err
	}
	return withMeta{body: nonNil(reply.Evaluations), meta: reply.QueryMeta}, nil
}

// writeRequest reads the write parameters (?region=, ?namespace=) and the
// request ID (see requestID).
func writeRequest(r *http.Request) structs.WriteRequest {
	q := r.URL.Query()
	return structs.WriteRequest{Region: q.Get("region"), Namespace: q.Get("namespace"), RequestID: requestID(r)}
}

// jobWriteRequest is the write request of a job's registration or plan, as
// Nomad decides it: the namespace is ?namespace= (the CLI's -namespace),
// else the body's, else the job's own, else "default", and the job is put
// in it; the region is ?region=, else the body's, else the job's (the
// servers refuse one that is not theirs).
func jobWriteRequest(r *http.Request, job *structs.Job, bodyNamespace, bodyRegion string) structs.WriteRequest {
	wr := writeRequest(r)
	ns := cmp.Or(wr.Namespace, bodyNamespace, job.Namespace, structs.DefaultNamespace)
	job.Namespace, wr.Namespace = ns, ns
	if region := cmp.Or(wr.Region, bodyRegion); region != "" && region != "global" {
		job.Region = region
	}
	wr.Region = cmp.Or(wr.Region, bodyRegion)
	return wr
}

// idAndQuery reads the {id} path value and the query options of a read.
func idAndQuery(r *http.Request, what string) (string, structs.QueryOptions, error) {
	id, err := pathID(r, what)
	if err != nil {
		return "", structs.QueryOptions{}, err
	}
	q, err := parseQueryOptions(r)
	return id, q, err
}

// nonNil makes a nil list encode as [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// decodeJobBody reads a registration or plan body (body: an
// *api.JobRegisterRequest or *api.JobPlanRequest) strictly (jobspec.DecodeJSON:
// an unknown field anywhere is an error naming its path), refuses the fields
// of Nomad's JSON orch does not act on (api.CheckSupported) and returns the
// job as orch's, with the API's defaults (api.JobToStructs: a group without
// Count runs one instance). Every error is a 400 (413 when too large) whose
// message says where the body is wrong.
func decodeJobBody(r io.Reader, body any) (*structs.Job, error) {
	raw, err := io.ReadAll(io.LimitReader(r, maxJobBody+1))
	var tooLarge *http.MaxBytesError
	if err != nil && !errors.As(err, &tooLarge) {
		return nil, badRequest("reading the request body: %v", err)
	}
	if len(raw) > maxJobBody || tooLarge != nil {
		return nil, &httpError{code: http.StatusRequestEntityTooLarge,
			msg: fmt.Sprintf("request body larger than %d bytes", maxJobBody)}
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, badRequest(`empty request body: expected {"Job": {...}}`)
	}
	if err := jobspec.DecodeJSON(raw, body); err != nil {
		return nil, jsonBodyError(err)
	}
	var wire *api.Job
	switch b := body.(type) {
	case *api.JobRegisterRequest:
		wire = b.Job
	case *api.JobPlanRequest:
		wire = b.Job
	case *api.JobValidateRequest:
		wire = b.Job
	default:
		panic(fmt.Sprintf("agent: decodeJobBody: unexpected body type %T", body))
	}
	if wire == nil {
		return nil, badRequest(`invalid request body: missing "Job": expected {"Job": {...}}`)
	}
	if err := api.CheckSupported("", body); err != nil {
		return nil, badRequest("invalid job: %v", err)
	}
	return api.JobToStructs(wire), nil
}

// jsonBodyError words a decoding error of a request body: syntax errors as
// the JSON's, type errors and unknown fields as the job's (the user's
// mistake in a field), each with its line, column and path.
func jsonBodyError(err error) error {
	var je *jobspec.JSONError
	if !errors.As(err, &je) {
		return badRequest("invalid JSON body: %v", err)
	}
	switch je.Kind {
	case jobspec.JSONType, jobspec.JSONUnknownField:
		where := je.Path
		if je.Value != "" {
			where += " = " + je.Value
		}
		return badRequest("invalid job: %s at line %d, column %d: %s", where, je.Line, je.Column, je.Rule)
	}
	return badRequest("invalid JSON body at line %d, column %d: %s", je.Line, je.Column, je.Rule)
}

// jobSummary is GET /v1/job/:id/summary → Job.Summary.
func (s *HTTPServer) jobSummary(r *http.Request) (any, error) {
	id, q, err := idAndQuery(r, "job")
	if err != nil {
		return nil, err
	}
	var reply structs.JobSummaryResponse
	if err := s.backend.RPC(r.Context(), "Job.Summary", &structs.JobSpecificRequest{JobID: id, QueryOptions: q}, &reply); err != nil {
		return nil, err
	}
	if reply.JobSummary == nil {
		return nil, notFound("job %q not found", id)
	}
	return withMeta{body: reply.JobSummary, meta: reply.QueryMeta}, nil
}
