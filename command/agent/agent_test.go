package agent

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/structs"
)

// TestClientOnlyAgentServesTheAPIThroughItsServers: a client-only agent joins
// a dev agent's servers over the RPC port with its node in the configured
// pool, and its own HTTP API answers reads (through the servers), members and
// health without a server of its own.
func TestClientOnlyAgentServesTheAPIThroughItsServers(t *testing.T) {
	logger := slog.New(slog.DiscardHandler)
	devCfg := DevConfig()
	devCfg.DataDir = t.TempDir()
	devCfg.Ports = testPorts(t)
	devCfg.Client.EmbeddedSupervisor = true // the test binary is no orch
	dev, err := New(devCfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dev.Shutdown() })

	cfg := DefaultConfig()
	cfg.DataDir, cfg.BindAddr, cfg.NodeName = t.TempDir(), "127.0.0.1", "client-only"
	cfg.Ports = testPorts(t)
	cfg.Client = ClientConfig{Enabled: true, NodePool: "batch-pool",
		Servers: []string{fmt.Sprintf("127.0.0.1:%d", devCfg.Ports.RPC)}, EmbeddedSupervisor: true}
	c, err := New(cfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Shutdown() })

	get := func(path string, out any) (int, error) {
		resp, err := http.Get("http://" + c.HTTPAddr() + path)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		return resp.StatusCode, json.NewDecoder(resp.Body).Decode(out)
	}
	deadline := time.Now().Add(20 * time.Second)
	var pool string
	for pool == "" {
		var nodes []*api.NodeListStub
		if code, err := get("/v1/nodes", &nodes); err == nil && code == http.StatusOK {
			for _, n := range nodes {
				if n.Name == "client-only" {
					pool = n.NodePool
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the client-only agent's node never showed in its own /v1/nodes")
		}
		time.Sleep(20 * time.Millisecond) // poll interval
	}
	if pool != "batch-pool" {
		t.Errorf("node pool = %q, want the configured batch-pool", pool)
	}
	var members structs.AgentMembersResponse
	if code, err := get("/v1/agent/members", &members); err != nil || code != http.StatusOK {
		t.Errorf("/v1/agent/members: %d %v", code, err)
	}
	var health structs.AgentHealthResponse
	if code, err := get("/v1/agent/health", &health); err != nil || code != http.StatusOK ||
		health.Server != nil || health.Client == nil || !health.Client.Ok {
		t.Errorf("/v1/agent/health: %d %v %+v", code, err, health)
	}
}
