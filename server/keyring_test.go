package server

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/orch-io/orch/internal/gossipkey"
	"github.com/orch-io/orch/structs"
)

func genKey(t *testing.T) string {
	t.Helper()
	k, err := gossipkey.Generate()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func keyringCall(t *testing.T, s *Server, method, key string) *structs.KeyringResponse {
	t.Helper()
	var reply structs.KeyringResponse
	if err := s.RPC(context.Background(), method, &structs.KeyringRequest{Key: key}, &reply); err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	return &reply
}

// aliveMembers counts the servers s's gossip shows alive.
func aliveMembers(s *Server) int {
	n := 0
	for _, m := range s.gossip.Members() {
		if m.State == memberlist.StateAlive {
			n++
		}
	}
	return n
}

// TestKeyringRotationLosesNoMember rotates the key of a running 3-server
// cluster (install, use, remove, each sent to one server) and checks that
// every step reached every server and no server ever saw another fail.
func TestKeyringRotationLosesNoMember(t *testing.T) {
	oldKey := genKey(t)
	cfgs := make([]Config, 3)
	for i := range cfgs {
		cfgs[i] = testConfig(t.TempDir())
		cfgs[i].GossipEncrypt = oldKey
	}
	servers := startClusterOf(t, cfgs...)
	var left []string
	watch := func() {
		for _, s := range servers {
			for _, m := range s.serverMembers() {
				if m.State != memberlist.StateAlive {
					left = append(left, s.config.NodeName+" saw "+m.Name+" "+memberStatus(m.State))
				}
			}
		}
	}

	// An operation reaches the servers its receiver's gossip shows alive:
	// wait until each sees the others (Raft may agree before gossip has
	// told every server of every other).
	waitFor(t, 15*time.Second, "every server sees the others alive in gossip", func() bool {
		for _, s := range servers {
			alive := 0
			for _, m := range s.serverMembers() {
				if m.State == memberlist.StateAlive {
					alive++
				}
			}
			if alive != 3 {
				return false
			}
		}
		return true
	})
	newKey := genKey(t)
	r := keyringCall(t, servers[1], "Keyring.Install", newKey)
	if r.NumNodes != 3 || r.Keys[newKey] != 3 || r.Keys[oldKey] != 3 {
		t.Fatalf("install: %+v", r)
	}
	watch()
	r = keyringCall(t, servers[2], "Keyring.Use", newKey)
	if r.NumNodes != 3 || len(r.Messages) != 0 {
		t.Fatalf("use: %+v", r)
	}
	watch()
	for _, s := range servers {
		if _, primary := s.keyring.List(); primary != newKey {
			t.Fatalf("%s sends with %s, want the new key", s.config.NodeName, primary)
		}
	}
	// The old key cannot be removed while in use; the request names why.
	var reply structs.KeyringResponse
	err := servers[0].RPC(context.Background(), "Keyring.Remove", &structs.KeyringRequest{Key: newKey}, &reply)
	if !errors.Is(err, structs.ErrInvalid) || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("removing the key in use: %v", err)
	}
	r = keyringCall(t, servers[0], "Keyring.Remove", oldKey)
	if r.NumNodes != 3 || r.Keys[oldKey] != 0 || r.Keys[newKey] != 3 {
		t.Fatalf("remove: %+v", r)
	}
	// The cluster speaks the new key alone: an agent with the old key
	// cannot join, and says why; one with the new key joins and every server
	// sees it.
	oldCfg := testConfig(t.TempDir())
	oldCfg.GossipEncrypt = oldKey
	oldCfg.BootstrapExpect = 3 // joins the cluster: never bootstraps one of its own
	stale := newTestServer(t, oldCfg)
	_, err = stale.Join([]string{servers[0].GossipAddr()})
	if !errors.Is(err, gossipkey.ErrKeyMismatch) || !strings.Contains(err.Error(), "another key") {
		t.Fatalf("joining with the removed key: %v", err)
	}
	newCfg := testConfig(t.TempDir())
	newCfg.GossipEncrypt = newKey
	newCfg.BootstrapExpect = 3
	fresh := newTestServer(t, newCfg)
	if _, err := fresh.Join([]string{servers[0].GossipAddr()}); err != nil {
		t.Fatalf("joining with the new key: %v", err)
	}
	waitFor(t, 15*time.Second, "every server sees the newcomer alive", func() bool {
		for _, s := range servers {
			if aliveMembers(s) != 4 {
				return false
			}
		}
		return true
	})
	watch()
	if len(left) > 0 {
		t.Fatalf("members lost during the rotation: %v", left)
	}
	// A restart keeps the keys in use: the keyring file holds the new key only.
	ring, ignored, err := gossipkey.Open(servers[0].config.DataDir+"/server/"+gossipkey.FileName, oldKey)
	if err != nil || !ignored {
		t.Fatalf("reopening the keyring: ignored=%v err=%v", ignored, err)
	}
	if keys, primary := ring.List(); len(keys) != 1 || primary != newKey {
		t.Fatalf("keyring file holds %v (primary %s), want the new key only", keys, primary)
	}
}

// newTestServer starts a server that does not wait to lead; it is shut
// down when the test ends.
func newTestServer(t *testing.T, cfg Config) *Server {
	t.Helper()
	s, err := NewServer(cfg)
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	t.Cleanup(func() { s.Shutdown() })
	return s
}

func TestKeyringWithoutEncryptionSaysSo(t *testing.T) {
	s := startServer(t, testConfig(t.TempDir()))
	var reply structs.KeyringResponse
	err := s.RPC(context.Background(), "Keyring.List", &structs.KeyringRequest{}, &reply)
	if !errors.Is(err, structs.ErrInvalid) || !strings.Contains(err.Error(), "gossip encryption is not enabled") {
		t.Fatalf("List without encryption: %v", err)
	}
	err = s.RPC(context.Background(), "Keyring.Install", &structs.KeyringRequest{Key: "not-base64!"}, &reply)
	if !errors.Is(err, structs.ErrInvalid) || !strings.Contains(err.Error(), "Key: not valid base64") {
		t.Fatalf("Install of a bad key: %v", err)
	}
}
