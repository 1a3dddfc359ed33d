package conformance

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	napi "github.com/hashicorp/nomad/api"
	"github.com/orch-io/orch/internal/agenttest"
	"github.com/orch-io/orch/internal/logmon"
)

var agentDebugRoutes = []string{"GET /v1/agent/monitor", "GET /v1/agent/pprof/{profile}"}

// testAgentDebug follows the agent's log and takes its profiles through
// Nomad's client: this agent, its node (node_id, through Server.DialNode)
// and its server by name (server_id, through the server's agent call).
func testAgentDebug(t *testing.T, e *env) {
	targets := []struct {
		name   string
		params map[string]string
		pprof  napi.PprofOptions
	}{
		{"local", nil, napi.PprofOptions{}},
		{"node_id", map[string]string{"node_id": e.agent.NodeID}, napi.PprofOptions{NodeID: e.agent.NodeID}},
		{"server_id", map[string]string{"server_id": "leader"}, napi.PprofOptions{ServerID: "leader"}},
	}
	for _, tc := range targets {
		t.Run(tc.name, func(t *testing.T) {
			params := map[string]string{"log_level": "debug"}
			for k, v := range tc.params {
				params[k] = v
			}
			// The line looked for must be logged once the monitor is
			// subscribed (an earlier one never reaches it, and the wait
			// would be for the next line, or the 10 s heartbeat): wait for
			// the previous case's monitor to go, then for this one.
			logs := e.agent.Agent.Backend().Logs()
			waitSubscribers(t, logs, 0)
			stop := make(chan struct{})
			defer close(stop)
			frames, errs := e.nomad.Agent().Monitor(stop, &napi.QueryOptions{Params: params})
			if frames == nil {
				t.Fatalf("Monitor: %v", <-errs)
			}
			waitSubscribers(t, logs, 1)
			// The agent logs every HTTP request at debug (its log_level is
			// info): one is enough to see a line come through.
			deadline := time.After(30 * time.Second)
			for seen := false; !seen; {
				if _, err := e.nomad.Status().Leader(); err != nil {
					t.Fatal(err)
				}
				select {
				case f, ok := <-frames:
					if !ok {
						t.Fatalf("monitor ended: %v", <-errs)
					}
					seen = strings.Contains(string(f.Data), "level=DEBUG") && strings.Contains(string(f.Data), `msg="http request"`)
				case <-deadline:
					t.Fatal("no debug line reached the monitor")
				}
			}

			out, err := e.nomad.Agent().Lookup("goroutine", napi.PprofOptions{Debug: 1, NodeID: tc.pprof.NodeID, ServerID: tc.pprof.ServerID}, nil)
			if err != nil || !bytes.Contains(out, []byte("goroutine profile:")) {
				t.Fatalf("goroutine profile: %v, %.80q", err, out)
			}
			opts := tc.pprof
			opts.Seconds = 1
			if out, err := e.nomad.Agent().CPUProfile(opts, nil); err != nil || len(out) == 0 {
				t.Fatalf("CPU profile: %v, %d bytes", err, len(out))
			}
			opts.GC = 1
			if out, err := e.nomad.Agent().Lookup("heap", opts, nil); err != nil || len(out) == 0 {
				t.Fatalf("heap profile: %v, %d bytes", err, len(out))
			}
		})
	}
	if _, err := e.nomad.Agent().Lookup("nonesuch", napi.PprofOptions{}, nil); err == nil || !strings.Contains(err.Error(), "no such profile") {
		t.Errorf("unknown profile: %v", err)
	}
}

// waitSubscribers waits until logs has n subscribers.
func waitSubscribers(t *testing.T, logs *logmon.Broadcaster, n int) {
	t.Helper()
	err := agenttest.WaitFor(10*time.Second, func() (bool, string) {
		got := logs.Subscribers()
		return got == n, fmt.Sprintf("%d monitors follow the agent's log, want %d", got, n)
	})
	if err != nil {
		t.Fatal(err)
	}
}
