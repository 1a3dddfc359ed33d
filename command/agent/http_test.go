package agent_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/command/agent"
	"github.com/orch-io/orch/internal/agenttest"
	"github.com/orch-io/orch/internal/structstest"
	"github.com/orch-io/orch/structs"
)

// These tests run the HTTP API of a real in-process dev agent
// (internal/agenttest): a server with Raft on disk and, where a test needs
// nodes and allocations, a client running real raw_exec tasks. Failures the
// real agent cannot produce on demand come from agenttest.Faults, a wrapper
// of the agent's backend that fails chosen RPC methods.

// startServer starts a server-only agent and returns it with its API's URL.
func startServer(t *testing.T) (*agenttest.Agent, string) {
	t.Helper()
	a := agenttest.Start(t, agenttest.Options{})
	return a, a.URL
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

// storedJob reads job id through the API; nil when it does not exist.
func storedJob(t *testing.T, a *agenttest.Agent, id string) *structs.Job {
	t.Helper()
	job, _, err := a.API.Jobs().Info(id, nil)
	if err != nil {
		if strings.Contains(err.Error(), "not found") {
			return nil
		}
		t.Fatalf("reading job %q: %v", id, err)
	}
	return job
}

// waitEvalsTerminal waits until every evaluation of job id has finished, so
// that the scheduler no longer writes on its behalf.
func waitEvalsTerminal(t *testing.T, a *agenttest.Agent, id string) {
	t.Helper()
	err := agenttest.WaitFor(30*time.Second, func() (bool, string) {
		evals, _, err := a.API.Jobs().Evaluations(id, nil)
		if err != nil || len(evals) == 0 {
			return false, "no evaluations of " + id
		}
		for _, e := range evals {
			if e.Status == structs.EvalStatusPending {
				return false, "evaluation " + e.ID + " of " + id + " pending"
			}
		}
		return true, ""
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestHTTPJobRegisterAndGet(t *testing.T) {
	a, url := startServer(t)

	for _, method := range []string{"PUT", "POST"} {
		r := do(t, method, url+"/v1/jobs", jobBody(t, structstest.Job("web")))
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
		if e := do(t, "GET", url+"/v1/evaluation/"+got["EvalID"].(string), ""); e.code != 200 {
			t.Errorf("eval %v of the registration: %d %s", got["EvalID"], e.code, e.body)
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
	// Registering the same job again changes nothing of it: its version stays
	// (as in Nomad).
	if got := storedJob(t, a, "web"); got == nil || got.Version != 0 {
		t.Errorf("stored job after two identical registrations: %+v", got)
	}
	changed := structstest.Job("web")
	changed.Priority = 60
	if r := do(t, "PUT", url+"/v1/jobs", jobBody(t, changed)); r.code != 200 {
		t.Fatalf("changed job: %d %s", r.code, r.body)
	}
	if got := storedJob(t, a, "web"); got == nil || got.Version != 1 || got.Priority != 60 {
		t.Errorf("stored job after a change: %+v", got)
	}

	// PUT /v1/job/:id registers too, when the IDs agree.
	if r := do(t, "PUT", url+"/v1/job/web", jobBody(t, structstest.Job("web"))); r.code != 200 {
		t.Errorf("PUT /v1/job/web: %d %s", r.code, r.body)
	}
}

func TestHTTPJobRegisterRejectsBadInput(t *testing.T) {
	a, url := startServer(t)
	tests := []struct {
		name, path, body, want string
	}{
		{"id mismatch", "/v1/job/other", jobBody(t, structstest.Job("web")),
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
		{"negative count", "/v1/jobs", `{"Job": {"ID": "x", "TaskGroups": [{"Name": "web", "Count": -1, "Tasks": [{"Name": "t", "Driver": "raw_exec"}]}]}}`,
			"count"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := do(t, "PUT", url+tt.path, tt.body)
			if r.code != http.StatusBadRequest || !strings.Contains(r.body, tt.want) {
				t.Errorf("got %d %q, want 400 containing %q", r.code, r.body, tt.want)
			}
		})
	}
	if jobs, _, err := a.API.Jobs().List(nil); err != nil || len(jobs) != 0 {
		t.Errorf("jobs after bad input only: %v %v", jobs, err)
	}
}

func TestHTTPErrorMapping(t *testing.T) {
	a, url := startServer(t)
	faults, _, faultURL := a.ServeFaults(t)

	// A validation error of the server is the user's: 400, message whole.
	msg := "invalid job: group \"web\": count = -1: must be >= 0\ngroup \"web\": task \"a\": driver is empty"
	faults.Fail("Job.Register", structs.NewError(structs.CodeInvalid, "%s", msg))
	if r := do(t, "PUT", faultURL+"/v1/jobs", jobBody(t, structstest.Job("web"))); r.code != 400 || strings.TrimSpace(r.body) != msg {
		t.Errorf("validation error: %d %q", r.code, r.body)
	}
	// Anything else the server fails with is ours: 500.
	faults.Fail("Job.Register", structs.NewError(structs.CodeInternal, "raft: apply timed out"))
	if r := do(t, "PUT", faultURL+"/v1/jobs", jobBody(t, structstest.Job("web"))); r.code != 500 || !strings.Contains(r.body, "apply timed out") {
		t.Errorf("internal error: %d %q", r.code, r.body)
	}
	faults.Fail("Job.Register", nil)

	// A failed -check-index is a conflict: 409, with the body's EnforceIndex
	// and JobModifyIndex reaching the server.
	enforce := `{"Job": ` + strings.TrimPrefix(strings.TrimSuffix(jobBody(t, structstest.Job("web")), "}"), `{"Job":`) +
		`, "EnforceIndex": true, "JobModifyIndex": 9}`
	if r := do(t, "PUT", url+"/v1/jobs", enforce); r.code != 409 ||
		strings.TrimSpace(r.body) != `enforcing job modify index 9: job "web" does not exist` {
		t.Errorf("enforce index conflict: %d %q", r.code, r.body)
	}
	if storedJob(t, a, "web") != nil {
		t.Error("a failed check-index registered the job")
	}
}

// TestHTTPNoLeader runs a server that waits for peers that never come: it
// has no leader, so reads answer 503 unless they allow stale data, and writes
// answer 503. The server holds each request for a leader for its
// leader_wait_timeout (5 s) first: the two run side by side, and the test
// beside the others.
func TestHTTPNoLeader(t *testing.T) {
	t.Parallel()
	a := agenttest.Start(t, agenttest.Options{NoLeader: true})
	read, write := make(chan response, 1), make(chan response, 1)
	go func() { read <- do(t, "GET", a.URL+"/v1/jobs", "") }()
	go func() { write <- do(t, "PUT", a.URL+"/v1/jobs", jobBody(t, structstest.Job("web"))) }()

	if r := do(t, "GET", a.URL+"/v1/jobs?stale", ""); r.code != 200 || r.header.Get("X-Orch-KnownLeader") != "false" {
		t.Errorf("stale read without leader: %d %q %v", r.code, r.body, r.header)
	}
	if r := do(t, "GET", a.URL+"/v1/status/leader", ""); r.code != 200 || strings.TrimSpace(r.body) != `""` {
		t.Errorf("leader without one: %d %q", r.code, r.body)
	}
	if r := do(t, "GET", a.URL+"/v1/agent/health", ""); r.code != 500 || !strings.Contains(r.body, "no known cluster leader") {
		t.Errorf("health without a leader: %d %q", r.code, r.body)
	}
	if r := do(t, "GET", a.URL+"/v1/agent/health?type=live", ""); r.code != 200 || !strings.Contains(r.body, "alive") {
		t.Errorf("liveness without a leader: %d %q", r.code, r.body)
	}
	if r := do(t, "GET", a.URL+"/v1/agent/health?type=bogus", ""); r.code != 400 || !strings.Contains(r.body, "must be live or ready") {
		t.Errorf("bad type: %d %q", r.code, r.body)
	}
	if r := <-read; r.code != 503 || !strings.Contains(r.body, "no cluster leader") {
		t.Errorf("no leader: %d %q", r.code, r.body)
	}
	if r := <-write; r.code != 503 || !strings.Contains(r.body, "no cluster leader") {
		t.Errorf("no leader, write: %d %q", r.code, r.body)
	}
}

func TestHTTPNotFoundAndMethodNotAllowed(t *testing.T) {
	_, url := startServer(t)
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
	a, _ := startServer(t)
	faults, _, url := a.ServeFaults(t)

	tests := []struct {
		method, query string
		want          structs.QueryOptions
	}{
		{"Job.List", "", structs.QueryOptions{MaxQueryTime: 5 * time.Minute}},
		{"Job.List", "?index=1&wait=20ms&stale&prefix=we",
			structs.QueryOptions{MinQueryIndex: 1, MaxQueryTime: 20 * time.Millisecond, AllowStale: true, Prefix: "we"}},
		{"Job.List", "?wait=1h&stale=false", structs.QueryOptions{MaxQueryTime: 10 * time.Minute}},
		{"Node.List", "?prefix=ab&namespace=default&region=global",
			structs.QueryOptions{Prefix: "ab", MaxQueryTime: 5 * time.Minute, Namespace: "default", Region: "global"}},
	}
	paths := map[string]string{"Job.List": "/v1/jobs", "Node.List": "/v1/nodes"}
	for _, tt := range tests {
		if r := do(t, "GET", url+paths[tt.method]+tt.query, ""); r.code != 200 {
			t.Fatalf("%s: %d %s", tt.query, r.code, r.body)
		}
		if got, _ := faults.LastQuery(tt.method); got != tt.want {
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
	a, url := startServer(t)
	if _, err := a.API.Jobs().Register(structstest.Job("web")); err != nil {
		t.Fatal(err)
	}
	waitEvalsTerminal(t, a, "web")

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
	r = do(t, "GET", url+"/v1/job/web?index="+strconv.FormatUint(index, 10)+"&wait=100ms", "")
	if r.code != 200 || r.header.Get("X-Orch-Index") != strconv.FormatUint(index, 10) {
		t.Errorf("timed out blocking query: %d %v", r.code, r.header)
	}

	// A write wakes the query, which answers the new index.
	done := make(chan response, 1)
	go func() {
		done <- do(t, "GET", url+"/v1/job/web?index="+strconv.FormatUint(index, 10)+"&wait=1m", "")
	}()
	job := structstest.Job("web")
	job.Priority = 70
	reg, err := a.API.Jobs().Register(job)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-done:
		got, err := strconv.ParseUint(r.header.Get("X-Orch-Index"), 10, 64)
		if err != nil || got <= index || got > reg.Index || !strings.Contains(r.body, `"Priority":70`) {
			t.Errorf("woken query (write at index %d): %v %s", reg.Index, r.header, r.body)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("blocking query not woken by a write")
	}
}

func TestHTTPDeregister(t *testing.T) {
	a, url := startServer(t)
	for _, id := range []string{"web", "api"} {
		if _, err := a.API.Jobs().Register(structstest.Job(id)); err != nil {
			t.Fatal(err)
		}
	}

	r := do(t, "DELETE", url+"/v1/job/web", "")
	got := decode[map[string]any](t, r.body)
	for _, k := range []string{"EvalID", "EvalCreateIndex", "JobModifyIndex", "Index"} {
		if _, ok := got[k]; !ok {
			t.Errorf("deregister response lacks %q: %s", k, r.body)
		}
	}
	if j := storedJob(t, a, "web"); j == nil || !j.Stop {
		t.Errorf("job after stop: %+v", j)
	}
	if r := do(t, "DELETE", url+"/v1/job/api?purge=true", ""); r.code != 200 || storedJob(t, a, "api") != nil {
		t.Errorf("purge: %d %s, job %+v", r.code, r.body, storedJob(t, a, "api"))
	}
	if r := do(t, "DELETE", url+"/v1/job/web?purge=perhaps", ""); r.code != 400 || !strings.Contains(r.body, `invalid purge "perhaps"`) {
		t.Errorf("bad purge: %d %s", r.code, r.body)
	}
}

func TestHTTPListsEmpty(t *testing.T) {
	_, url := startServer(t)
	// Empty lists are [] rather than null.
	for _, p := range []string{"/v1/jobs", "/v1/nodes", "/v1/allocations", "/v1/evaluations", "/v1/job/x/allocations", "/v1/job/x/evaluations"} {
		if r := do(t, "GET", url+p, ""); r.code != 200 || strings.TrimSpace(r.body) != "[]" {
			t.Errorf("GET %s on an empty cluster: %d %q", p, r.code, r.body)
		}
	}
}

// runningAlloc registers job and waits until one of its allocations runs.
func runningAlloc(t *testing.T, a *agenttest.Agent, job *structs.Job) *structs.AllocListStub {
	t.Helper()
	if _, err := a.API.Jobs().Register(job); err != nil {
		t.Fatal(err)
	}
	var running *structs.AllocListStub
	err := agenttest.WaitFor(30*time.Second, func() (bool, string) {
		allocs, _, err := a.API.Jobs().Allocations(job.ID, &api.QueryOptions{Namespace: job.Namespace})
		if err != nil {
			return false, err.Error()
		}
		for _, al := range allocs {
			if al.ClientStatus == structs.AllocClientStatusRunning {
				running = al
				return true, ""
			}
		}
		return false, "no running allocation of " + job.ID
	})
	if err != nil {
		t.Fatal(err)
	}
	return running
}

func TestHTTPLists(t *testing.T) {
	a := agenttest.Start(t, agenttest.Options{Client: true, NodeName: "node-1"})
	url := a.URL
	alloc := runningAlloc(t, a, structstest.Job("web"))
	if _, err := a.API.Jobs().Register(structstest.Job("worker")); err != nil {
		t.Fatal(err)
	}

	jobs := decode[[]map[string]any](t, do(t, "GET", url+"/v1/jobs?prefix=wo", "").body)
	if len(jobs) != 1 || jobs[0]["ID"] != "worker" || jobs[0]["Type"] != "service" {
		t.Errorf("jobs with prefix wo: %v", jobs)
	}
	nodes := decode[[]map[string]any](t, do(t, "GET", url+"/v1/nodes?prefix="+a.NodeID[:4], "").body)
	if len(nodes) != 1 || nodes[0]["Name"] != "node-1" || nodes[0]["Status"] != "ready" || nodes[0]["SchedulingEligibility"] != "eligible" {
		t.Errorf("nodes with prefix %s: %v", a.NodeID[:4], nodes)
	}
	allocs := decode[[]map[string]any](t, do(t, "GET", url+"/v1/allocations?prefix="+alloc.ID[:8], "").body)
	if len(allocs) != 1 || allocs[0]["Name"] != "web.web[0]" || allocs[0]["ClientStatus"] != "running" {
		t.Errorf("allocs with prefix %s: %v", alloc.ID[:8], allocs)
	}
	if got := decode[[]map[string]any](t, do(t, "GET", url+"/v1/job/web/allocations", "").body); len(got) != 1 {
		t.Errorf("job allocations: %v", got)
	}
	evals := decode[[]map[string]any](t, do(t, "GET", url+"/v1/job/web/evaluations", "").body)
	if len(evals) != 1 || evals[0]["Status"] != "complete" || evals[0]["TriggeredBy"] != "job-register" {
		t.Errorf("job evaluations: %v", evals)
	}

	n := decode[map[string]any](t, do(t, "GET", url+"/v1/node/"+a.NodeID, "").body)
	if n["Datacenter"] != "dc1" || n["NodeResources"].(map[string]any)["Memory"].(map[string]any)["MemoryMB"].(float64) <= 0 {
		t.Errorf("node JSON: %v", n)
	}
	if _, ok := n["SecretID"]; ok {
		t.Errorf("node JSON shows its SecretID: %v", n)
	}
	al := decode[map[string]any](t, do(t, "GET", url+"/v1/allocation/"+alloc.ID, "").body)
	if al["TaskGroup"] != "web" || al["TaskStates"].(map[string]any)["server"] == nil || al["AllocatedResources"] == nil {
		t.Errorf("allocation JSON: %v", al)
	}
	e := decode[map[string]any](t, do(t, "GET", url+"/v1/evaluation/"+alloc.EvalID, "").body)
	if e["JobID"] != "web" {
		t.Errorf("evaluation JSON: %v", e)
	}
}

func TestHTTPStatusAndAgent(t *testing.T) {
	_, url := startServer(t)

	r := do(t, "GET", url+"/v1/status/leader", "")
	leader := decode[string](t, r.body)
	if r.code != 200 || !strings.HasPrefix(leader, "127.0.0.1:") {
		t.Errorf("leader: %d %q", r.code, r.body)
	}
	m := decode[map[string]any](t, do(t, "GET", url+"/v1/agent/members", "").body)
	members := m["Members"].([]any)
	if len(members) != 1 {
		t.Fatalf("members: %v", m)
	}
	tags := members[0].(map[string]any)["Tags"].(map[string]any)
	if m["ServerDC"] != "dc1" || tags["role"] != "nomad" || tags["rpc_addr"] != leader {
		t.Errorf("members: %v", m)
	}
	if r := do(t, "GET", url+"/v1/agent/health", ""); r.code != 200 || !strings.Contains(r.body, `"server":{"ok":true`) {
		t.Errorf("health: %d %q", r.code, r.body)
	}
}

func TestHTTPShutdownEndsBlockingQueries(t *testing.T) {
	a, _ := startServer(t)
	faults := a.Faults()
	s, err := agent.NewHTTPServer("127.0.0.1:0", faults, nil)
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		code int
		err  error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := http.Get("http://" + s.Addr() + "/v1/jobs?index=1000000&wait=5m")
		if err != nil {
			done <- result{err: err}
			return
		}
		resp.Body.Close()
		done <- result{code: resp.StatusCode}
	}()
	// Wait until the query is in the backend, then shut down.
	err = agenttest.WaitFor(10*time.Second, func() (bool, string) {
		q, ok := faults.LastQuery("Job.List")
		return ok && q.MinQueryIndex == 1000000, "the blocking query not at the backend"
	})
	if err != nil {
		t.Fatal(err)
	}
	// Shutdown ends the query (it answers what it has) instead of waiting
	// out its 5 minutes or the shutdown's deadline.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil || ctx.Err() != nil {
		t.Errorf("shutdown with a query in flight: %v (deadline passed: %v)", err, ctx.Err() != nil)
	}
	select {
	case r := <-done:
		if r.err != nil || r.code != http.StatusOK {
			t.Errorf("blocking query at shutdown: %d, %v; want it answered (200)", r.code, r.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("blocking query still open after shutdown")
	}
}

func TestHTTPJobRegisterDefaultsAbsentCount(t *testing.T) {
	a, url := startServer(t)
	body := `{"Job": {"ID": "web", "Datacenters": ["dc1"], "TaskGroups": [` +
		`{"Name": "absent", "Tasks": [{"Name": "t", "Driver": "raw_exec", "Config": {"command": "/bin/true"}}]},` +
		`{"Name": "zero", "Count": 0, "Tasks": [{"Name": "t", "Driver": "raw_exec", "Config": {"command": "/bin/true"}}]}]}}`
	if r := do(t, "PUT", url+"/v1/jobs", body); r.code != http.StatusOK {
		t.Fatalf("register: %d %s", r.code, r.body)
	}
	job := storedJob(t, a, "web")
	if got := job.LookupTaskGroup("absent").Count; got != 1 {
		t.Errorf("group without Count: Count = %d, want 1 (Nomad's default)", got)
	}
	if got := job.LookupTaskGroup("zero").Count; got != 0 {
		t.Errorf("group with Count 0: Count = %d, want 0 as given", got)
	}
}

func TestHTTPJobPlan(t *testing.T) {
	a, url := startServer(t)
	if _, err := a.API.Jobs().Register(structstest.Job("web")); err != nil {
		t.Fatal(err)
	}
	stored := storedJob(t, a, "web")
	next := structstest.Job("web")
	next.TaskGroups[0].Count = 3
	body := strings.TrimSuffix(jobBody(t, next), "}") + `, "Diff": true}`
	r := do(t, "PUT", url+"/v1/job/web/plan", body)
	if r.code != 200 {
		t.Fatalf("plan: %d %q", r.code, r.body)
	}
	resp := decode[structs.JobPlanResponse](t, r.body)
	if resp.JobModifyIndex != stored.JobModifyIndex || resp.Diff == nil || resp.Diff.Type != structs.DiffTypeEdited ||
		resp.Annotations == nil || resp.Annotations.DesiredTGUpdates["web"] == nil {
		t.Errorf("plan response: %s", r.body)
	}
	if r.header.Get("X-Orch-Index") == "" {
		t.Errorf("plan response has no index header")
	}
	if got := storedJob(t, a, "web"); got.TaskGroups[0].Count != 1 || got.JobModifyIndex != stored.JobModifyIndex {
		t.Errorf("plan changed the stored job: %+v", got)
	}
	if r := do(t, "POST", url+"/v1/job/other/plan", body); r.code != 400 || !strings.Contains(r.body, `does not match "other"`) {
		t.Errorf("ID mismatch: %d %q", r.code, r.body)
	}
	if r := do(t, "GET", url+"/v1/job/web/plan", ""); r.code != 405 {
		t.Errorf("GET plan: %d %q", r.code, r.body)
	}
}

// A blocking query whose caller hangs up ends on the server at once, not
// when its wait runs out: the request's context reaches the query.
func TestHTTPBlockingQueryEndsWhenTheCallerHangsUp(t *testing.T) {
	_, url := startServer(t)
	const n = 50
	baseline := runtime.NumGoroutine()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	errs := make(chan error, n)
	for range n {
		go func() {
			req, err := http.NewRequestWithContext(ctx, "GET", url+"/v1/jobs?index=1000000&wait=5m", nil)
			if err == nil {
				var resp *http.Response
				if resp, err = http.DefaultClient.Do(req); err == nil {
					resp.Body.Close()
				}
			}
			errs <- err
		}()
	}
	// Each waiting query holds goroutines on both sides of the connection.
	waitUntil(t, 10*time.Second, "the queries to be waiting", func() bool { return runtime.NumGoroutine() >= baseline+2*n })
	cancel()
	for range n {
		if err := <-errs; !errors.Is(err, context.Canceled) {
			t.Fatalf("a blocking query answered before its caller hung up: %v", err)
		}
	}
	// Well before the 5-minute wait: the server let go of every query.
	waitUntil(t, 20*time.Second, "the server to end the abandoned queries", func() bool { return runtime.NumGoroutine() < baseline+n/2 })
}

func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s (goroutines: %d)", timeout, what, runtime.NumGoroutine())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
