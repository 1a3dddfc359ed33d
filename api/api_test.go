package api_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/api/apitest"
	"github.com/orch-io/orch/command/agent"
	"github.com/orch-io/orch/structs"
)

// The client is tested against the real HTTP server of command/agent, over
// apitest.Backend, an in-memory fake of the cluster (the real server is
// written in parallel).

func startAgent(t *testing.T) (*api.Client, *apitest.Backend) {
	t.Helper()
	b := apitest.NewBackend()
	s, err := agent.NewHTTPServer("127.0.0.1:0", b, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
	})
	c, err := api.NewClient(&api.Config{Address: "http://" + s.Addr()})
	if err != nil {
		t.Fatal(err)
	}
	return c, b
}

func TestNewClientAddress(t *testing.T) {
	t.Setenv("ORCH_ADDR", "")
	tests := []struct{ in, want, err string }{
		{"", "http://127.0.0.1:4646", ""},
		{"10.0.0.1:4646", "http://10.0.0.1:4646", ""},
		{"https://orch.example.com:4646/", "https://orch.example.com:4646", ""},
		{"ftp://x:1", "", `invalid agent address "ftp://x:1": scheme "ftp": must be http or https`},
		{"http://", "", `invalid agent address "http://": no host`},
		{"http://x:1/?a=b", "", "must not have a query"},
	}
	for _, tt := range tests {
		c, err := api.NewClient(&api.Config{Address: tt.in})
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("NewClient(%q): %v, want error %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || c.Address() != tt.want {
			t.Errorf("NewClient(%q): %v, %v, want %q", tt.in, c, err, tt.want)
		}
	}
	t.Setenv("ORCH_ADDR", "http://192.0.2.1:4646")
	if c, err := api.NewClient(nil); err != nil || c.Address() != "http://192.0.2.1:4646" {
		t.Errorf("NewClient with ORCH_ADDR: %v %v", c, err)
	}
}

func TestConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := "http://" + ln.Addr().String()
	ln.Close()
	c, err := api.NewClient(&api.Config{Address: addr})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = c.Jobs().List(nil)
	var ce *api.ConnError
	if !errors.As(err, &ce) {
		t.Fatalf("List against a closed port: %T %v, want *api.ConnError", err, err)
	}
	want := "cannot reach the orch agent at " + addr +
		`: connection refused (is "orch agent" running? set ORCH_ADDR or -address)`
	if err.Error() != want {
		t.Errorf("error text:\n got %s\nwant %s", err, want)
	}
}

func TestJobsRoundTrip(t *testing.T) {
	c, b := startAgent(t)
	job := apitest.Job("web")

	reg, err := c.Jobs().Register(job)
	if err != nil {
		t.Fatal(err)
	}
	if reg.EvalID == "" || reg.Index == 0 || reg.EvalCreateIndex != reg.Index {
		t.Errorf("register response: %+v", reg)
	}

	got, meta, err := c.Jobs().Info("web", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != "web" || got.TaskGroups[0].Tasks[0].Resources.MemoryMB != 128 || meta.LastIndex == 0 || !meta.KnownLeader {
		t.Errorf("info: %+v %+v", got, meta)
	}

	b.UpsertJob(apitest.Job("worker"))
	list, _, err := c.Jobs().List(&api.QueryOptions{Prefix: "wor"})
	if err != nil || len(list) != 1 || list[0].ID != "worker" {
		t.Errorf("list prefix wor: %v %v", list, err)
	}

	evals, _, err := c.Jobs().Evaluations("web", nil)
	if err != nil || len(evals) != 1 || evals[0].ID != reg.EvalID {
		t.Errorf("evaluations: %v %v", evals, err)
	}
	node := apitest.Node("11111111-0000-0000-0000-000000000000", "node-1")
	b.UpsertAlloc(apitest.Alloc("22222222-0000-0000-0000-000000000000", reg.EvalID, got, node, "web", 0))
	allocs, _, err := c.Jobs().Allocations("web", nil)
	if err != nil || len(allocs) != 1 || allocs[0].EvalID != reg.EvalID || allocs[0].TaskGroup != "web" {
		t.Errorf("allocations: %v %v", allocs, err)
	}

	dereg, err := c.Jobs().Deregister("web", false)
	if err != nil || dereg.EvalID == "" || !b.Job("web").Stop {
		t.Errorf("deregister: %+v %v", dereg, err)
	}
	if _, err := c.Jobs().Deregister("worker", true); err != nil || b.Job("worker") != nil {
		t.Errorf("purge: %v", err)
	}
}

func TestErrorsCarryTheAgentsMessage(t *testing.T) {
	c, b := startAgent(t)

	_, _, err := c.Jobs().Info("nope", nil)
	var apiErr *api.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 || apiErr.Message != `job "nope" not found` || !api.IsNotFound(err) {
		t.Errorf("unknown job: %#v", err)
	}

	msg := `invalid job: group "web": count = -1: must be >= 0`
	b.FailRPC("Job.Register", errors.New(msg))
	_, err = c.Jobs().Register(apitest.Job("web"))
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || err.Error() != msg {
		t.Errorf("invalid job: %#v", err)
	}

	if _, _, err := c.Jobs().Info("", nil); err == nil || err.Error() != "empty job ID" {
		t.Errorf("empty ID: %v", err)
	}
	// IDs are escaped as one path segment.
	if _, _, err := c.Allocations().Info("a/b?c", nil); !api.IsNotFound(err) || !strings.Contains(err.Error(), `"a/b?c"`) {
		t.Errorf("ID with slash: %v", err)
	}
}

func TestBlockingQueryOptions(t *testing.T) {
	c, b := startAgent(t)
	job := apitest.Job("web")
	b.UpsertJob(job)
	eval := apitest.Eval("33333333-0000-0000-0000-000000000000", job)
	eval.Status = structs.EvalStatusPending
	b.UpsertEval(eval)

	got, meta, err := c.Evaluations().Info(eval.ID, nil)
	if err != nil || got.Status != structs.EvalStatusPending {
		t.Fatalf("info: %+v %v", got, err)
	}

	// The options reach the server as QueryOptions.
	_, meta2, err := c.Evaluations().Info(eval.ID, &api.QueryOptions{WaitIndex: meta.LastIndex, WaitTime: 50 * time.Millisecond, AllowStale: true})
	if err != nil || meta2.LastIndex != meta.LastIndex {
		t.Fatalf("timed-out blocking query: %+v %v", meta2, err)
	}
	q, _ := b.LastQuery("Eval.GetEval")
	if q.MinQueryIndex != meta.LastIndex || q.MaxQueryTime != 50*time.Millisecond || !q.AllowStale {
		t.Errorf("query options at the server: %+v", q)
	}

	// A change wakes the query.
	type result struct {
		eval *structs.Evaluation
		meta *api.QueryMeta
		err  error
	}
	done := make(chan result, 1)
	go func() {
		e, m, err := c.Evaluations().Info(eval.ID, &api.QueryOptions{WaitIndex: meta.LastIndex, WaitTime: time.Minute})
		done <- result{e, m, err}
	}()
	eval.Status = structs.EvalStatusComplete
	idx := b.UpsertEval(eval)
	select {
	case r := <-done:
		if r.err != nil || r.eval.Status != structs.EvalStatusComplete || r.meta.LastIndex != idx {
			t.Errorf("woken query: %+v %+v %v", r.eval, r.meta, r.err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("blocking query not woken")
	}

	// A context cancels a blocking query.
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, _, err := c.Evaluations().Info(eval.ID, &api.QueryOptions{WaitIndex: idx, WaitTime: time.Minute, Context: ctx})
		errc <- err
	}()
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("canceled query: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("canceled query did not return")
	}
}

func TestNodesAllocationsEvaluations(t *testing.T) {
	c, b := startAgent(t)
	job := apitest.Job("web")
	b.UpsertJob(job)
	n1 := apitest.Node("aa000000-0000-0000-0000-000000000000", "node-1")
	n2 := apitest.Node("ab000000-0000-0000-0000-000000000000", "node-2")
	b.UpsertNode(n1)
	b.UpsertNode(n2)
	ev := apitest.Eval("ee000000-0000-0000-0000-000000000000", job)
	b.UpsertEval(ev)
	b.UpsertAlloc(apitest.Alloc("cc000000-0000-0000-0000-000000000000", ev.ID, job, n1, "web", 0))

	nodes, _, err := c.Nodes().List(&api.QueryOptions{Prefix: "a"})
	if err != nil || len(nodes) != 2 {
		t.Errorf("nodes: %v %v", nodes, err)
	}
	node, _, err := c.Nodes().Info(n2.ID, nil)
	if err != nil || node.Name != "node-2" || node.NodeResources.CPU != 4000 || !node.Drivers["raw_exec"].Healthy {
		t.Errorf("node: %+v %v", node, err)
	}
	allocs, _, err := c.Allocations().List(&api.QueryOptions{Prefix: "cc"})
	if err != nil || len(allocs) != 1 || allocs[0].NodeID != n1.ID {
		t.Errorf("allocs: %v %v", allocs, err)
	}
	alloc, _, err := c.Allocations().Info(allocs[0].ID, nil)
	if err != nil || alloc.TaskStates["server"].State != structs.TaskStateRunning || alloc.Job == nil {
		t.Errorf("alloc: %+v %v", alloc, err)
	}
	evals, _, err := c.Evaluations().List(&api.QueryOptions{Prefix: "ee"})
	if err != nil || len(evals) != 1 || evals[0].JobID != "web" {
		t.Errorf("evals: %v %v", evals, err)
	}
}

func TestStatusAndAgent(t *testing.T) {
	c, b := startAgent(t)
	if leader, err := c.Status().Leader(); err != nil || leader != apitest.DefaultLeader {
		t.Errorf("leader: %q %v", leader, err)
	}
	m, err := c.Agent().Members()
	if err != nil || len(m.Members) != 1 || m.Members[0].Tags["role"] != "server" || m.ServerDC != "dc1" {
		t.Errorf("members: %+v %v", m, err)
	}
	h, err := c.Agent().Health()
	if err != nil || !h.Server.Ok || !h.Client.Ok {
		t.Errorf("health: %+v %v", h, err)
	}
	b.SetHealth(&structs.AgentHealthResponse{Server: &structs.AgentHealth{Ok: false, Message: "no leader"}})
	h, err = c.Agent().Health()
	if err != nil || h.Server.Ok || h.Server.Message != "no leader" || h.Client != nil {
		t.Errorf("unhealthy: %+v %v", h, err)
	}
}

func TestWritesRetryWhileThereIsNoLeader(t *testing.T) {
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= 2 {
			http.Error(w, "no cluster leader", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte(`{"EvalID":"e1"}`))
	}))
	defer srv.Close()
	c, err := api.NewClient(&api.Config{Address: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := c.Jobs().Register(apitest.Job("web"))
	if err != nil || reg.EvalID != "e1" || calls.Load() != 3 {
		t.Fatalf("Register = %+v, %v after %d calls; want e1 after 3", reg, err, calls.Load())
	}

	// Past the bound the 503 is returned.
	calls.Store(-1000)
	c, _ = api.NewClient(&api.Config{Address: srv.URL, NoLeaderRetry: 250 * time.Millisecond})
	_, err = c.Jobs().Register(apitest.Job("web"))
	var apiErr *api.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 503 || calls.Load() < -998 {
		t.Fatalf("Register with no leader for good = %v after %d calls; want 503 after retries", err, calls.Load()+1000)
	}
	// Retrying is off with a negative bound.
	calls.Store(0)
	c, _ = api.NewClient(&api.Config{Address: srv.URL, NoLeaderRetry: -1})
	if _, err := c.Jobs().Register(apitest.Job("web")); !errors.As(err, &apiErr) || calls.Load() != 1 {
		t.Fatalf("Register without retry = %v after %d calls; want 503 after 1", err, calls.Load())
	}
}

// A write answered "indeterminate" is retried with the request ID it was
// first sent with, which is what makes the retry safe; each logical write has
// its own ID.
func TestWritesRetryIndeterminateWithTheSameRequestID(t *testing.T) {
	var mu sync.Mutex
	var ids []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		ids = append(ids, r.Header.Get(api.HeaderRequestID))
		n := len(ids)
		mu.Unlock()
		switch n {
		case 1:
			w.Header().Set(api.HeaderErrorCode, "indeterminate")
			http.Error(w, "leadership lost while committing log", http.StatusServiceUnavailable)
		case 2:
			w.Header().Set(api.HeaderErrorCode, "no_leader")
			http.Error(w, "no cluster leader", http.StatusServiceUnavailable)
		default:
			w.Write([]byte(`{"EvalID":"e1"}`))
		}
	}))
	defer srv.Close()
	c, err := api.NewClient(&api.Config{Address: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Jobs().Register(apitest.Job("web")); err != nil {
		t.Fatalf("Register: %v", err)
	}
	if _, err := c.Jobs().Register(apitest.Job("web")); err != nil {
		t.Fatalf("second Register: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(ids) != 4 || ids[0] == "" || ids[1] != ids[0] || ids[2] != ids[0] || ids[3] == ids[0] {
		t.Errorf("request IDs sent = %q; want one ID on the 3 attempts of the first write, another for the second", ids)
	}
}

// A 409 (or any error that is not a 503) is not retried.
func TestWritesDoNotRetryConflicts(t *testing.T) {
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set(api.HeaderErrorCode, "conflict")
		http.Error(w, "enforcing job modify index 0", http.StatusConflict)
	}))
	defer srv.Close()
	c, _ := api.NewClient(&api.Config{Address: srv.URL})
	_, err := c.Jobs().Register(apitest.Job("web"))
	var apiErr *api.Error
	if !errors.As(err, &apiErr) || apiErr.Code != "conflict" || calls.Load() != 1 {
		t.Fatalf("Register = %v (%+v) after %d calls; want one 409 with code conflict", err, apiErr, calls.Load())
	}
}
