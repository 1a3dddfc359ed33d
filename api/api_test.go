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
	"github.com/orch-io/orch/internal/agenttest"
	"github.com/orch-io/orch/internal/structstest"
	"github.com/orch-io/orch/structs"
)

// The client is tested against the HTTP API of a real in-process dev agent
// (internal/agenttest).

// startAgent starts a server-only agent and returns a client of its API.
func startAgent(t *testing.T) (*api.Client, *agenttest.Agent) {
	t.Helper()
	a := agenttest.Start(t, agenttest.Options{})
	return a.API, a
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
	a := agenttest.Start(t, agenttest.Options{Client: true})
	c := a.API
	job := structstest.Job("web")

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

	if _, err := c.Jobs().Register(structstest.Job("worker")); err != nil {
		t.Fatal(err)
	}
	list, _, err := c.Jobs().List(&api.QueryOptions{Prefix: "wor"})
	if err != nil || len(list) != 1 || list[0].ID != "worker" {
		t.Errorf("list prefix wor: %v %v", list, err)
	}

	evals, _, err := c.Jobs().Evaluations("web", nil)
	if err != nil || len(evals) != 1 || evals[0].ID != reg.EvalID {
		t.Errorf("evaluations: %v %v", evals, err)
	}
	// The scheduler places the allocation on the agent's node.
	var allocs []*structs.AllocListStub
	err = agenttest.WaitFor(30*time.Second, func() (bool, string) {
		allocs, _, err = c.Jobs().Allocations("web", nil)
		return err == nil && len(allocs) == 1, "no allocation of web"
	})
	if err != nil || allocs[0].EvalID != reg.EvalID || allocs[0].TaskGroup != "web" || allocs[0].NodeID != a.NodeID {
		t.Errorf("allocations: %v %v", allocs, err)
	}

	dereg, err := c.Jobs().Deregister("web", false)
	if err != nil || dereg.EvalID == "" {
		t.Errorf("deregister: %+v %v", dereg, err)
	}
	if j, _, err := c.Jobs().Info("web", nil); err != nil || !j.Stop {
		t.Errorf("job after deregister: %+v %v", j, err)
	}
	if _, err := c.Jobs().Deregister("worker", true); err != nil {
		t.Errorf("purge: %v", err)
	}
	if _, _, err := c.Jobs().Info("worker", nil); !api.IsNotFound(err) {
		t.Errorf("job after purge: %v", err)
	}
}

func TestErrorsCarryTheAgentsMessage(t *testing.T) {
	c, a := startAgent(t)

	_, _, err := c.Jobs().Info("nope", nil)
	var apiErr *api.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 || apiErr.Message != `job "nope" not found` || !api.IsNotFound(err) {
		t.Errorf("unknown job: %#v", err)
	}

	// The server's validation error reaches the caller whole.
	bad := structstest.Job("web")
	bad.TaskGroups[0].Count = -1
	_, err = c.Jobs().Register(bad)
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || !strings.HasPrefix(err.Error(), "invalid job: ") ||
		!strings.Contains(err.Error(), "count") {
		t.Errorf("invalid job: %#v", err)
	}
	// So does a coded error of any RPC.
	faults, fc, _ := a.ServeFaults(t)
	faults.Fail("Job.Register", structs.NewError(structs.CodeConflict, "enforcing job modify index 3: job \"web\" exists with index 4"))
	_, err = fc.Jobs().Register(structstest.Job("web"))
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 409 || !strings.Contains(err.Error(), "exists with index 4") {
		t.Errorf("conflict: %#v", err)
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
	_, a := startAgent(t)
	faults, c, _ := a.ServeFaults(t)
	if _, err := c.Jobs().Register(structstest.Job("web")); err != nil {
		t.Fatal(err)
	}

	got, meta, err := c.Jobs().Info("web", nil)
	if err != nil || got.Priority != structs.DefaultJobPriority {
		t.Fatalf("info: %+v %v", got, err)
	}

	// The options reach the server as QueryOptions.
	_, meta2, err := c.Jobs().Info("web", &api.QueryOptions{WaitIndex: meta.LastIndex, WaitTime: 50 * time.Millisecond, AllowStale: true})
	if err != nil || meta2.LastIndex < meta.LastIndex {
		t.Fatalf("timed-out blocking query: %+v %v", meta2, err)
	}
	q, _ := faults.LastQuery("Job.GetJob")
	if q.MinQueryIndex != meta.LastIndex || q.MaxQueryTime != 50*time.Millisecond || !q.AllowStale {
		t.Errorf("query options at the server: %+v", q)
	}

	// A change wakes the query.
	type result struct {
		job  *structs.Job
		meta *api.QueryMeta
		err  error
	}
	_, meta, err = c.Jobs().Info("web", nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan result, 1)
	go func() {
		j, m, err := c.Jobs().Info("web", &api.QueryOptions{WaitIndex: meta.LastIndex, WaitTime: time.Minute})
		done <- result{j, m, err}
	}()
	changed := structstest.Job("web")
	changed.Priority = 70
	reg, err := c.Jobs().Register(changed)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-done:
		if r.err != nil || r.job.Priority != 70 || r.meta.LastIndex <= meta.LastIndex || r.meta.LastIndex > reg.Index {
			t.Errorf("woken query (write at %d): %+v %+v %v", reg.Index, r.job, r.meta, r.err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("blocking query not woken")
	}

	// A context cancels a blocking query.
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, _, err := c.Jobs().Info("web", &api.QueryOptions{WaitIndex: reg.Index + 1000, WaitTime: time.Minute, Context: ctx})
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
	a := agenttest.Start(t, agenttest.Options{Client: true, NodeName: "node-1"})
	c := a.API
	reg, err := c.Jobs().Register(structstest.Job("web"))
	if err != nil {
		t.Fatal(err)
	}

	nodes, _, err := c.Nodes().List(&api.QueryOptions{Prefix: a.NodeID[:2]})
	if err != nil || len(nodes) != 1 {
		t.Errorf("nodes: %v %v", nodes, err)
	}
	node, _, err := c.Nodes().Info(a.NodeID, nil)
	if err != nil || node.Name != "node-1" || node.NodeResources.CPU <= 0 || !node.Drivers["raw_exec"].Healthy {
		t.Errorf("node: %+v %v", node, err)
	}
	var alloc *structs.Allocation
	err = agenttest.WaitFor(30*time.Second, func() (bool, string) {
		allocs, _, err := c.Allocations().List(nil)
		if err != nil || len(allocs) != 1 {
			return false, "no allocation"
		}
		if alloc, _, err = c.Allocations().Info(allocs[0].ID, nil); err != nil {
			return false, err.Error()
		}
		ts := alloc.TaskStates["server"]
		return ts != nil && ts.State == structs.TaskStateRunning, "task server not running"
	})
	if err != nil || alloc.NodeID != a.NodeID || alloc.Job == nil {
		t.Fatalf("alloc: %+v %v", alloc, err)
	}
	if allocs, _, err := c.Allocations().List(&api.QueryOptions{Prefix: alloc.ID[:4]}); err != nil || len(allocs) != 1 {
		t.Errorf("allocs with prefix %s: %v %v", alloc.ID[:4], allocs, err)
	}
	evals, _, err := c.Evaluations().List(&api.QueryOptions{Prefix: reg.EvalID[:4]})
	if err != nil || len(evals) != 1 || evals[0].JobID != "web" {
		t.Errorf("evals: %v %v", evals, err)
	}
	if ev, _, err := c.Evaluations().Info(reg.EvalID, nil); err != nil || ev.Status != structs.EvalStatusComplete {
		t.Errorf("eval: %+v %v", ev, err)
	}
}

func TestStatusAndAgent(t *testing.T) {
	c, _ := startAgent(t)
	leader, err := c.Status().Leader()
	if err != nil || !strings.HasPrefix(leader, "127.0.0.1:") {
		t.Errorf("leader: %q %v", leader, err)
	}
	m, err := c.Agent().Members()
	if err != nil || len(m.Members) != 1 || m.Members[0].Tags["role"] != "nomad" || m.ServerDC != "dc1" {
		t.Errorf("members: %+v %v", m, err)
	}
	h, err := c.Agent().Health()
	if err != nil || !h.Server.Ok || h.Client != nil {
		t.Errorf("health of a server-only agent: %+v %v", h, err)
	}

	// A server without a leader is unhealthy; the client says why.
	none := agenttest.Start(t, agenttest.Options{NoLeader: true})
	h, err = none.API.Agent().Health()
	if err != nil || h.Server.Ok || h.Server.Message != "no known cluster leader" || h.Client != nil {
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
	reg, err := c.Jobs().Register(structstest.Job("web"))
	if err != nil || reg.EvalID != "e1" || calls.Load() != 3 {
		t.Fatalf("Register = %+v, %v after %d calls; want e1 after 3", reg, err, calls.Load())
	}

	// Past the bound the 503 is returned.
	calls.Store(-1000)
	c, _ = api.NewClient(&api.Config{Address: srv.URL, NoLeaderRetry: 250 * time.Millisecond})
	_, err = c.Jobs().Register(structstest.Job("web"))
	var apiErr *api.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 503 || calls.Load() < -998 {
		t.Fatalf("Register with no leader for good = %v after %d calls; want 503 after retries", err, calls.Load()+1000)
	}
	// Retrying is off with a negative bound.
	calls.Store(0)
	c, _ = api.NewClient(&api.Config{Address: srv.URL, NoLeaderRetry: -1})
	if _, err := c.Jobs().Register(structstest.Job("web")); !errors.As(err, &apiErr) || calls.Load() != 1 {
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
	if _, err := c.Jobs().Register(structstest.Job("web")); err != nil {
		t.Fatalf("Register: %v", err)
	}
	if _, err := c.Jobs().Register(structstest.Job("web")); err != nil {
		t.Fatalf("second Register: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(ids) != 4 || ids[0] == "" || ids[1] != ids[0] || ids[2] != ids[0] || ids[3] == ids[0] {
		t.Errorf("request IDs sent = %q; want one ID on the 3 attempts of the first write, another for the second", ids)
	}
}

// A write answered indeterminate whose retry cannot reach the agent (it
// died) stays indeterminate: the first attempt may have been applied, so the
// caller must not be told the write failed.
func TestWriteIndeterminateThenUnreachableStaysIndeterminate(t *testing.T) {
	srv := httptest.NewUnstartedServer(nil)
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		srv.Listener.Close() // the agent goes away: the retry is refused
		w.Header().Set(api.HeaderErrorCode, "indeterminate")
		http.Error(w, "leadership lost while committing log", http.StatusServiceUnavailable)
	})
	srv.Config.SetKeepAlivesEnabled(false)
	srv.Start()
	defer srv.Close()
	c, err := api.NewClient(&api.Config{Address: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Jobs().Register(structstest.Job("web"))
	var apiErr *api.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusServiceUnavailable || apiErr.Code != "indeterminate" {
		t.Fatalf("Register = %v (%T), want the indeterminate 503 of the first attempt", err, err)
	}
	if !strings.Contains(err.Error(), "a retry then failed") || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("error %q does not say the retry could not reach the agent", err)
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
	_, err := c.Jobs().Register(structstest.Job("web"))
	var apiErr *api.Error
	if !errors.As(err, &apiErr) || apiErr.Code != "conflict" || calls.Load() != 1 {
		t.Fatalf("Register = %v (%+v) after %d calls; want one 409 with code conflict", err, apiErr, calls.Load())
	}
}
