package agent

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/orch-io/orch/api/apitest"
	"github.com/orch-io/orch/structs"
)

// These tests run the real HTTP server on 127.0.0.1:0 over apitest.Backend, an
// in-memory fake of the cluster: the real server (package server) is written
// in parallel, and the HTTP layer only translates requests into RPCs.

func startHTTP(t *testing.T, b Backend) string {
	t.Helper()
	s, err := NewHTTPServer("127.0.0.1:0", b, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return "http://" + s.Addr()
}

type response struct {
	code   int
	header http.Header
	body   string
}

func do(t *testing.T, method, url, body string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{code: resp.StatusCode, header: resp.Header, body: string(b)}
}

func jobBody(t *testing.T, job *structs.Job) string {
	t.Helper()
	b, err := json.Marshal(map[string]any{"Job": job})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func decode[T any](t *testing.T, body string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("decoding %q: %v", body, err)
	}
	return v
}

func TestHTTPJobRegisterAndGet(t *testing.T) {
	b := apitest.NewBackend()
	url := startHTTP(t, b)

	for _, method := range []string{"PUT", "POST"} {
		r := do(t, method, url+"/v1/jobs", jobBody(t, apitest.Job("web")))
		if r.code != 200 {
			t.Fatalf("%s /v1/jobs: %d %s", method, r.code, r.body)
		}
		got := decode[map[string]any](t, r.body)
		for _, k := range []string{"EvalID", "EvalCreateIndex", "JobModifyIndex", "Warnings", "Index"} {
			if _, ok := got[k]; !ok {
				t.Errorf("register response lacks %q: %s", k, r.body)
			}
		}
		if r.header.Get("X-Orch-Index") == "" || r.header.Get("X-Orch-Index") != r.header.Get("X-Nomad-Index") {
			t.Errorf("index headers: %v", r.header)
		}
		if b.Eval(got["EvalID"].(string)) == nil {
			t.Errorf("eval %v not created", got["EvalID"])
		}
	}

	r := do(t, "GET", url+"/v1/job/web", "")
	if r.code != 200 {
		t.Fatalf("GET /v1/job/web: %d %s", r.code, r.body)
	}
	// Field names exactly Nomad's.
	job := decode[map[string]any](t, r.body)
	for _, k := range []string{"ID", "Name", "Type", "Priority", "Datacenters", "TaskGroups", "Version", "SubmitTime", "JobModifyIndex"} {
		if _, ok := job[k]; !ok {
			t.Errorf("job JSON lacks %q: %s", k, r.body)
		}
	}
	tg := job["TaskGroups"].([]any)[0].(map[string]any)
	if tg["Name"] != "web" || tg["Count"] != float64(1) {
		t.Errorf("task group JSON: %v", tg)
	}
	task := tg["Tasks"].([]any)[0].(map[string]any)
	if task["Driver"] != "raw_exec" || task["Config"].(map[string]any)["command"] != "/bin/sleep" {
		t.Errorf("task JSON: %v", task)
	}
	res := task["Resources"].(map[string]any)
	if res["CPU"] != float64(100) || res["MemoryMB"] != float64(128) {
		t.Errorf("resources JSON: %v", res)
	}
	if got := b.Job("web"); got == nil || got.Version != 1 {
		t.Errorf("stored job after two registrations: %+v", got)
	}

	// PUT /v1/job/:id registers too, when the IDs agree.
	if r := do(t, "PUT", url+"/v1/job/web", jobBody(t, apitest.Job("web"))); r.code != 200 {
		t.Errorf("PUT /v1/job/web: %d %s", r.code, r.body)
	}
}

func TestHTTPJobRegisterRejectsBadInput(t *testing.T) {
	url := startHTTP(t, apitest.NewBackend())
	tests := []struct {
		name, path, body, want string
	}{
		{"id mismatch", "/v1/job/other", jobBody(t, apitest.Job("web")),
			`job ID "web" in the body does not match "other" in the path`},
		{"syntax", "/v1/jobs", "{\"Job\": {\n  \"ID\": \"x\",\n}}",
			"invalid JSON body at line 3, column 1: invalid character '}'"},
		{"type", "/v1/jobs", `{"Job": {"ID": "x", "TaskGroups": [{"Name": "a"}, {"Name": "w", "Count": "three"}]}}`,
			`invalid job: Job.TaskGroups[1].Count = "three" at line 1, column 74: must be an integer, not a string`},
		{"fraction", "/v1/jobs", `{"Job": {"ID": "x", "TaskGroups": [{"Tasks": [{"Resources": {"CPU": 1.5}}]}]}}`,
			`invalid job: Job.TaskGroups[0].Tasks[0].Resources.CPU = 1.5`},
		{"object for list", "/v1/jobs", `{"Job": {"ID": "x", "TaskGroups": {"web": {}}}}`,
			`invalid job: Job.TaskGroups = {...} at line 1, column 35: must be a list, not an object`},
		{"missing job", "/v1/jobs", `{}`, `missing "Job"`},
		{"unknown top-level field", "/v1/jobs", `{"job_id": "x"}`, `invalid job: job_id at line 1, column 2: unknown field`},
		{"misspelt field", "/v1/jobs", "{\"Job\": {\"ID\": \"x\", \"TaskGroups\": [{\"Name\": \"g\",\n \"Tasks\": [{\"Name\": \"t\", \"Resoruces\": {\"CPU\": 100}}]}]}}",
			`invalid job: Job.TaskGroups[0].Tasks[0].Resoruces at line 2, column 26: unknown field`},
		{"unknown field of a port", "/v1/jobs", `{"Job": {"ID": "x", "TaskGroups": [{"Networks": [{"ReservedPorts": [{"Label": "a", "Port": 1}]}]}]}}`,
			`invalid job: Job.TaskGroups[0].Networks[0].ReservedPorts[0].Port at line 1, column 84: unknown field`},
		{"empty", "/v1/jobs", ``, "empty request body"},
		{"truncated", "/v1/jobs", `{"Job": {"ID": "x"`, "unexpected end of input"},
		{"trailing", "/v1/jobs", `{"Job": {"ID": "x"}} {}`, "unexpected data after the top-level value"},
		// The text is Validate's once it lands; the status is what matters.
		{"no id", "/v1/jobs", `{"Job": {"Name": "x"}}`, "invalid job: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := do(t, "PUT", url+tt.path, tt.body)
			if r.code != http.StatusBadRequest || !strings.Contains(r.body, tt.want) {
				t.Errorf("got %d %q, want 400 containing %q", r.code, r.body, tt.want)
			}
		})
	}
}

func TestHTTPErrorMapping(t *testing.T) {
	b := apitest.NewBackend()
	url := startHTTP(t, b)

	// A validation error of the server (marked "invalid job") is the user's: 400, message whole.
	msg := "invalid job: group \"web\": count = -1: must be >= 0\ngroup \"web\": task \"a\": driver is empty"
	b.FailRPC("Job.Register", errors.New(msg))
	if r := do(t, "PUT", url+"/v1/jobs", jobBody(t, apitest.Job("web"))); r.code != 400 || strings.TrimSpace(r.body) != msg {
		t.Errorf("validation error: %d %q", r.code, r.body)
	}
	// Anything else the server fails with is ours: 500.
	b.FailRPC("Job.Register", errors.New("raft: apply timed out"))
	if r := do(t, "PUT", url+"/v1/jobs", jobBody(t, apitest.Job("web"))); r.code != 500 || !strings.Contains(r.body, "apply timed out") {
		t.Errorf("internal error: %d %q", r.code, r.body)
	}
	b.FailRPC("Job.Register", nil)

	// A failed -check-index is a conflict: 409, with the body's EnforceIndex
	// and JobModifyIndex reaching the server.
	enforce := `{"Job": ` + strings.TrimPrefix(strings.TrimSuffix(jobBody(t, apitest.Job("web")), "}"), `{"Job":`) +
		`, "EnforceIndex": true, "JobModifyIndex": 9}`
	if r := do(t, "PUT", url+"/v1/jobs", enforce); r.code != 409 ||
		strings.TrimSpace(r.body) != `enforcing job modify index 9: job "web" does not exist` {
		t.Errorf("enforce index conflict: %d %q", r.code, r.body)
	}

	// No leader: 503, unless the read allows stale data.
	b.SetLeader("")
	if r := do(t, "GET", url+"/v1/jobs", ""); r.code != 503 || !strings.Contains(r.body, "no cluster leader") {
		t.Errorf("no leader: %d %q", r.code, r.body)
	}
	if r := do(t, "PUT", url+"/v1/jobs", jobBody(t, apitest.Job("web"))); r.code != 503 {
		t.Errorf("no leader, write: %d %q", r.code, r.body)
	}
	if r := do(t, "GET", url+"/v1/jobs?stale", ""); r.code != 200 || r.header.Get("X-Orch-KnownLeader") != "false" {
		t.Errorf("stale read without leader: %d %q %v", r.code, r.body, r.header)
	}
}

func TestHTTPNotFoundAndMethodNotAllowed(t *testing.T) {
	url := startHTTP(t, apitest.NewBackend())
	notFound := []struct{ method, path, want string }{
		{"GET", "/v1/job/nope", `job "nope" not found`},
		{"DELETE", "/v1/job/nope", `job "nope" not found`},
		{"GET", "/v1/node/nope", `node "nope" not found`},
		{"GET", "/v1/allocation/nope", `allocation "nope" not found`},
		{"GET", "/v1/evaluation/nope", `evaluation "nope" not found`},
		{"GET", "/v1/frobnicate", "no such endpoint: GET /v1/frobnicate"},
		{"GET", "/", "no such endpoint"},
	}
	for _, tt := range notFound {
		if r := do(t, tt.method, url+tt.path, ""); r.code != 404 || !strings.Contains(r.body, tt.want) {
			t.Errorf("%s %s: %d %q, want 404 %q", tt.method, tt.path, r.code, r.body, tt.want)
		}
	}
	notAllowed := []struct{ method, path, allow string }{
		{"DELETE", "/v1/jobs", "GET"},
		{"POST", "/v1/nodes", "GET"},
		{"PATCH", "/v1/job/web", "DELETE"},
		{"PUT", "/v1/status/leader", "GET"},
	}
	for _, tt := range notAllowed {
		r := do(t, tt.method, url+tt.path, "")
		if r.code != 405 || !strings.Contains(r.header.Get("Allow"), tt.allow) ||
			!strings.Contains(r.body, "method "+tt.method+" not allowed on "+tt.path) {
			t.Errorf("%s %s: %d %q Allow=%q", tt.method, tt.path, r.code, r.body, r.header.Get("Allow"))
		}
	}
}

func TestHTTPQueryOptions(t *testing.T) {
	b := apitest.NewBackend()
	url := startHTTP(t, b)

	tests := []struct {
		method, query string
		want          structs.QueryOptions
	}{
		{"Job.List", "", structs.QueryOptions{MaxQueryTime: 5 * time.Minute}},
		{"Job.List", "?index=1&wait=2s&stale&prefix=we",
			structs.QueryOptions{MinQueryIndex: 1, MaxQueryTime: 2 * time.Second, AllowStale: true, Prefix: "we"}},
		{"Job.List", "?wait=1h&stale=false", structs.QueryOptions{MaxQueryTime: 10 * time.Minute}},
		{"Node.List", "?prefix=ab&namespace=default&region=global",
			structs.QueryOptions{Prefix: "ab", MaxQueryTime: 5 * time.Minute, Namespace: "default", Region: "global"}},
	}
	paths := map[string]string{"Job.List": "/v1/jobs", "Node.List": "/v1/nodes"}
	for _, tt := range tests {
		if r := do(t, "GET", url+paths[tt.method]+tt.query, ""); r.code != 200 {
			t.Fatalf("%s: %d %s", tt.query, r.code, r.body)
		}
		if got, _ := b.LastQuery(tt.method); got != tt.want {
			t.Errorf("%s%s: query options %+v, want %+v", tt.method, tt.query, got, tt.want)
		}
	}

	for _, q := range []string{"?index=-1", "?index=abc", "?wait=forever", "?wait=-5s"} {
		if r := do(t, "GET", url+"/v1/jobs"+q, ""); r.code != 400 || !strings.Contains(r.body, "invalid") {
			t.Errorf("%s: %d %q, want 400", q, r.code, r.body)
		}
	}
}

func TestHTTPBlockingQuery(t *testing.T) {
	b := apitest.NewBackend()
	url := startHTTP(t, b)
	b.UpsertJob(apitest.Job("web"))

	r := do(t, "GET", url+"/v1/job/web", "")
	index, err := strconv.ParseUint(r.header.Get("X-Orch-Index"), 10, 64)
	if err != nil || index == 0 {
		t.Fatalf("X-Orch-Index %q: %v", r.header.Get("X-Orch-Index"), err)
	}
	for _, h := range []string{"X-Nomad-Index", "X-Orch-KnownLeader", "X-Nomad-KnownLeader", "X-Orch-LastContact", "X-Nomad-LastContact"} {
		if r.header.Get(h) == "" {
			t.Errorf("header %s missing: %v", h, r.header)
		}
	}

	// Nothing changes: the query waits out its wait and answers the same index.
	start := time.Now()
	r = do(t, "GET", url+"/v1/job/web?index="+strconv.FormatUint(index, 10)+"&wait=100ms", "")
	if r.code != 200 || r.header.Get("X-Orch-Index") != strconv.FormatUint(index, 10) {
		t.Errorf("timed out blocking query: %d %v", r.code, r.header)
	}
	if waited := time.Since(start); waited < 100*time.Millisecond {
		t.Errorf("blocking query answered after %v, before its wait", waited)
	}

	// A write wakes the query, which answers the new index.
	done := make(chan response, 1)
	go func() {
		done <- do(t, "GET", url+"/v1/job/web?index="+strconv.FormatUint(index, 10)+"&wait=1m", "")
	}()
	job := apitest.Job("web")
	job.Priority = 70
	newIndex := b.UpsertJob(job)
	select {
	case r := <-done:
		if r.header.Get("X-Orch-Index") != strconv.FormatUint(newIndex, 10) || !strings.Contains(r.body, `"Priority":70`) {
			t.Errorf("woken query: %v %s", r.header, r.body)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("blocking query not woken by a write")
	}
}

func TestHTTPDeregister(t *testing.T) {
	b := apitest.NewBackend()
	url := startHTTP(t, b)
	b.UpsertJob(apitest.Job("web"))
	b.UpsertJob(apitest.Job("api"))

	r := do(t, "DELETE", url+"/v1/job/web", "")
	got := decode[map[string]any](t, r.body)
	for _, k := range []string{"EvalID", "EvalCreateIndex", "JobModifyIndex", "Index"} {
		if _, ok := got[k]; !ok {
			t.Errorf("deregister response lacks %q: %s", k, r.body)
		}
	}
	if j := b.Job("web"); j == nil || !j.Stop {
		t.Errorf("job after stop: %+v", j)
	}
	if r := do(t, "DELETE", url+"/v1/job/api?purge=true", ""); r.code != 200 || b.Job("api") != nil {
		t.Errorf("purge: %d %s, job %+v", r.code, r.body, b.Job("api"))
	}
	if r := do(t, "DELETE", url+"/v1/job/web?purge=perhaps", ""); r.code != 400 || !strings.Contains(r.body, `invalid purge "perhaps"`) {
		t.Errorf("bad purge: %d %s", r.code, r.body)
	}
}

func TestHTTPLists(t *testing.T) {
	b := apitest.NewBackend()
	url := startHTTP(t, b)

	// Empty lists are [] rather than null.
	for _, p := range []string{"/v1/jobs", "/v1/nodes", "/v1/allocations", "/v1/evaluations", "/v1/job/x/allocations", "/v1/job/x/evaluations"} {
		if r := do(t, "GET", url+p, ""); r.code != 200 || strings.TrimSpace(r.body) != "[]" {
			t.Errorf("GET %s on an empty cluster: %d %q", p, r.code, r.body)
		}
	}

	job := apitest.Job("web")
	b.UpsertJob(job)
	b.UpsertJob(apitest.Job("worker"))
	node := apitest.Node("a1b2c3d4-0000-0000-0000-000000000000", "node-1")
	b.UpsertNode(node)
	b.UpsertNode(apitest.Node("f0000000-0000-0000-0000-000000000000", "node-2"))
	b.UpsertEval(apitest.Eval("e1000000-0000-0000-0000-000000000000", job))
	b.UpsertAlloc(apitest.Alloc("c1000000-0000-0000-0000-000000000000", "e1000000-0000-0000-0000-000000000000", job, node, "web", 0))
	b.UpsertAlloc(apitest.Alloc("c2000000-0000-0000-0000-000000000000", "e1000000-0000-0000-0000-000000000000", job, node, "web", 1))

	jobs := decode[[]map[string]any](t, do(t, "GET", url+"/v1/jobs?prefix=wo", "").body)
	if len(jobs) != 1 || jobs[0]["ID"] != "worker" || jobs[0]["Type"] != "service" {
		t.Errorf("jobs with prefix wo: %v", jobs)
	}
	nodes := decode[[]map[string]any](t, do(t, "GET", url+"/v1/nodes?prefix=a1", "").body)
	if len(nodes) != 1 || nodes[0]["Name"] != "node-1" || nodes[0]["Status"] != "ready" || nodes[0]["SchedulingEligibility"] != "eligible" {
		t.Errorf("nodes with prefix a1: %v", nodes)
	}
	allocs := decode[[]map[string]any](t, do(t, "GET", url+"/v1/allocations?prefix=c2", "").body)
	if len(allocs) != 1 || allocs[0]["Name"] != "web.web[1]" || allocs[0]["ClientStatus"] != "running" {
		t.Errorf("allocs with prefix c2: %v", allocs)
	}
	if got := decode[[]map[string]any](t, do(t, "GET", url+"/v1/job/web/allocations", "").body); len(got) != 2 {
		t.Errorf("job allocations: %v", got)
	}
	evals := decode[[]map[string]any](t, do(t, "GET", url+"/v1/job/web/evaluations", "").body)
	if len(evals) != 1 || evals[0]["Status"] != "complete" || evals[0]["TriggeredBy"] != "job-register" {
		t.Errorf("job evaluations: %v", evals)
	}

	n := decode[map[string]any](t, do(t, "GET", url+"/v1/node/"+node.ID, "").body)
	if n["Datacenter"] != "dc1" || n["NodeResources"].(map[string]any)["MemoryMB"] != float64(8192) {
		t.Errorf("node JSON: %v", n)
	}
	if _, ok := n["SecretID"]; ok {
		t.Errorf("node JSON shows its SecretID: %v", n)
	}
	a := decode[map[string]any](t, do(t, "GET", url+"/v1/allocation/c1000000-0000-0000-0000-000000000000", "").body)
	if a["TaskGroup"] != "web" || a["TaskStates"].(map[string]any)["server"] == nil || a["AllocatedResources"] == nil {
		t.Errorf("allocation JSON: %v", a)
	}
	e := decode[map[string]any](t, do(t, "GET", url+"/v1/evaluation/e1000000-0000-0000-0000-000000000000", "").body)
	if e["JobID"] != "web" {
		t.Errorf("evaluation JSON: %v", e)
	}
}

func TestHTTPStatusAndAgent(t *testing.T) {
	b := apitest.NewBackend()
	url := startHTTP(t, b)

	if r := do(t, "GET", url+"/v1/status/leader", ""); r.code != 200 || strings.TrimSpace(r.body) != `"127.0.0.1:4647"` {
		t.Errorf("leader: %d %q", r.code, r.body)
	}
	m := decode[map[string]any](t, do(t, "GET", url+"/v1/agent/members", "").body)
	members := m["Members"].([]any)
	if m["ServerName"] != "server-1.global" || len(members) != 1 || members[0].(map[string]any)["Tags"].(map[string]any)["role"] != "server" {
		t.Errorf("members: %v", m)
	}
	if r := do(t, "GET", url+"/v1/agent/health", ""); r.code != 200 || !strings.Contains(r.body, `"server":{"ok":true`) {
		t.Errorf("health: %d %q", r.code, r.body)
	}
	b.SetHealth(&structs.AgentHealthResponse{
		Server: &structs.AgentHealth{Ok: false, Message: "no leader"},
		Client: &structs.AgentHealth{Ok: true, Message: "ok"},
	})
	if r := do(t, "GET", url+"/v1/agent/health", ""); r.code != 503 || !strings.Contains(r.body, "no leader") {
		t.Errorf("unhealthy: %d %q", r.code, r.body)
	}
}

func TestHTTPShutdownEndsBlockingQueries(t *testing.T) {
	b := apitest.NewBackend()
	s, err := NewHTTPServer("127.0.0.1:0", b, nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		resp, err := http.Get("http://" + s.Addr() + "/v1/jobs?index=1000&wait=5m")
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	// Wait until the query is in the backend, then shut down with a short deadline.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if q, ok := b.LastQuery("Job.List"); ok && q.MinQueryIndex == 1000 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("blocking query never reached the backend")
		}
		time.Sleep(5 * time.Millisecond) // poll with a deadline
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := s.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("shutdown with a query in flight: %v, want deadline exceeded", err)
	}
	select {
	case err := <-done:
		if err == nil {
			t.Error("blocking query answered normally after a forced shutdown")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("blocking query still open after shutdown")
	}
}

func TestHTTPJobRegisterDefaultsAbsentCount(t *testing.T) {
	b := apitest.NewBackend()
	url := startHTTP(t, b)
	body := `{"Job": {"ID": "web", "TaskGroups": [` +
		`{"Name": "absent", "Tasks": [{"Name": "t", "Driver": "raw_exec"}]},` +
		`{"Name": "zero", "Count": 0, "Tasks": [{"Name": "t", "Driver": "raw_exec"}]}]}}`
	if r := do(t, "PUT", url+"/v1/jobs", body); r.code != http.StatusOK {
		t.Fatalf("register: %d %s", r.code, r.body)
	}
	job := b.Job("web")
	if got := job.LookupTaskGroup("absent").Count; got != 1 {
		t.Errorf("group without Count: Count = %d, want 1 (Nomad's default)", got)
	}
	if got := job.LookupTaskGroup("zero").Count; got != 0 {
		t.Errorf("group with Count 0: Count = %d, want 0 as given", got)
	}
}

func TestHTTPJobPlan(t *testing.T) {
	b := apitest.NewBackend()
	url := startHTTP(t, b)
	stored := apitest.Job("web")
	b.UpsertJob(stored)
	var gotDiff bool
	b.OnPlan(func(req *structs.JobPlanRequest, reply *structs.JobPlanResponse) {
		gotDiff = req.Diff
		reply.Annotations = &structs.PlanAnnotations{DesiredTGUpdates: map[string]*structs.DesiredUpdates{"web": {Place: 2}}}
	})
	next := apitest.Job("web")
	next.TaskGroups[0].Count = 3
	body := strings.TrimSuffix(jobBody(t, next), "}") + `, "Diff": true}`
	r := do(t, "PUT", url+"/v1/job/web/plan", body)
	if r.code != 200 || !gotDiff {
		t.Fatalf("plan: %d %q (diff asked: %v)", r.code, r.body, gotDiff)
	}
	resp := decode[structs.JobPlanResponse](t, r.body)
	if resp.JobModifyIndex != b.Job("web").JobModifyIndex || resp.Diff == nil || resp.Diff.Type != structs.DiffTypeEdited ||
		resp.Annotations.DesiredTGUpdates["web"].Place != 2 {
		t.Errorf("plan response: %s", r.body)
	}
	if r.header.Get("X-Orch-Index") == "" {
		t.Errorf("plan response has no index header")
	}
	if got := b.Job("web"); got.TaskGroups[0].Count != 1 {
		t.Errorf("plan changed the stored job: count %d", got.TaskGroups[0].Count)
	}
	if r := do(t, "POST", url+"/v1/job/other/plan", body); r.code != 400 || !strings.Contains(r.body, `does not match "other"`) {
		t.Errorf("ID mismatch: %d %q", r.code, r.body)
	}
	if r := do(t, "GET", url+"/v1/job/web/plan", ""); r.code != 405 {
		t.Errorf("GET plan: %d %q", r.code, r.body)
	}
}
