package server

import (
	"strconv"
	"testing"
	"time"
)

func TestGossip_MembersListsThisServerAsLeader(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.Region, cfg.Datacenter, cfg.Version = "eu", "dc7", "1.2.3"
	s := startServer(t, cfg)

	m := s.Members()
	if m.ServerName != cfg.NodeName || m.ServerRegion != "eu" || m.ServerDC != "dc7" {
		t.Errorf("Members() header = %q/%q/%q, want %q/eu/dc7", m.ServerName, m.ServerRegion, m.ServerDC, cfg.NodeName)
	}
	if len(m.Members) != 1 {
		t.Fatalf("Members() = %d members, want 1", len(m.Members))
	}
	me := m.Members[0]
	want := map[string]string{
		TagRole: "server", TagRegion: "eu", TagDC: "dc7", TagRPCAddr: s.RPCAddr(), TagVersion: "1.2.3", TagLeader: "true",
		TagVoter: "true",
	}
	for k, v := range want {
		if me.Tags[k] != v {
			t.Errorf("tag %s = %q, want %q", k, me.Tags[k], v)
		}
	}
	if me.Name != cfg.NodeName || me.Status != "alive" || me.Addr != "127.0.0.1" || me.Port == 0 {
		t.Errorf("member = %+v, want this server alive on 127.0.0.1", me)
	}
}

// joinedServer starts a server with cfg (not started as a cluster member
// would be: only its gossip runs) and joins it to a's gossip.
func joinedServer(t *testing.T, a *Server, cfg Config) *Server {
	t.Helper()
	b, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Shutdown() })
	if n, err := b.Join([]string{a.GossipAddr()}); err != nil || n != 1 {
		t.Fatalf("Join = %d, %v; want 1 contacted", n, err)
	}
	return b
}

func TestGossip_JoinSeesTheOtherAgent(t *testing.T) {
	a := startServer(t, testConfig(t.TempDir()))
	cfg := testConfig(t.TempDir())
	cfg.BootstrapExpect = 0 // never leads: only its gossip matters here
	b := joinedServer(t, a, cfg)
	waitFor(t, 10*time.Second, "both servers see each other", func() bool {
		return len(a.Members().Members) == 2 && len(b.Members().Members) == 2
	})
	leaders := 0
	for _, m := range a.Members().Members {
		if m.Tags[TagLeader] == "true" {
			leaders++
			if m.Tags[TagRPCAddr] != a.RPCAddr() {
				t.Errorf("leader tag on %s, want it on %s", m.Tags[TagRPCAddr], a.RPCAddr())
			}
		}
	}
	if leaders != 1 {
		t.Errorf("%d members tagged leader, want 1", leaders)
	}
}

// Members reads while gossip rewrites what it lists: another server changing
// its tags makes memberlist update its node in place. Under -race this fails
// when Members reads memberlist's nodes instead of the copies kept from its
// events.
func TestGossip_MembersWhileAnotherServerChangesItsTags(t *testing.T) {
	a := startServer(t, testConfig(t.TempDir()))
	cfg := testConfig(t.TempDir())
	cfg.BootstrapExpect = 0
	b := joinedServer(t, a, cfg)
	const last = "19"
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 20 {
			b.setGossipTag("test", strconv.Itoa(i))
		}
	}()
	waitFor(t, 10*time.Second, "a sees b's last tag", func() bool {
		for _, m := range a.Members().Members {
			if m.Name == cfg.NodeName && m.Tags["test"] == last {
				return true
			}
		}
		return false
	})
	<-done
}
