package server

import (
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/orch-io/orch/structs"
)

// fastAutopilot shortens the autopilot timings for tests.
func fastAutopilot(cfg *Config) {
	cfg.Autopilot.Interval = 50 * time.Millisecond
	cfg.Autopilot.ServerStabilizationTime = 300 * time.Millisecond
	cfg.Autopilot.DeadServerCleanupTime = time.Hour
}

// startTunedCluster starts n servers expecting n, each configured by tune,
// joins them by gossip and waits until one leads with all n as voters.
func startTunedCluster(t *testing.T, n int, tune func(*Config)) []*Server {
	t.Helper()
	servers := make([]*Server, n)
	for i := range servers {
		cfg := testConfig(t.TempDir())
		cfg.BootstrapExpect = n
		tune(&cfg)
		servers[i] = startJoined(t, cfg, servers[:i])
	}
	waitFor(t, 15*time.Second, "one leader with every server a voter", func() bool {
		l := leaderOf(servers)
		if l == nil || !l.broker.Enabled() {
			return false
		}
		for _, s := range servers {
			if s.Leader() != l.RPCAddr() || suffrageIn(l, s.raftID) != "voter" {
				return false
			}
		}
		return true
	})
	return servers
}

// startJoined starts a server and joins it to the first of others, if any.
func startJoined(t *testing.T, cfg Config, others []*Server) *Server {
	t.Helper()
	s, err := NewServer(cfg)
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	t.Cleanup(func() { s.Shutdown() })
	if len(others) > 0 {
		if _, err := s.Join([]string{others[0].GossipAddr()}); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// suffrageIn returns "voter", "nonvoter" or "" (absent): id in l's Raft
// configuration.
func suffrageIn(l *Server, id raft.ServerID) string {
	f := l.raft.GetConfiguration()
	if f.Error() != nil {
		return ""
	}
	for _, srv := range f.Configuration().Servers {
		if srv.ID == id {
			if srv.Suffrage == raft.Voter {
				return "voter"
			}
			return "nonvoter"
		}
	}
	return ""
}

// crash stops s as a crash would: no leadership transfer, no leaving Raft,
// no gossip leave (the others see it fail), then Raft and every listener.
// Shutdown afterwards does nothing.
func crash(t *testing.T, s *Server) {
	t.Helper()
	s.shutdownOnce.Do(func() {
		s.shutdownCancel()
		if err := s.gossip.Shutdown(); err != nil {
			t.Errorf("crash: stopping gossip: %v", err)
		}
		<-s.leaderMonitorDone
		_ = s.raft.Shutdown().Error()
		_ = s.raftTransport.Close()
		_ = s.rpcListener.Close()
		s.closeSessions()
		s.pool.Close()
		s.wg.Wait()
		_ = s.raftStore.Close()
	})
}

func without(servers []*Server, gone *Server) []*Server {
	var out []*Server
	for _, s := range servers {
		if s != gone {
			out = append(out, s)
		}
	}
	return out
}

func TestAutopilot_NewServerJoinsAsNonVoterThenPromoted(t *testing.T) {
	servers := startTunedCluster(t, 3, fastAutopilot)
	leader := leaderOf(servers)
	// Some entries so that the new server has a log to catch up on.
	for _, id := range []string{"a", "b", "c"} {
		var reg structs.JobRegisterResponse
		if err := leader.RPC(t.Context(), "Job.Register", &structs.JobRegisterRequest{Job: testJob(id, 1, 64)}, &reg); err != nil {
			t.Fatal(err)
		}
	}

	cfg := testConfig(t.TempDir())
	cfg.BootstrapExpect = 3 // sees servers with state: never bootstraps
	fastAutopilot(&cfg)
	// The leader's stabilization time (300ms) makes the non-voter phase
	// observable.
	fourth := startJoined(t, cfg, servers)

	var nonvoterSeen, voterSeen time.Time
	waitFor(t, 15*time.Second, "the 4th server becomes a non-voter", func() bool {
		l := leaderOf(servers)
		if l == nil {
			return false
		}
		switch suffrageIn(l, fourth.raftID) {
		case "nonvoter":
			nonvoterSeen = time.Now()
			return true
		case "voter":
			t.Fatalf("the 4th server was added as a voter directly")
		}
		return false
	})
	waitFor(t, 15*time.Second, "the 4th server is promoted to voter", func() bool {
		l := leaderOf(servers)
		if l != nil && suffrageIn(l, fourth.raftID) == "voter" {
			voterSeen = time.Now()
			return true
		}
		return false
	})
	if voterSeen.Sub(nonvoterSeen) < 100*time.Millisecond {
		t.Errorf("promoted %s after being seen a non-voter; want at least part of the 300ms stabilization", voterSeen.Sub(nonvoterSeen))
	}
	waitFor(t, 5*time.Second, "the promoted server has the jobs", func() bool { return fourth.state.JobByID("c") != nil })

	// Status.RaftStats is answered by the server asked, not the leader.
	var stats structs.RaftStatsResponse
	if err := fourth.RPC(t.Context(), "Status.RaftStats", &structs.GenericRequest{}, &stats); err != nil {
		t.Fatal(err)
	}
	if stats.ServerID != string(fourth.raftID) || stats.LastIndex == 0 || stats.AppliedIndex == 0 {
		t.Errorf("Status.RaftStats on the 4th server = %+v; want its own ID and indexes", stats)
	}
	if fourth.Leader() != leaderOf(servers).RPCAddr() {
		t.Errorf("4th server follows %q, want the leader %q", fourth.Leader(), leaderOf(servers).RPCAddr())
	}
}

func TestAutopilot_DeadServerRemovedAfterCleanupTime(t *testing.T) {
	const cleanup = 1500 * time.Millisecond
	servers := startTunedCluster(t, 3, func(c *Config) {
		fastAutopilot(c)
		c.Autopilot.DeadServerCleanupTime = cleanup
	})
	victim := followerOf(servers)
	rest := without(servers, victim)
	crashed := time.Now()
	crash(t, victim)

	waitFor(t, 20*time.Second, "the crashed server removed from the raft configuration", func() bool {
		l := leaderOf(rest)
		return l != nil && suffrageIn(l, victim.raftID) == "" && len(raftServers(l)) == 2
	})
	if took := time.Since(crashed); took < cleanup {
		t.Errorf("crashed server removed after %s, before the cleanup time %s", took, cleanup)
	}
	// The two left still commit.
	var reg structs.JobRegisterResponse
	if err := followerOf(rest).RPC(t.Context(), "Job.Register", &structs.JobRegisterRequest{Job: testJob("after", 1, 64)}, &reg); err != nil {
		t.Fatalf("Job.Register after the removal: %v", err)
	}
}

func TestAutopilot_DeadServerRemovedOnceReplaced(t *testing.T) {
	servers := startTunedCluster(t, 3, fastAutopilot) // cleanup time: 1h
	victim := followerOf(servers)
	rest := without(servers, victim)
	crash(t, victim)
	waitFor(t, 15*time.Second, "the leader sees the crashed server failed", func() bool {
		l := leaderOf(rest)
		if l == nil {
			return false
		}
		for _, m := range l.serverMembers() {
			if m.Tags[TagServerID] == string(victim.raftID) {
				return memberStatus(m.State) == "failed"
			}
		}
		return false
	})
	if l := leaderOf(rest); l == nil || suffrageIn(l, victim.raftID) != "voter" {
		t.Fatal("the failed server left the configuration before its cleanup time and with no replacement")
	}

	cfg := testConfig(t.TempDir())
	cfg.BootstrapExpect = 3
	fastAutopilot(&cfg)
	replacement := startJoined(t, cfg, rest)
	all := append(rest, replacement)
	waitFor(t, 20*time.Second, "the replacement promoted and the failed server removed", func() bool {
		l := leaderOf(all)
		return l != nil && suffrageIn(l, replacement.raftID) == "voter" && suffrageIn(l, victim.raftID) == "" &&
			len(raftServers(l)) == 3
	})
}

func TestAutopilot_DeadServerRemovalRefusedBelowMinimum(t *testing.T) {
	// MinQuorum 3 on a cluster of 3 voters: removing any would leave 2.
	servers := startTunedCluster(t, 3, func(c *Config) {
		fastAutopilot(c)
		c.Autopilot.DeadServerCleanupTime = 200 * time.Millisecond
		c.Autopilot.MinQuorum = 3
	})
	victim := followerOf(servers)
	rest := without(servers, victim)
	crash(t, victim)
	waitFor(t, 20*time.Second, "the leader refuses to remove the failed server", func() bool {
		l := leaderOf(rest)
		if l == nil {
			return false
		}
		ap := l.autopilot.Load()
		return ap != nil && ap.removalRefused(victim.raftID)
	})
	if l := leaderOf(rest); l == nil || suffrageIn(l, victim.raftID) != "voter" {
		t.Fatal("the failed server was removed although fewer than MinQuorum voters would remain")
	}
}

func TestAutopilot_MinVotersIsTheQuorumOfBootstrapExpect(t *testing.T) {
	for _, c := range []struct{ expect, want int }{{0, 1}, {1, 1}, {2, 2}, {3, 2}, {4, 3}, {5, 3}, {7, 4}} {
		if got := quorumOf(c.expect); got != c.want {
			t.Errorf("quorumOf(%d) = %d, want %d", c.expect, got, c.want)
		}
	}
}

func raftServers(l *Server) []raft.Server {
	f := l.raft.GetConfiguration()
	if f.Error() != nil {
		return nil
	}
	return f.Configuration().Servers
}

func TestAutopilot_DeadServerCleanupKeepsTheQuorumOfBootstrapExpect(t *testing.T) {
	// bootstrap_expect 4: at least 3 voters must remain. The first failed
	// server is removed (4 → 3 voters); the second is not (3 → 2 would be
	// fewer), although the cluster still has a working majority (2 of 3).
	servers := startTunedCluster(t, 4, func(c *Config) {
		fastAutopilot(c)
		c.Autopilot.DeadServerCleanupTime = 200 * time.Millisecond
	})
	first := followerOf(servers)
	rest := without(servers, first)
	crash(t, first)
	waitFor(t, 20*time.Second, "the first failed server removed", func() bool {
		l := leaderOf(rest)
		return l != nil && suffrageIn(l, first.raftID) == "" && len(raftServers(l)) == 3
	})
	second := followerOf(rest)
	rest = without(rest, second)
	crash(t, second)
	waitFor(t, 20*time.Second, "the leader refuses to remove the second failed server", func() bool {
		l := leaderOf(rest)
		if l == nil {
			return false
		}
		ap := l.autopilot.Load()
		return ap != nil && ap.removalRefused(second.raftID)
	})
	l := leaderOf(rest)
	if l == nil {
		t.Fatal("no leader after the refusal")
	}
	if suffrageIn(l, second.raftID) != "voter" || len(raftServers(l)) != 3 {
		t.Fatalf("after the refusal the configuration is %+v; want 3 voters, the second failed one among them", raftServers(l))
	}
	// The majority left still commits.
	var reg structs.JobRegisterResponse
	if err := l.RPC(t.Context(), "Job.Register", &structs.JobRegisterRequest{Job: testJob("still", 1, 64)}, &reg); err != nil {
		t.Fatalf("Job.Register with 2 of 3 voters alive: %v", err)
	}
}

func TestAutopilot_FailedNonVoterRemovedRegardlessOfMinQuorum(t *testing.T) {
	// A non-voter never counts towards quorum: its removal keeps every
	// voter, so MinQuorum (3 here, as many voters as there are) does not
	// hold it back. A stabilization time of an hour keeps it a non-voter.
	tune := func(c *Config) {
		fastAutopilot(c)
		c.Autopilot.ServerStabilizationTime = time.Hour
		c.Autopilot.DeadServerCleanupTime = 200 * time.Millisecond
		c.Autopilot.MinQuorum = 3
	}
	servers := startTunedCluster(t, 3, tune)
	cfg := testConfig(t.TempDir())
	cfg.BootstrapExpect = 3
	tune(&cfg)
	fourth := startJoined(t, cfg, servers)
	waitFor(t, 15*time.Second, "the 4th server follows the leader as a non-voter", func() bool {
		l := leaderOf(servers)
		return l != nil && suffrageIn(l, fourth.raftID) == "nonvoter" && fourth.Leader() == l.RPCAddr()
	})
	crash(t, fourth)
	waitFor(t, 20*time.Second, "the failed non-voter removed", func() bool {
		l := leaderOf(servers)
		if l == nil {
			return false
		}
		if suffrageIn(l, fourth.raftID) == "voter" {
			t.Fatal("the 4th server was promoted within an hour's stabilization time")
		}
		return suffrageIn(l, fourth.raftID) == "" && len(raftServers(l)) == 3
	})
}
