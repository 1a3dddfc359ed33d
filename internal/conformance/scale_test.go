package conformance

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	napi "github.com/hashicorp/nomad/api"
)

// testJobScale scales a job whose datacenter has no node (nothing is placed,
// so the other cases' allocations are untouched) and reads web's scale status.
func testJobScale(t *testing.T, e *env) {
	st, _, err := e.nomad.Jobs().ScaleStatus("web", nil)
	if err != nil {
		t.Fatal(err)
	}
	web := st.TaskGroups["web"]
	if st.JobID != "web" || st.Namespace != "default" || st.JobStopped || st.JobModifyIndex != e.reg.JobModifyIndex ||
		web.Desired != 1 || web.Placed != 1 || web.Running != 1 || web.Events == nil {
		t.Errorf("scale status of web: %+v %+v", st, web)
	}
	strictGet[napi.JobScaleStatusResponse](t, e.agent.URL, "/v1/job/web/scale")

	job := webJob("scaled")
	job.Datacenters = []string{"nowhere"}
	job.TaskGroups[0].Count = ptr(0)
	if _, _, err := e.nomad.Jobs().Register(job, nil); err != nil {
		t.Fatal(err)
	}
	resp, _, err := e.nomad.Jobs().Scale("scaled", "web", ptr(3), "submitted using the Nomad CLI", false, nil, nil)
	if err != nil || resp.EvalID == "" || resp.JobModifyIndex == 0 {
		t.Fatalf("scale: %+v %v", resp, err)
	}
	got, _, err := e.nomad.Jobs().Info("scaled", nil)
	if err != nil || *got.TaskGroups[0].Count != 3 || *got.Version != 1 {
		t.Errorf("job after scaling to 3: %+v %v", got, err)
	}
	st, _, err = e.nomad.Jobs().ScaleStatus("scaled", nil)
	if err != nil || st.TaskGroups["web"].Desired != 3 || st.TaskGroups["web"].Placed != 0 || st.JobModifyIndex != resp.JobModifyIndex {
		t.Errorf("scale status after scaling: %+v %v", st, err)
	}

	// POST with Nomad's ScalingRequest; a stale JobModifyIndex is a conflict.
	stale := fmt.Sprintf(`{"Count": 0, "Target": {"Job": "scaled", "Group": "web"}, "JobModifyIndex": %d}`, resp.JobModifyIndex-1)
	if code, body := rawStatus(t, e, http.MethodPost, "/v1/job/scaled/scale", stale); code != http.StatusConflict {
		t.Errorf("scale with a stale JobModifyIndex: %d %s", code, body)
	}
	raw := rawDo(t, e, http.MethodPost, "/v1/job/scaled/scale",
		&napi.ScalingRequest{Count: ptr(int64(0)), Target: map[string]string{"Group": "web"}, JobModifyIndex: resp.JobModifyIndex})
	if r := strictDecode[napi.JobRegisterResponse](t, "POST /v1/job/scaled/scale", raw); r.EvalID == "" {
		t.Errorf("scale by POST: %+v", r)
	}
	if got, _, err := e.nomad.Jobs().Info("scaled", nil); err != nil || *got.TaskGroups[0].Count != 0 {
		t.Errorf("job after scaling to 0: %+v %v", got, err)
	}

	for _, bad := range []struct{ body, want string }{
		{`{"Count": 1, "Target": {"Group": "nope"}}`, `Target.Group = "nope": job "scaled" has no such group`},
		{`{"Count": -1, "Target": {"Job": "other"}}`, `Target.Job = "other": does not match the job "scaled" in the path; Target.Group: required; Count = -1: must be >= 0`},
		{`{"Target": {"Group": "web"}, "Error": true, "Meta": {"a": 1}}`, `Count: required (orch records no scaling events without a count); Error = true: not supported`},
		{`{"Count": "1"}`, `Count`},
	} {
		code, body := rawStatus(t, e, http.MethodPut, "/v1/job/scaled/scale", bad.body)
		if code != http.StatusBadRequest || !strings.Contains(body, bad.want) {
			t.Errorf("scale %s: %d %q, want 400 containing %q", bad.body, code, body, bad.want)
		}
	}
	if _, _, err := e.nomad.Jobs().Scale("nosuch", "web", ptr(1), "", false, nil, nil); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("scaling a job that does not exist: %v", err)
	}
}
