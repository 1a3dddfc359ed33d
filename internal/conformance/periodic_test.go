package conformance

import (
	"net/http"
	"strings"
	"testing"

	napi "github.com/hashicorp/nomad/api"
)

// testPeriodicAndDispatch registers a periodic and a parameterized job
// through Nomad's client (in a datacenter without nodes: nothing is placed),
// forces the one and dispatches the other, and reads the values back.
func testPeriodicAndDispatch(t *testing.T, e *env) {
	per := webJob("nightly")
	per.Type, per.Datacenters = ptr("batch"), []string{"nowhere"}
	per.Periodic = &napi.PeriodicConfig{Specs: []string{"0 3 * * *"}, ProhibitOverlap: ptr(true), TimeZone: ptr("Europe/Paris")}
	if _, _, err := e.nomad.Jobs().Register(per, nil); err != nil {
		t.Fatal(err)
	}
	got, _, err := e.nomad.Jobs().Info("nightly", nil)
	if err != nil {
		t.Fatal(err)
	}
	if p := got.Periodic; p == nil || !*p.Enabled || len(p.Specs) != 1 || p.Specs[0] != "0 3 * * *" || *p.SpecType != "cron" ||
		!*p.ProhibitOverlap || *p.TimeZone != "Europe/Paris" || *got.Status != "running" {
		t.Errorf("periodic job read back: %+v status %v", got.Periodic, got.Status)
	}
	evalID, _, err := e.nomad.Jobs().PeriodicForce("nightly", nil)
	if err != nil || evalID == "" {
		t.Fatalf("periodic force: %q %v", evalID, err)
	}
	// POST too (a second force within the same second would name the same child: 409).
	per.ID, per.Name = ptr("nightly2"), ptr("nightly2")
	if _, _, err := e.nomad.Jobs().Register(per, nil); err != nil {
		t.Fatal(err)
	}
	raw := rawDo(t, e, http.MethodPost, "/v1/job/nightly2/periodic/force", nil)
	if r := strictDecode[napi.JobRegisterResponse](t, "POST /v1/job/nightly2/periodic/force", raw); r.EvalID == "" {
		t.Errorf("force by POST: %+v", r)
	}

	param := webJob("work")
	param.Type, param.Datacenters = ptr("batch"), []string{"nowhere"}
	param.ParameterizedJob = &napi.ParameterizedJobConfig{Payload: "required", MetaRequired: []string{"who"}}
	param.TaskGroups[0].Tasks[0].DispatchPayload = &napi.DispatchPayloadConfig{File: "input.txt"}
	if _, _, err := e.nomad.Jobs().Register(param, nil); err != nil {
		t.Fatal(err)
	}
	wo := &napi.WriteOptions{IdempotencyToken: "once"}
	resp, _, err := e.nomad.Jobs().Dispatch("work", map[string]string{"who": "me"}, []byte("payload"), "", wo)
	if err != nil || !strings.HasPrefix(resp.DispatchedJobID, "work/dispatch-") || resp.EvalID == "" || resp.JobCreateIndex == 0 {
		t.Fatalf("dispatch: %+v %v", resp, err)
	}
	again, _, err := e.nomad.Jobs().Dispatch("work", map[string]string{"who": "me"}, []byte("payload"), "", wo)
	if err != nil || again.DispatchedJobID != resp.DispatchedJobID {
		t.Errorf("dispatch with the same idempotency token: %+v %v, want %q", again, err, resp.DispatchedJobID)
	}
	child, _, err := e.nomad.Jobs().Info(resp.DispatchedJobID, nil)
	if err != nil || string(child.Payload) != "payload" || *child.ParentID != "work" || !child.Dispatched || child.Meta["who"] != "me" ||
		child.TaskGroups[0].Tasks[0].DispatchPayload.File != "input.txt" {
		t.Errorf("dispatched child: %+v %v", child, err)
	}
	if _, _, err := e.nomad.Jobs().Dispatch("work", map[string]string{"who": "me", "x": "y"}, []byte("p"), "", nil); err == nil ||
		!strings.Contains(err.Error(), `meta "x": not allowed`) {
		t.Errorf("dispatch with an unknown meta key: %v", err)
	}
	if _, _, err := e.nomad.Jobs().Dispatch("work", map[string]string{"who": "me"}, make([]byte, 16*1024+1), "", nil); err == nil ||
		!strings.Contains(err.Error(), "must be at most 16384 bytes") {
		t.Errorf("dispatch of a 16 KiB + 1 payload: %v", err)
	}

	sum, _, err := e.nomad.Jobs().Summary("work", nil)
	if err != nil || sum.Children == nil || sum.Children.Pending+sum.Children.Running+sum.Children.Dead != 1 {
		t.Errorf("parent summary: %+v %v", sum, err)
	}
	list, _, err := e.nomad.Jobs().PrefixList("work")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range list {
		switch s.ID {
		case "work":
			if !s.ParameterizedJob || s.JobSummary == nil || s.JobSummary.Children == nil {
				t.Errorf("parent list entry: %+v", s)
			}
		case resp.DispatchedJobID:
			if s.ParentID != "work" || s.ParameterizedJob {
				t.Errorf("child list entry: %+v", s)
			}
		}
	}
}
