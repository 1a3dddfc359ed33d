package agent

import (
	"net/http"
	"strings"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/jobspec"
)

// parseJobFileName names the job text of /v1/jobs/parse in its errors
// (job.hcl:3:5: ...); parseVarsFileName, its Variables.
const (
	parseJobFileName  = "job.hcl"
	parseVarsFileName = "variables.hcl"
)

// jobValidate is PUT/POST /v1/validate/job: the job's own validation, run by
// the agent (no RPC: validation is a pure function of the job). A body that
// is not a job is a 400; a job that fails validation, a 200 listing every
// problem, as Nomad answers.
func (s *HTTPServer) jobValidate(r *http.Request) (any, error) {
	var body api.JobValidateRequest
	job, err := decodeJobBody(r.Body, &body)
	if err != nil {
		return nil, err
	}
	job.Canonicalize()
	resp := &api.JobValidateResponse{ValidationErrors: []string{}}
	if err := job.Validate(); err != nil {
		errs := []error{err}
		if joined, ok := err.(interface{ Unwrap() []error }); ok {
			errs = joined.Unwrap()
		}
		for _, e := range errs {
			resp.ValidationErrors = append(resp.ValidationErrors, e.Error())
		}
		resp.Error = strings.Join(resp.ValidationErrors, "; ")
	}
	return resp, nil
}

// jobsParse is PUT/POST /v1/jobs/parse with Nomad's JobsParseRequest: the
// HCL job (and its variables) parsed by the agent into a Job's JSON. Errors
// are 400s positioned in the text (job.hcl:LINE:COL).
func (s *HTTPServer) jobsParse(r *http.Request) (any, error) {
	var body api.JobsParseRequest
	if err := decodeStrictBody(r.Body, maxJobBody, "parse request", `{"JobHCL": "job \"...\" {...}"}`, &body); err != nil {
		return nil, err
	}
	if body.HCLv1 {
		return nil, badRequest("hclv1 = true: not supported: orch reads HCL2 job files only")
	}
	if strings.TrimSpace(body.JobHCL) == "" {
		return nil, badRequest("JobHCL: required: the text of an HCL job file")
	}
	opts := jobspec.Options{}
	if body.Variables != "" {
		opts.VarSources = []jobspec.VarSource{{Name: parseVarsFileName, Src: []byte(body.Variables)}}
	}
	job, err := jobspec.Parse(parseJobFileName, []byte(body.JobHCL), opts)
	if err != nil {
		return nil, badRequest("%v", err)
	}
	if body.Canonicalize {
		job.Canonicalize()
	}
	return job, nil
}
