package conformance

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	napi "github.com/hashicorp/nomad/api"
)

// namespaceRoutes are the routes testNamespaces covers.
var namespaceRoutes = []string{"GET /v1/namespaces", "GET /v1/namespace/{name}", "PUT /v1/namespace/{name}",
	"POST /v1/namespace/{name}", "PUT /v1/namespace", "POST /v1/namespace", "DELETE /v1/namespace/{name}"}

// testNamespaces creates a namespace with Nomad's client, runs a job of the
// same ID as the setup's "web" in it (two jobs), reads both through the
// namespace of the request and across namespaces ("*"), is refused a
// namespace or a region that does not exist, and deletes the namespace once
// its job is gone.
func testNamespaces(t *testing.T, e *env) {
	if _, err := e.nomad.Namespaces().Register(&napi.Namespace{Name: "team-a", Description: "team A",
		Meta: map[string]string{"owner": "a"}}, nil); err != nil {
		t.Fatalf("Nomad's client cannot create a namespace: %v", err)
	}
	for _, w := range []struct{ method, path string }{{"PUT", "/v1/namespace/team-b"}, {"POST", "/v1/namespace/team-b"}, {"POST", "/v1/namespace"}} {
		rawDo(t, e, w.method, w.path, &napi.Namespace{Name: "team-b", Description: w.method + " " + w.path})
		ns, _, err := e.nomad.Namespaces().Info("team-b", nil)
		if err != nil || ns.Description != w.method+" "+w.path {
			t.Errorf("after %s %s: %+v %v", w.method, w.path, ns, err)
		}
	}
	if code, body := rawStatus(t, e, "PUT", "/v1/namespace/team-c", `{"Name": "team-c", "Quota": "gold"}`); code != http.StatusBadRequest || !strings.Contains(body, "Quota") {
		t.Errorf("a namespace with a quota: %d %s, want 400 naming Quota", code, body)
	}
	list, meta, err := e.nomad.Namespaces().List(nil)
	if err != nil || meta.LastIndex == 0 {
		t.Fatalf("list: %v %+v", err, meta)
	}
	names := []string{}
	for _, ns := range list {
		names = append(names, ns.Name)
	}
	slices.Sort(names) // Nomad's client sorts them newest first
	if !slices.Equal(names, []string{"default", "team-a", "team-b"}) {
		t.Errorf("namespaces %v, want default, team-a, team-b", names)
	}
	strictGet[[]*napi.Namespace](t, e.agent.URL, "/v1/namespaces")
	a := strictGet[napi.Namespace](t, e.agent.URL, "/v1/namespace/team-a")
	if a.Name != "team-a" || a.Description != "team A" || a.Meta["owner"] != "a" || a.CreateIndex == 0 {
		t.Errorf("team-a: %+v", a)
	}
	if _, _, err := e.nomad.Namespaces().Info("nope", nil); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("unknown namespace: %v, want 404", err)
	}

	// The same job ID in another namespace is another job.
	inA := &napi.WriteOptions{Namespace: "team-a"}
	qA := &napi.QueryOptions{Namespace: "team-a"}
	job := webJob("web")
	job.Namespace = ptr("team-a")
	if _, _, err := e.nomad.Jobs().Register(job, inA); err != nil {
		t.Fatalf("register in team-a: %v", err)
	}
	waitRunningIn(t, e.nomad, "web", qA)
	got, _, err := e.nomad.Jobs().Info("web", qA)
	if err != nil || *got.Namespace != "team-a" {
		t.Fatalf("web in team-a: %+v %v", got, err)
	}
	def, _, err := e.nomad.Jobs().Info("web", nil)
	if err != nil || *def.Namespace != "default" || *def.JobModifyIndex == *got.JobModifyIndex {
		t.Fatalf("web in default after registering team-a's: %v %v", def, err)
	}
	inTeam, _, err := e.nomad.Jobs().List(qA)
	if err != nil || len(inTeam) != 1 || inTeam[0].Namespace != "team-a" {
		t.Errorf("jobs of team-a: %+v %v", inTeam, err)
	}
	every, _, err := e.nomad.Jobs().List(&napi.QueryOptions{Namespace: "*"})
	webs := 0
	for _, j := range every {
		if j.ID == "web" {
			webs++
		}
	}
	if err != nil || webs != 2 {
		t.Errorf("jobs of every namespace: %d named web, want 2 (%v)", webs, err)
	}
	strictGet[[]*napi.JobListStub](t, e.agent.URL, "/v1/jobs?namespace=*")
	allocs, _, err := e.nomad.Jobs().Allocations("web", false, qA)
	if err != nil || len(allocs) != 1 || allocs[0].Namespace != "team-a" || allocs[0].ID == e.allocID {
		t.Errorf("allocations of team-a's web: %+v %v", allocs, err)
	}
	all, _, err := e.nomad.Allocations().List(&napi.QueryOptions{Namespace: "*"})
	if err != nil || !slices.ContainsFunc(all, func(s *napi.AllocationListStub) bool { return s.ID == e.allocID }) ||
		!slices.ContainsFunc(all, func(s *napi.AllocationListStub) bool { return s.ID == allocs[0].ID }) {
		t.Errorf("allocations of every namespace: %d, %v", len(all), err)
	}
	onlyA, _, err := e.nomad.Allocations().List(qA)
	if err != nil || slices.ContainsFunc(onlyA, func(s *napi.AllocationListStub) bool { return s.Namespace != "team-a" }) {
		t.Errorf("allocations of team-a: %+v %v", onlyA, err)
	}
	evals, _, err := e.nomad.Evaluations().List(qA)
	if err != nil || len(evals) == 0 || slices.ContainsFunc(evals, func(ev *napi.Evaluation) bool { return ev.Namespace != "team-a" }) {
		t.Errorf("evaluations of team-a: %d %v", len(evals), err)
	}

	// A namespace or a region that does not exist is refused.
	if _, _, err := e.nomad.Jobs().List(&napi.QueryOptions{Namespace: "nope"}); err == nil || !strings.Contains(err.Error(), `namespace "nope" not found`) {
		t.Errorf("jobs of an unknown namespace: %v", err)
	}
	nowhere := webJob("lost")
	nowhere.Namespace = ptr("nope")
	if _, _, err := e.nomad.Jobs().Register(nowhere, nil); err == nil || !strings.Contains(err.Error(), `namespace "nope" not found`) {
		t.Errorf("a job in an unknown namespace: %v", err)
	}
	if _, _, err := e.nomad.Jobs().List(&napi.QueryOptions{Region: "mars"}); err == nil || !strings.Contains(err.Error(), `region "mars"`) {
		t.Errorf("jobs of an unknown region: %v", err)
	}
	martian := webJob("martian")
	martian.Region = ptr("mars")
	if _, _, err := e.nomad.Jobs().Register(martian, nil); err == nil || !strings.Contains(err.Error(), `"mars"`) {
		t.Errorf("a job of an unknown region: %v", err)
	}

	// A namespace with a live job is not deleted; default never is.
	if _, err := e.nomad.Namespaces().Delete("team-a", nil); err == nil || !strings.Contains(err.Error(), "non-terminal job") {
		t.Errorf("deleting a namespace with a running job: %v", err)
	}
	if _, err := e.nomad.Namespaces().Delete("default", nil); err == nil || !strings.Contains(err.Error(), "cannot be deleted") {
		t.Errorf("deleting default: %v", err)
	}
	if _, _, err := e.nomad.Jobs().Deregister("web", true, inA); err != nil {
		t.Fatalf("purge team-a's web: %v", err)
	}
	if _, _, err := e.nomad.Jobs().Info("web", nil); err != nil {
		t.Errorf("default's web after purging team-a's: %v", err)
	}
	for _, ns := range []string{"team-a", "team-b"} {
		if _, err := e.nomad.Namespaces().Delete(ns, nil); err != nil {
			t.Errorf("delete %s: %v", ns, err)
		}
	}
	if _, _, err := e.nomad.Namespaces().Info("team-a", nil); err == nil {
		t.Error("team-a still there after its delete")
	}
}

// waitRunningIn is waitRunning in the namespace of q.
func waitRunningIn(t *testing.T, nomad *napi.Client, jobID string, q *napi.QueryOptions) string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var index uint64
	for time.Now().Before(deadline) {
		allocs, meta, err := nomad.Jobs().Allocations(jobID, false, &napi.QueryOptions{Namespace: q.Namespace, WaitIndex: index, WaitTime: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range allocs {
			if a.ClientStatus == "running" {
				return a.ID
			}
		}
		index = meta.LastIndex
	}
	t.Fatalf("no allocation of %s in %s running within 60s", jobID, q.Namespace)
	return ""
}
