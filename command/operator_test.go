package command

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/orch-io/orch/command/agent"
	"github.com/orch-io/orch/server"
	"github.com/orch-io/orch/structs"
)

// serverBackend is the HTTP API over a real server (Raft, state store), for
// the operator commands, which the fake backend does not serve.
type serverBackend struct{ *server.Server }

func (serverBackend) Members() *structs.AgentMembersResponse { return &structs.AgentMembersResponse{} }
func (serverBackend) Health() *structs.AgentHealthResponse   { return &structs.AgentHealthResponse{} }

// startServerAgent starts a single-server cluster and its HTTP API; it
// returns the API's address once the server leads.
func startServerAgent(t *testing.T) string {
	t.Helper()
	cfg := server.DevConfig()
	cfg.DataDir = t.TempDir()
	cfg.NodeName = "operator-test"
	cfg.RPCPort, cfg.GossipPort = 0, 0
	cfg.NumSchedulers = 1
	cfg.Logger = slog.New(slog.DiscardHandler)
	s, err := server.NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Shutdown() })
	h, err := agent.NewHTTPServer("127.0.0.1:0", serverBackend{s}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = h.Shutdown(ctx)
	})
	if !waitFor(t, "server leads", s.IsLeader) {
		t.FailNow()
	}
	return "http://" + h.Addr()
}

func TestOperatorSchedulerConfigCLIAndHTTP(t *testing.T) {
	addr := startServerAgent(t)

	r := runCLI(t, "operator", "scheduler", "get-config", "-address", addr)
	if r.code != 0 {
		t.Fatalf("get-config: exit %d: %s", r.code, r.stderr)
	}
	mustContain(t, "get-config", r.stdout, "Scheduler Algorithm           = binpack\n",
		"Sample Size                   = default\n", "Preemption System Scheduler   = true\n", "Modify Index                  = 0\n")

	r = runCLI(t, "operator", "scheduler", "set-config", "-address", addr, "-scheduler-algorithm=spread", "-sample-size", "32")
	if r.code != 0 || r.stdout != "Scheduler configuration updated!\n" {
		t.Fatalf("set-config: exit %d: %q %s", r.code, r.stdout, r.stderr)
	}
	r = runCLI(t, "operator", "scheduler", "get-config", "-address", addr)
	mustContain(t, "get-config after set", r.stdout, "Scheduler Algorithm           = spread\n",
		"Sample Size                   = 32\n", "Preemption System Scheduler   = true\n")

	// The HTTP API answers Nomad's JSON.
	resp, err := http.Get(addr + "/v1/operator/scheduler/configuration")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var got struct {
		SchedulerConfig struct {
			SchedulerAlgorithm string
			SampleSize         int
			PreemptionConfig   struct{ SystemSchedulerEnabled bool }
			ModifyIndex        uint64
		}
		Index uint64
	}
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("GET body %s: %v", body, err)
	}
	c := got.SchedulerConfig
	if c.SchedulerAlgorithm != "spread" || c.SampleSize != 32 || !c.PreemptionConfig.SystemSchedulerEnabled ||
		c.ModifyIndex == 0 || got.Index != c.ModifyIndex || resp.Header.Get("X-Nomad-Index") == "" {
		t.Fatalf("GET body %s (index header %q)", body, resp.Header.Get("X-Nomad-Index"))
	}

	// A stale -check-index changes nothing and fails.
	r = runCLI(t, "operator", "scheduler", "set-config", "-address", addr, "-scheduler-algorithm=binpack", "-check-index", "1")
	if r.code != 1 || !strings.Contains(r.stderr, "not updated") {
		t.Fatalf("stale check-index: exit %d, stderr %q", r.code, r.stderr)
	}

	// Bad input: a usage error from the CLI, a 400 from the API.
	if r = runCLI(t, "operator", "scheduler", "set-config", "-address", addr, "-scheduler-algorithm=random"); r.code != 2 {
		t.Fatalf("invalid algorithm: exit %d, want 2: %s", r.code, r.stderr)
	}
	req, _ := http.NewRequest(http.MethodPut, addr+"/v1/operator/scheduler/configuration", strings.NewReader(`{"SchedulerAlgorithm":"random"}`))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), `SchedulerAlgorithm = "random"`) {
		t.Fatalf("PUT invalid: %d %s", resp.StatusCode, body)
	}

	// The current -check-index wins; options not given keep their value.
	r = runCLI(t, "operator", "scheduler", "set-config", "-address", addr, "-scheduler-algorithm=binpack",
		"-check-index", strconv.FormatUint(c.ModifyIndex, 10))
	if r.code != 0 {
		t.Fatalf("current check-index: exit %d: %s", r.code, r.stderr)
	}
	r = runCLI(t, "operator", "scheduler", "get-config", "-address", addr)
	mustContain(t, "get-config after CAS", r.stdout, "Scheduler Algorithm           = binpack\n", "Sample Size                   = 32\n")
}
