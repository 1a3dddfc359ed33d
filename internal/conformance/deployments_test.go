package conformance

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	napi "github.com/hashicorp/nomad/api"
)

// canariedJob is a service job whose group rolls out with one canary and
// manual health: every deployment of it waits for the health set through
// the API, so the case decides when each one moves on.
func canariedJob(env string) *napi.Job {
	job := webJob("canaried")
	job.TaskGroups[0].Update = &napi.UpdateStrategy{MaxParallel: ptr(1), Canary: ptr(1), HealthCheck: ptr("manual"),
		MinHealthyTime: ptr(time.Duration(0)), HealthyDeadline: ptr(time.Hour), ProgressDeadline: ptr(2 * time.Hour)}
	job.TaskGroups[0].Tasks[0].Env = map[string]string{"RELEASE": env}
	return job
}

// latestDeployment waits for the job's newest deployment of version to meet
// cond and returns it.
func latestDeployment(t *testing.T, e *env, version uint64, what string, cond func(*napi.Deployment) bool) *napi.Deployment {
	t.Helper()
	var d *napi.Deployment
	waitFor(t, what, func() bool {
		var err error
		d, _, err = e.nomad.Jobs().LatestDeployment("canaried", nil)
		return err == nil && d != nil && d.JobVersion == version && cond(d)
	})
	return d
}

// runningAllocs returns the IDs of the deployment's running allocations.
func runningAllocs(e *env, deploymentID string) []string {
	allocs, _, err := e.nomad.Deployments().Allocations(deploymentID, nil)
	if err != nil {
		return nil
	}
	var ids []string
	for _, a := range allocs {
		if a.ClientStatus == "running" {
			ids = append(ids, a.ID)
		}
	}
	return ids
}

// A job rolled out, canaried, paused, promoted, marked stable, reverted and
// failed through Nomad's client; every answer decodes strictly into Nomad's
// types.
func testDeployments(t *testing.T, e *env) {
	if _, _, err := e.nomad.Jobs().Register(canariedJob("one"), nil); err != nil {
		t.Fatalf("register a job with an update block: %v", err)
	}
	// Version 0: one allocation, healthy when the case says so.
	d0 := latestDeployment(t, e, 0, "version 0's deployment placing its allocation", func(d *napi.Deployment) bool {
		return len(runningAllocs(e, d.ID)) == 1
	})
	first := runningAllocs(e, d0.ID)
	resp, wm, err := e.nomad.Deployments().SetAllocHealth(d0.ID, first, nil, nil)
	if err != nil || resp.DeploymentModifyIndex == 0 || wm.LastIndex != resp.DeploymentModifyIndex {
		t.Fatalf("set the allocation healthy: %+v %+v %v", resp, wm, err)
	}
	d0 = latestDeployment(t, e, 0, "version 0's deployment successful", func(d *napi.Deployment) bool { return d.Status == "successful" })
	if s := d0.TaskGroups["web"]; s == nil || s.HealthyAllocs != 1 || s.DesiredTotal != 1 || d0.JobSpecModifyIndex == 0 ||
		d0.StatusDescription != "Deployment completed successfully" || d0.CreateTime == 0 {
		t.Errorf("version 0's deployment: %+v group %+v", d0, s)
	}
	strictGet[napi.Deployment](t, e.agent.URL, "/v1/deployment/"+d0.ID)

	// Version 1: a canary, waiting for promotion.
	if _, _, err := e.nomad.Jobs().Register(canariedJob("two"), nil); err != nil {
		t.Fatal(err)
	}
	d1 := latestDeployment(t, e, 1, "version 1's canary running", func(d *napi.Deployment) bool {
		s := d.TaskGroups["web"]
		return s != nil && len(s.PlacedCanaries) == 1 && slices.Contains(runningAllocs(e, d.ID), s.PlacedCanaries[0])
	})
	canary := d1.TaskGroups["web"].PlacedCanaries[0]
	if s := d1.TaskGroups["web"]; d1.Status != "running" || s.DesiredCanaries != 1 || s.Promoted || s.RequireProgressBy.IsZero() {
		t.Errorf("version 1's deployment: %+v group %+v", d1, s)
	}
	list, meta, err := e.nomad.Deployments().List(nil)
	if err != nil || meta.LastIndex == 0 || len(slices.DeleteFunc(list, func(d *napi.Deployment) bool { return d.JobID != "canaried" })) != 2 {
		t.Errorf("deployments: %+v %v", list, err)
	}
	strictGet[[]*napi.Deployment](t, e.agent.URL, "/v1/deployments")
	if info, _, err := e.nomad.Deployments().Info(d1.ID, nil); err != nil || info.ID != d1.ID || info.JobID != "canaried" {
		t.Errorf("deployment info: %+v %v", info, err)
	}
	if _, _, err := e.nomad.Deployments().Info("no-such-deployment", nil); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("a deployment that does not exist: %v", err)
	}
	strictGet[[]*napi.AllocationListStub](t, e.agent.URL, "/v1/deployment/allocations/"+d1.ID)

	// Paused and resumed, by PUT (Nomad's client) and POST.
	if _, _, err := e.nomad.Deployments().Pause(d1.ID, true, nil); err != nil {
		t.Fatal(err)
	}
	if d, _, err := e.nomad.Deployments().Info(d1.ID, nil); err != nil || d.Status != "paused" {
		t.Errorf("after pausing: %+v %v", d, err)
	}
	raw := rawDo(t, e, "POST", "/v1/deployment/pause/"+d1.ID, &napi.DeploymentPauseRequest{DeploymentID: d1.ID, Pause: false})
	if r := strictDecode[napi.DeploymentUpdateResponse](t, "POST /v1/deployment/pause/:id", raw); r.DeploymentModifyIndex == 0 {
		t.Errorf("POST pause: %s", raw)
	}
	if d, _, err := e.nomad.Deployments().Info(d1.ID, nil); err != nil || d.Status != "running" {
		t.Errorf("after resuming: %+v %v", d, err)
	}

	// The canary healthy by POST, then promoted.
	raw = rawDo(t, e, "POST", "/v1/deployment/allocation-health/"+d1.ID,
		&napi.DeploymentAllocHealthRequest{DeploymentID: d1.ID, HealthyAllocationIDs: []string{canary}})
	strictDecode[napi.DeploymentUpdateResponse](t, "POST /v1/deployment/allocation-health/:id", raw)
	latestDeployment(t, e, 1, "the canary healthy", func(d *napi.Deployment) bool { return d.TaskGroups["web"].HealthyAllocs == 1 })
	if r, _, err := e.nomad.Deployments().PromoteAll(d1.ID, nil); err != nil || r.DeploymentModifyIndex == 0 {
		t.Fatalf("promote: %+v %v", r, err)
	}
	d1 = latestDeployment(t, e, 1, "version 1 promoted", func(d *napi.Deployment) bool { return d.TaskGroups["web"].Promoted })
	// Promotion replaces what is left of version 0; its allocations wait for
	// their health in turn.
	waitFor(t, "version 1's deployment successful", func() bool {
		var unhealthy []string
		d, _, err := e.nomad.Deployments().Info(d1.ID, nil)
		if err != nil || d.Status == "successful" {
			return err == nil
		}
		for _, id := range runningAllocs(e, d1.ID) {
			if id != canary {
				unhealthy = append(unhealthy, id)
			}
		}
		if len(unhealthy) > 0 {
			_, _, _ = e.nomad.Deployments().SetAllocHealth(d1.ID, unhealthy, nil, nil)
		}
		return false
	})

	// Versions, newest first, with their diff; version 1 stable after its
	// successful deployment.
	versions, diffs, _, err := e.nomad.Jobs().Versions("canaried", true, nil)
	if err != nil || len(versions) != 2 || *versions[0].Version != 1 || *versions[1].Version != 0 || len(diffs) != 1 ||
		!*versions[0].Stable {
		t.Fatalf("versions: %+v diffs %+v %v", versions, diffs, err)
	}
	strictGet[napi.JobVersionsResponse](t, e.agent.URL, "/v1/job/canaried/versions?diffs=true")
	if _, _, _, err := e.nomad.Jobs().Versions("no-such-job", false, nil); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("versions of a job that does not exist: %v", err)
	}
	st, _, err := e.nomad.Jobs().Stable("canaried", 1, false, nil)
	if err != nil || st.JobModifyIndex == 0 {
		t.Errorf("stable: %+v %v", st, err)
	}
	raw = rawDo(t, e, "POST", "/v1/job/canaried/stable", &napi.JobStabilityRequest{JobID: "canaried", JobVersion: 1, Stable: true})
	strictDecode[napi.JobStabilityResponse](t, "POST /v1/job/:id/stable", raw)
	if v, _, _, err := e.nomad.Jobs().Versions("canaried", false, nil); err != nil || !*v[0].Stable {
		t.Errorf("version 1 after marking it stable again: %v", err)
	}

	// Reverted to version 0 (if the job is still at 1), a new version and a
	// new deployment, which is then failed.
	rev, _, err := e.nomad.Jobs().Revert("canaried", 0, ptr(uint64(1)), nil, "", "")
	if err != nil || rev.EvalID == "" || rev.JobModifyIndex == 0 {
		t.Fatalf("revert: %+v %v", rev, err)
	}
	if _, _, err := e.nomad.Jobs().Revert("canaried", 0, ptr(uint64(1)), nil, "", ""); err == nil {
		t.Errorf("a revert enforcing a prior version the job is no longer at was taken")
	}
	d2 := latestDeployment(t, e, 2, "the revert's deployment", func(d *napi.Deployment) bool { return d.Status == "running" })
	if r, _, err := e.nomad.Deployments().Fail(d2.ID, nil); err != nil || r.RevertedJobVersion != nil {
		t.Fatalf("fail: %+v %v", r, err)
	}
	if d, _, err := e.nomad.Deployments().Info(d2.ID, nil); err != nil || d.Status != "failed" ||
		d.StatusDescription != "Deployment marked as failed" {
		t.Errorf("after failing: %+v %v", d, err)
	}
	deps, _, err := e.nomad.Jobs().Deployments("canaried", false, nil)
	if err != nil || len(deps) != 3 || deps[0].ID != d2.ID {
		t.Errorf("the job's deployments: %+v %v", deps, err)
	}
	strictGet[[]*napi.Deployment](t, e.agent.URL, "/v1/job/canaried/deployments")
	strictGet[napi.Deployment](t, e.agent.URL, "/v1/job/canaried/deployment")
	if d, _, err := e.nomad.Jobs().LatestDeployment("web", nil); err != nil || d != nil {
		t.Errorf("the latest deployment of a job without one: %+v %v", d, err)
	}

	// The POST routes Nomad's client does not use, on a finished deployment,
	// and bodies refused by name.
	raw = rawDo(t, e, "POST", "/v1/job/canaried/revert", &napi.JobRevertRequest{JobID: "canaried", JobVersion: 0})
	strictDecode[napi.JobRegisterResponse](t, "POST /v1/job/:id/revert", raw)
	// (Version 0's spec is the one of the allocations running, so the revert
	// rolls nothing out: a new spec does.)
	if _, _, err := e.nomad.Jobs().Register(canariedJob("three"), nil); err != nil {
		t.Fatal(err)
	}
	job, _, err := e.nomad.Jobs().Info("canaried", nil)
	if err != nil {
		t.Fatal(err)
	}
	last := *job.Version
	d3 := latestDeployment(t, e, last, "the last version's deployment", func(d *napi.Deployment) bool { return d.Status == "running" })
	for _, bad := range []struct{ method, path, body, want string }{
		{"PUT", "/v1/deployment/pause/" + d3.ID, `{"Pause": true, "Paused": true}`, "Paused"},
		{"PUT", "/v1/deployment/pause/" + d3.ID, `{"DeploymentID": "other", "Pause": true}`, `DeploymentID "other"`},
		{"PUT", "/v1/deployment/promote/" + d3.ID, `{"All": true, "PromotedAt": 5}`, "PromotedAt"},
		{"PUT", "/v1/deployment/fail/" + d3.ID, ``, "empty request body"},
		{"PUT", "/v1/job/canaried/revert", `{"JobVersion": "one"}`, "JobVersion"},
		{"PUT", "/v1/job/canaried/stable", `{"JobID": "web", "JobVersion": 0, "Stable": true}`, `JobID "web"`},
		{"PUT", "/v1/deployment/allocation-health/" + d3.ID, `{}`, "HealthyAllocationIDs"},
	} {
		if code, out := rawStatus(t, e, bad.method, bad.path, bad.body); code != http.StatusBadRequest || !strings.Contains(out, bad.want) {
			t.Errorf("%s %s %s: %d %s, want 400 naming %s", bad.method, bad.path, bad.body, code, out, bad.want)
		}
	}
	// POST fail while the deployment runs (after a promotion it may already
	// have succeeded, and can then no longer change), then POST promote on
	// the failed deployment, which is refused.
	raw = rawDo(t, e, "POST", "/v1/deployment/fail/"+d3.ID, &napi.DeploymentFailRequest{DeploymentID: d3.ID})
	strictDecode[napi.DeploymentUpdateResponse](t, "POST /v1/deployment/fail/:id", raw)
	if d, _, err := e.nomad.Deployments().Info(d3.ID, nil); err != nil || d.Status != "failed" {
		t.Errorf("the last version's deployment, failed by POST: %+v %v", d, err)
	}
	body, err := json.Marshal(&napi.DeploymentPromoteRequest{DeploymentID: d3.ID, Groups: []string{"web"}})
	if err != nil {
		t.Fatal(err)
	}
	if code, out := rawStatus(t, e, "POST", "/v1/deployment/promote/"+d3.ID, string(body)); code != http.StatusBadRequest || !strings.Contains(out, "can no longer change") {
		t.Errorf("POST promote of a failed deployment: %d %s, want 400 saying it can no longer change", code, out)
	}
}
