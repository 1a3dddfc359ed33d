package conformance

import (
	"testing"

	napi "github.com/hashicorp/nomad/api"
	"github.com/orch-io/orch/command/agent"
	"github.com/orch-io/orch/internal/agenttest"
	"github.com/orch-io/orch/internal/gossipkey"
)

// keyringRoutes are covered by TestNomadClientKeyring, on an agent that
// encrypts gossip.
var keyringRoutes = []string{"GET /v1/agent/keyring/list", "PUT /v1/agent/keyring/install",
	"PUT /v1/agent/keyring/use", "PUT /v1/agent/keyring/remove"}

// TestNomadClientKeyring rotates the gossip key of a dev agent through
// Nomad's client: ListKeys, InstallKey, UseKey, RemoveKey.
func TestNomadClientKeyring(t *testing.T) {
	oldKey, _ := gossipkey.Generate()
	newKey, _ := gossipkey.Generate()
	a := agenttest.Start(t, agenttest.Options{Configure: func(c *agent.Config) { c.Server.Encrypt = oldKey }})
	nomad, err := napi.NewClient(&napi.Config{Address: a.URL})
	if err != nil {
		t.Fatal(err)
	}
	r, err := nomad.Agent().ListKeys()
	if err != nil || r.NumNodes != 1 || r.Keys[oldKey] != 1 || len(r.Keys) != 1 {
		t.Fatalf("ListKeys: %+v %v", r, err)
	}
	strictGet[napi.KeyringResponse](t, a.URL, "/v1/agent/keyring/list")
	if r, err = nomad.Agent().InstallKey(newKey); err != nil || r.Keys[newKey] != 1 || r.Keys[oldKey] != 1 {
		t.Fatalf("InstallKey: %+v %v", r, err)
	}
	if r, err = nomad.Agent().UseKey(newKey); err != nil || r.NumNodes != 1 {
		t.Fatalf("UseKey: %+v %v", r, err)
	}
	if r, err = nomad.Agent().RemoveKey(oldKey); err != nil || r.Keys[oldKey] != 0 || r.Keys[newKey] != 1 {
		t.Fatalf("RemoveKey: %+v %v", r, err)
	}
	if _, err := nomad.Agent().UseKey("not base64"); err == nil {
		t.Fatal("UseKey of a bad key succeeded")
	}
}
