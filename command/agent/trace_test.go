package agent_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/orch-io/orch/command/agent"
	"github.com/orch-io/orch/internal/agenttest"
	"github.com/orch-io/orch/internal/structstest"
	"github.com/orch-io/orch/internal/tracing/tracingtest"
)

// TestTraceOfJobRun registers a job through the HTTP API of an in-process
// server + client exporting to an in-process OTLP receiver, and checks the
// span tree of its one trace: HTTP → RPC → Raft apply → broker wait and
// scheduler eval → plan submit → plan apply (verify, commit) → the client's
// alloc run → task start; and that a caller's traceparent is continued.
func TestTraceOfJobRun(t *testing.T) {
	rcv := tracingtest.NewReceiver(t)
	a := agenttest.Start(t, agenttest.Options{Client: true, Configure: func(c *agent.Config) {
		c.Telemetry.OTLPEndpoint = rcv.Endpoint()
	}})

	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	req, err := http.NewRequest("PUT", a.URL+"/v1/jobs", strings.NewReader(jobBody(t, structstest.Job("traced"))))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
	req.Header.Set("X-Orch-Request-ID", "trace-me-0001")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("register: %s", resp.Status)
	}
	if got := resp.Header.Get("X-Orch-Trace-ID"); got != traceID {
		t.Fatalf("X-Orch-Trace-ID = %q, want the caller's trace %q", got, traceID)
	}
	waitRunning(t, a, "traced")

	// child → parent, along the path of the write.
	links := [][2]string{
		{"rpc Job.Register", "http PUT /v1/jobs"},
		{"raft apply JobRegister", "rpc Job.Register"},
		{"broker wait", "raft apply JobRegister"},
		{"scheduler eval", "raft apply JobRegister"},
		{"plan submit", "scheduler eval"},
		{"plan apply", "plan submit"},
		{"plan verify", "plan apply"},
		{"plan commit", "plan apply"},
		{"client alloc run", "plan submit"},
		{"task start", "client alloc run"},
	}
	var tree tracingtest.Tree
	err = agenttest.WaitFor(30*time.Second, func() (bool, string) {
		tree = tracingtest.NewTree(rcv.Trace(traceID))
		for _, l := range links {
			if why := tree.CheckParent(l[0], l[1]); why != "" {
				return false, why
			}
		}
		return true, ""
	})
	if err != nil {
		t.Fatal(err)
	}
	// The HTTP span continues the caller's span.
	if h := tree.Named("http PUT /v1/jobs")[0]; h.ParentID != "00f067aa0ba902b7" {
		t.Errorf("http span's parent = %q, want the traceparent's span 00f067aa0ba902b7", h.ParentID)
	}
	if got := tree.Named("rpc Job.Register")[0].Attrs["orch.request_id"]; got != "trace-me-0001" {
		t.Errorf("rpc span's orch.request_id = %q, want trace-me-0001", got)
	}
}

// TestTraceStartedWithoutTraceparent: a request without a traceparent starts
// a trace of its own, whose ID the response names.
func TestTraceStartedWithoutTraceparent(t *testing.T) {
	rcv := tracingtest.NewReceiver(t)
	a := agenttest.Start(t, agenttest.Options{Configure: func(c *agent.Config) {
		c.Telemetry.OTLPEndpoint = rcv.Endpoint()
	}})
	resp, err := http.Get(a.URL + "/v1/jobs")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	id := resp.Header.Get("X-Orch-Trace-ID")
	if len(id) != 32 {
		t.Fatalf("X-Orch-Trace-ID = %q, want a new trace's 32-hex ID", id)
	}
	err = agenttest.WaitFor(30*time.Second, func() (bool, string) {
		tree := tracingtest.NewTree(rcv.Trace(id))
		if why := tree.CheckParent("rpc Job.List", "http GET /v1/jobs"); why != "" {
			return false, why
		}
		return true, ""
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestNoTraceHeaderWhenTracingOff: without telemetry.otlp_endpoint nothing
// is traced, and no response names a trace.
func TestNoTraceHeaderWhenTracingOff(t *testing.T) {
	a := agenttest.Start(t, agenttest.Options{})
	req, _ := http.NewRequest("GET", a.URL+"/v1/jobs", nil)
	req.Header.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("X-Orch-Trace-ID"); got != "" {
		t.Fatalf("X-Orch-Trace-ID = %q with tracing off, want none", got)
	}
}
