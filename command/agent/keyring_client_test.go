package agent

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/orch-io/orch/internal/gossipkey"
	"github.com/orch-io/orch/structs"
)

// TestKeyringRotationReachesClientOnlyAgents: a key rotation sent to a
// server's HTTP API (install, use, remove) reaches a client-only agent,
// which gossips, through the connection it holds to the servers; the
// answers count it, it keeps gossiping throughout, and its keyring file
// holds the new key alone afterwards.
func TestKeyringRotationReachesClientOnlyAgents(t *testing.T) {
	logger := slog.New(slog.DiscardHandler)
	oldKey, err := gossipkey.Generate()
	if err != nil {
		t.Fatal(err)
	}
	devCfg := DevConfig()
	devCfg.DataDir = t.TempDir()
	devCfg.Ports = testPorts(t)
	devCfg.Server.Encrypt = oldKey
	devCfg.Client.EmbeddedSupervisor = true // the test binary is no orch
	dev, err := New(devCfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dev.Shutdown() })

	cfg := DefaultConfig()
	cfg.DataDir, cfg.BindAddr, cfg.NodeName = t.TempDir(), "127.0.0.1", "client-only"
	cfg.Ports = testPorts(t)
	cfg.Server.Encrypt = oldKey
	cfg.ServerJoin.RetryJoin = []string{fmt.Sprintf("127.0.0.1:%d", devCfg.Ports.Serf)}
	cfg.Client = ClientConfig{Enabled: true, EmbeddedSupervisor: true}
	c, err := New(cfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Shutdown() })

	call := func(method, op string, body any) (*structs.KeyringResponse, int) {
		t.Helper()
		raw, _ := json.Marshal(body)
		req, err := http.NewRequestWithContext(t.Context(), method, "http://"+dev.HTTPAddr()+"/v1/agent/keyring/"+op, bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out structs.KeyringResponse
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return &out, resp.StatusCode
	}
	// The client reaches the server: its node registered (so the server
	// holds its connection) and it is alive in the server's gossip.
	deadline := time.Now().Add(20 * time.Second)
	for {
		r, code := call("GET", "list", nil)
		if code == http.StatusOK && r.NumNodes == 2 && r.Keys[oldKey] == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the keyring list never counted the client-only agent: %d %+v", code, r)
		}
		time.Sleep(20 * time.Millisecond) // poll interval
	}
	newKey, err := gossipkey.Generate()
	if err != nil {
		t.Fatal(err)
	}
	if r, code := call("PUT", "install", map[string]string{"Key": newKey}); code != http.StatusOK || r.NumNodes != 2 || r.Keys[newKey] != 2 {
		t.Fatalf("install: %d %+v", code, r)
	}
	if r, code := call("PUT", "use", map[string]string{"Key": newKey}); code != http.StatusOK || r.NumNodes != 2 || len(r.Messages) != 0 {
		t.Fatalf("use: %d %+v", code, r)
	}
	if r, code := call("PUT", "remove", map[string]string{"Key": oldKey}); code != http.StatusOK || r.NumNodes != 2 || r.Keys[oldKey] != 0 || r.Keys[newKey] != 2 {
		t.Fatalf("remove: %d %+v", code, r)
	}
	ring, ignored, err := gossipkey.Open(filepath.Join(cfg.DataDir, "client", gossipkey.FileName), oldKey)
	if err != nil || !ignored {
		t.Fatalf("reopening the client's keyring: ignored=%v err=%v", ignored, err)
	}
	if keys, primary := ring.List(); len(keys) != 1 || primary != newKey {
		t.Fatalf("the client's keyring file holds %v (primary %s), want the new key only", keys, primary)
	}
	// Gossip still flows both ways with the new key alone.
	for _, m := range c.gossip.ml.Members() {
		if m.State != memberlist.StateAlive {
			t.Errorf("after the rotation the client sees %s in state %d", m.Name, m.State)
		}
	}
}
