package conformance

import (
	"net/http"
	"strings"
	"testing"

	napi "github.com/hashicorp/nomad/api"
)

func testJobValidate(t *testing.T, e *env) {
	resp, _, err := e.nomad.Jobs().Validate(webJob("valid"), nil)
	if err != nil || len(resp.ValidationErrors) != 0 || resp.Error != "" {
		t.Errorf("validate a good job: %+v %v", resp, err)
	}
	bad := webJob("invalid")
	bad.TaskGroups[0].Count = ptr(-1)
	bad.TaskGroups[0].Tasks[0].Resources.CPU = ptr(-5)
	resp, _, err = e.nomad.Jobs().Validate(bad, nil)
	if err != nil || len(resp.ValidationErrors) != 2 || !strings.Contains(resp.Error, "count = -1") ||
		!strings.Contains(resp.ValidationErrors[1], "cpu") {
		t.Errorf("validate a bad job: %+v %v", resp, err)
	}
	raw := rawDo(t, e, http.MethodPost, "/v1/validate/job", &napi.JobValidateRequest{Job: bad})
	if r := strictDecode[napi.JobValidateResponse](t, "POST /v1/validate/job", raw); len(r.ValidationErrors) != 2 {
		t.Errorf("validate by POST: %+v", r)
	}
	if _, _, err := e.nomad.Jobs().Info("invalid", nil); err == nil {
		t.Errorf("validate registered the job")
	}
	if code, body := rawStatus(t, e, http.MethodPut, "/v1/validate/job", `{"Job": {"ID": 5}}`); code != http.StatusBadRequest || !strings.Contains(body, "Job.ID") {
		t.Errorf("validate a body that is not a job: %d %s", code, body)
	}
}

const parseHCL = `variable "n" {
  type    = number
  default = 1
}
job "parsed" {
  datacenters = ["dc1"]
  group "g" {
    count = var.n
    task "t" {
      driver = "raw_exec"
      config { command = "/bin/true" }
    }
  }
}
`

func testJobsParse(t *testing.T, e *env) {
	job, err := e.nomad.Jobs().ParseHCL(parseHCL, true)
	if err != nil || *job.ID != "parsed" || *job.TaskGroups[0].Count != 1 || *job.Type != "service" ||
		job.TaskGroups[0].Tasks[0].Config["command"] != "/bin/true" || *job.Priority != 50 {
		t.Fatalf("parse: %+v %v", job, err)
	}
	job, err = e.nomad.Jobs().ParseHCLOpts(&napi.JobsParseRequest{JobHCL: parseHCL, Variables: "n = 4\n"})
	if err != nil || *job.TaskGroups[0].Count != 4 {
		t.Errorf("parse with variables: %+v %v", job, err)
	}
	raw := rawDo(t, e, http.MethodPost, "/v1/jobs/parse", &napi.JobsParseRequest{JobHCL: parseHCL, Canonicalize: true})
	if j := strictDecode[napi.Job](t, "POST /v1/jobs/parse", raw); *j.ID != "parsed" {
		t.Errorf("parse by POST: %+v", j)
	}
	for _, bad := range []struct {
		req  napi.JobsParseRequest
		want string
	}{
		{napi.JobsParseRequest{JobHCL: "job \"x\" {\n  group \"g\" {\n    count = \n  }\n}\n"}, "job.hcl:3:"},
		{napi.JobsParseRequest{JobHCL: parseHCL, Variables: "n = \"many\"\n"}, `variables.hcl:1:5: invalid value for variable "n"`},
		{napi.JobsParseRequest{}, "JobHCL: required"},
	} {
		if _, err := e.nomad.Jobs().ParseHCLOpts(&bad.req); err == nil || !strings.Contains(err.Error(), "400") || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("parse %+v: %v, want a 400 containing %q", bad.req, err, bad.want)
		}
	}
	// Older Nomad clients could ask for HCL1, which orch does not read.
	if code, body := rawStatus(t, e, http.MethodPut, "/v1/jobs/parse", `{"JobHCL": "job \"x\" {}", "hclv1": true}`); code != http.StatusBadRequest ||
		!strings.Contains(body, "hclv1 = true: not supported") {
		t.Errorf("parse HCL1: %d %s", code, body)
	}
}
