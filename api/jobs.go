package api

import (
	"net/http"
	"net/url"

	"github.com/orch-io/orch/structs"
)

// Jobs is the /v1/jobs and /v1/job/:id endpoints.
type Jobs struct{ c *Client }

// Jobs returns the job endpoints.
func (c *Client) Jobs() *Jobs { return &Jobs{c: c} }

// Register creates or updates job (PUT /v1/jobs) and returns the evaluation
// the registration created. A job the agent finds invalid is an *Error with
// status 400 whose message says what is wrong.
func (j *Jobs) Register(job *structs.Job) (*structs.JobRegisterResponse, error) {
	return j.RegisterOpts(job, nil)
}

// RegisterOptions are the optional parameters of a registration.
type RegisterOptions struct {
	// EnforceIndex: register only if the job's JobModifyIndex is still
	// ModifyIndex (0: only if the job does not exist yet). A job that changed
	// in between is an *Error with status 409.
	EnforceIndex bool
	ModifyIndex  uint64
	// TraceParent, when set, is sent as the W3C traceparent header: agents
	// that trace (telemetry.otlp_endpoint) record the registration and
	// everything it causes in that trace.
	TraceParent string
}

// RegisterOpts is Register with options; nil opts is Register.
func (j *Jobs) RegisterOpts(job *structs.Job, opts *RegisterOptions) (*structs.JobRegisterResponse, error) {
	var out JobRegisterResponse
	body := &JobRegisterRequest{Job: JobFromStructs(job)}
	if opts != nil && opts.EnforceIndex {
		body.EnforceIndex = true
		body.JobModifyIndex = opts.ModifyIndex
	}
	var hdr http.Header
	if opts != nil && opts.TraceParent != "" {
		hdr = http.Header{HeaderTraceParent: {opts.TraceParent}}
	}
	if err := j.c.writeHeader(http.MethodPut, "/v1/jobs", jobNamespaceParam(job), body, &out, hdr); err != nil {
		return nil, err
	}
	return &structs.JobRegisterResponse{EvalID: out.EvalID, EvalCreateIndex: out.EvalCreateIndex,
		JobModifyIndex: out.JobModifyIndex, Warnings: out.Warnings, WriteMeta: structs.WriteMeta{Index: out.Index}}, nil
}

// jobNamespaceParam is ?namespace= of the job's namespace, as Nomad's
// client sends it: with ACLs the agent checks the token's submit-job
// capability in it before the servers check it in the job's.
func jobNamespaceParam(job *structs.Job) url.Values {
	if job == nil || job.Namespace == "" {
		return nil
	}
	return url.Values{"namespace": {job.Namespace}}
}

// Plan asks what registering job would change, without changing anything
// (PUT /v1/job/:id/plan); with diff the answer carries the field-level diff
// against the stored job.
func (j *Jobs) Plan(job *structs.Job, diff bool) (*structs.JobPlanResponse, error) {
	path, err := idPath("/v1/job/", "job", job.ID)
	if err != nil {
		return nil, err
	}
	var out JobPlanResponse
	body := &JobPlanRequest{Job: JobFromStructs(job), Diff: diff}
	if err := j.c.write(http.MethodPut, path+"/plan", jobNamespaceParam(job), body, &out); err != nil {
		return nil, err
	}
	return PlanToStructs(&out), nil
}

// List returns the jobs, sorted by ID; q.Prefix filters by ID prefix.
func (j *Jobs) List(q *QueryOptions) ([]*structs.JobListStub, *QueryMeta, error) {
	var out []*JobListStub
	meta, err := j.c.query("/v1/jobs", q, &out)
	return mapList(out, JobStubToStructs), meta, err
}

// Info returns the job with exactly this ID (404 *Error when there is none).
func (j *Jobs) Info(id string, q *QueryOptions) (*structs.Job, *QueryMeta, error) {
	path, err := idPath("/v1/job/", "job", id)
	if err != nil {
		return nil, nil, err
	}
	var out Job
	meta, err := j.c.query(path, q, &out)
	if err != nil {
		return nil, nil, err
	}
	return JobToStructs(&out), meta, nil
}

// Deregister stops the job (DELETE /v1/job/:id); purge also removes it. It
// returns the evaluation that stops the job's allocations.
func (j *Jobs) Deregister(id string, purge bool) (*structs.JobDeregisterResponse, error) {
	path, err := idPath("/v1/job/", "job", id)
	if err != nil {
		return nil, err
	}
	params := url.Values{}
	if purge {
		params.Set("purge", "true")
	}
	var out JobDeregisterResponse
	if err := j.c.write(http.MethodDelete, path, params, nil, &out); err != nil {
		return nil, err
	}
	return &structs.JobDeregisterResponse{EvalID: out.EvalID, EvalCreateIndex: out.EvalCreateIndex, JobModifyIndex: out.JobModifyIndex,
		WriteMeta: structs.WriteMeta{Index: out.Index}}, nil
}

// Allocations returns the allocations of the job.
func (j *Jobs) Allocations(id string, q *QueryOptions) ([]*structs.AllocListStub, *QueryMeta, error) {
	path, err := idPath("/v1/job/", "job", id)
	if err != nil {
		return nil, nil, err
	}
	var out []*AllocationListStub
	meta, err := j.c.query(path+"/allocations", q, &out)
	return mapList(out, AllocStubToStructs), meta, err
}

// Evaluations returns the evaluations of the job.
func (j *Jobs) Evaluations(id string, q *QueryOptions) ([]*structs.Evaluation, *QueryMeta, error) {
	path, err := idPath("/v1/job/", "job", id)
	if err != nil {
		return nil, nil, err
	}
	var out []*Evaluation
	meta, err := j.c.query(path+"/evaluations", q, &out)
	return mapList(out, EvalToStructs), meta, err
}

// Summary returns the job's allocation counts per group and client status
// (GET /v1/job/:id/summary).
func (j *Jobs) Summary(id string, q *QueryOptions) (*structs.JobSummary, *QueryMeta, error) {
	path, err := idPath("/v1/job/", "job", id)
	if err != nil {
		return nil, nil, err
	}
	var out JobSummary
	meta, err := j.c.query(path+"/summary", q, &out)
	if err != nil {
		return nil, nil, err
	}
	return JobSummaryToStructs(&out), meta, nil
}

// Scale sets the count of one group of job id (PUT /v1/job/:id/scale) and
// returns the evaluation of the change. A group the job lacks is an *Error
// with status 400; a job changed since it was read, 409.
func (j *Jobs) Scale(id, group string, count int64, message string) (*structs.JobRegisterResponse, error) {
	path, err := idPath("/v1/job/", "job", id)
	if err != nil {
		return nil, err
	}
	body := &ScalingRequest{Count: &count, Target: map[string]string{"Job": id, "Group": group}, Message: message}
	var out JobRegisterResponse
	if err := j.c.write(http.MethodPut, path+"/scale", nil, body, &out); err != nil {
		return nil, err
	}
	return &structs.JobRegisterResponse{EvalID: out.EvalID, EvalCreateIndex: out.EvalCreateIndex, JobModifyIndex: out.JobModifyIndex,
		Warnings: out.Warnings, WriteMeta: structs.WriteMeta{Index: out.Index}}, nil
}

// ScaleStatus returns each group's desired count and allocation progress
// (GET /v1/job/:id/scale).
func (j *Jobs) ScaleStatus(id string, q *QueryOptions) (*JobScaleStatusResponse, *QueryMeta, error) {
	path, err := idPath("/v1/job/", "job", id)
	if err != nil {
		return nil, nil, err
	}
	var out JobScaleStatusResponse
	meta, err := j.c.query(path+"/scale", q, &out)
	if err != nil {
		return nil, nil, err
	}
	return &out, meta, nil
}
