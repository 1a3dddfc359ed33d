package server

import (
	"context"
	"net"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// slowRaftTimeouts gives every server a heartbeat and election timeout far
// longer than the test's waits, so that only the fast failover can elect a
// new leader within them.
func slowRaftTimeouts(t *testing.T, servers []*Server) {
	t.Helper()
	for _, s := range servers {
		rc := s.raft.ReloadableConfig()
		rc.HeartbeatTimeout, rc.ElectionTimeout = 10*time.Minute, 10*time.Minute
		if err := s.raft.ReloadConfig(rc); err != nil {
			t.Fatalf("raising %s's raft timeouts: %v", s.config.NodeName, err)
		}
	}
}

// A leader whose process dies is replaced at once: its followers see its
// Raft connections close and its port refuse, and one stands for election
// without waiting out a heartbeat timeout (ten minutes here).
func TestLeaderCrashStartsElectionAtOnce(t *testing.T) {
	servers := startCluster(t, 3)
	slowRaftTimeouts(t, servers)
	old := leaderOf(servers)
	rest := without(servers, old)
	crash(t, old)

	var next *Server
	waitFor(t, 30*time.Second, "a new leader among the two left", func() bool {
		next = leaderOf(rest)
		return next != nil && next.broker.Enabled()
	})
	stood := 0.0
	for _, s := range rest {
		stood += testutil.ToFloat64(s.metrics.leaderProbes.WithLabelValues("stood"))
	}
	if stood < 1 {
		t.Errorf("no follower stood for election after a probe (stood = %v); the new leader came from elsewhere", stood)
	}
	registerJobs(t, next, "after-failover")
}

// A leader whose sockets stay open a while after its death (a big
// process's kernel frees its memory first) is found by its silence: a
// follower that has not heard from it for a quarter of the heartbeat
// timeout probes its port. The connection probe is off here, and the
// heartbeat timeout (20 s) is longer than the wait.
func TestLeaderSilenceProbedBeforeTheHeartbeatTimeout(t *testing.T) {
	cfgs := make([]Config, 3)
	for i := range cfgs {
		cfgs[i] = testConfig(t.TempDir())
		cfgs[i].testHooks.noPeerCloseProbe = true
	}
	servers := startClusterOf(t, cfgs...)
	for _, s := range servers {
		rc := s.raft.ReloadableConfig()
		rc.HeartbeatTimeout, rc.ElectionTimeout = 20*time.Second, 20*time.Second
		if err := s.raft.ReloadConfig(rc); err != nil {
			t.Fatal(err)
		}
	}
	old := leaderOf(servers)
	rest := without(servers, old)
	crash(t, old)
	waitFor(t, 15*time.Second, "a new leader among the two left", func() bool {
		l := leaderOf(rest)
		return l != nil && l.broker.Enabled()
	})
}

// A follower that sees a Raft connection close while the leader's process
// lives (the transport's pool closes connections) probes, finds the port
// answering, and leaves the leader be.
func TestLiveLeaderKeepsLeadingAfterAProbe(t *testing.T) {
	servers := startCluster(t, 3)
	slowRaftTimeouts(t, servers)
	leader := leaderOf(servers)
	term := leader.raft.Stats()["term"]
	rest := without(servers, leader)
	for _, s := range rest {
		s.raftPeerClosed()
	}
	waitFor(t, 10*time.Second, "both followers' probes answered", func() bool {
		for _, s := range rest {
			if testutil.ToFloat64(s.metrics.leaderProbes.WithLabelValues("alive")) < 1 {
				return false
			}
		}
		return true
	})
	registerJobs(t, leader, "still-leading")
	if !leader.IsLeader() || leader.raft.Stats()["term"] != term {
		t.Errorf("leadership moved after probes of a live leader: leader %v, term %s → %s",
			leader.IsLeader(), term, leader.raft.Stats()["term"])
	}
	for _, s := range rest {
		if got := testutil.ToFloat64(s.metrics.leaderProbes.WithLabelValues("stood")); got != 0 {
			t.Errorf("%s stood for election against a live leader (%v times)", s.config.NodeName, got)
		}
	}
}

func TestProcessGone(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			defer conn.Close() // held open, as a server waiting for a first byte
		}
	}()
	if processGone(t.Context(), ln.Addr().String()) {
		t.Errorf("a listening port judged gone")
	}

	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := closed.Addr().String()
	closed.Close()
	if !processGone(t.Context(), addr) {
		t.Errorf("a closed port %s judged alive", addr)
	}
}

// A follower whose probe finds the leader gone (a firewall rejecting its
// packets, here a test hook) but whose peers still reach the leader does not
// stand: the leader keeps its term.
func TestFollowerAloneFindingTheLeaderGoneDoesNotStand(t *testing.T) {
	var lonelyIndex atomic.Int32
	lonelyIndex.Store(-1)
	cfgs := make([]Config, 3)
	for i := range cfgs {
		cfgs[i] = testConfig(t.TempDir())
		cfgs[i].testHooks.leaderProbe = func(ctx context.Context, addr string) bool {
			if lonelyIndex.Load() == int32(i) {
				return true
			}
			return processGone(ctx, addr)
		}
	}
	servers := startClusterOf(t, cfgs...)
	slowRaftTimeouts(t, servers)
	leader := leaderOf(servers)
	term := leader.raft.Stats()["term"]
	lonely := followerOf(servers)
	lonelyIndex.Store(int32(slices.Index(servers, lonely)))

	lonely.raftPeerClosed()
	waitFor(t, 10*time.Second, "the lonely follower's probe disputed", func() bool {
		return testutil.ToFloat64(lonely.metrics.leaderProbes.WithLabelValues("disputed")) >= 1
	})
	if !leader.IsLeader() || leader.raft.Stats()["term"] != term {
		t.Errorf("leadership moved: leader %v, term %s → %s", leader.IsLeader(), term, leader.raft.Stats()["term"])
	}
	if got := testutil.ToFloat64(lonely.metrics.leaderProbes.WithLabelValues("stood")); got != 0 {
		t.Errorf("the lonely follower stood %v times", got)
	}
}
