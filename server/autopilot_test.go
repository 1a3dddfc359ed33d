package server

import (
	"net"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/hashicorp/raft"
	"github.com/orch-io/orch/internal/clock/clocktest"
	"github.com/orch-io/orch/structs"
)

// fastAutopilot shortens the autopilot timings for the tests on real time.
func fastAutopilot(cfg *Config) {
	cfg.Autopilot.Interval = 50 * time.Millisecond
	cfg.Autopilot.ServerStabilizationTime = 300 * time.Millisecond
	cfg.Autopilot.DeadServerCleanupTime = time.Hour
	// Raft's heartbeats on a loaded machine: generous, as the timings are.
	cfg.Autopilot.LastContactThreshold = time.Second
}

// Timings of the autopilot tests on a fake clock: they pass only when the
// test advances the clock.
const (
	fakeStabilization = 10 * time.Second
	fakeCleanup       = time.Hour
)

// onFakeClock puts a server on the test's fake clock, with autopilot's
// timings on it: an interval of a second, fakeStabilization, fakeCleanup.
func onFakeClock(clk *clocktest.Fake) func(*Config) {
	return func(c *Config) {
		c.Clock = clk
		c.Autopilot.Interval = time.Second
		c.Autopilot.ServerStabilizationTime = fakeStabilization
		c.Autopilot.DeadServerCleanupTime = fakeCleanup
		// Raft's own (real) heartbeats on a loaded machine.
		c.Autopilot.LastContactThreshold = time.Second
	}
}

// kickAutopilot asks s's autopilot loop for a pass, as a gossip event does.
func kickAutopilot(s *Server) {
	select {
	case s.reconcileKick <- struct{}{}:
	default:
	}
}

// leaderAutopilot returns the leader of servers and its running autopilot,
// or nils while there is none.
func leaderAutopilot(servers []*Server) (*Server, *autopilot) {
	l := leaderOf(servers)
	if l == nil {
		return nil, nil
	}
	return l, l.autopilot.Load()
}

// autopilotPass waits for a pass of the leader's autopilot that started
// after the call (so it saw the fake clock as it is now; the clock does not
// move) and returns the state it left.
func autopilotPass(t *testing.T, servers []*Server) autopilotState {
	t.Helper()
	var ap *autopilot
	var n uint64
	var st autopilotState
	waitFor(t, 10*time.Second, "an autopilot pass", func() bool {
		l, cur := leaderAutopilot(servers)
		if cur == nil {
			return false
		}
		if cur != ap { // the first poll, or a new leader: count its passes
			ap = cur
			_, n = ap.observed()
		}
		kickAutopilot(l)
		var passes uint64
		st, passes = ap.observed()
		// Pass n+1 may have started before the call; n+2 started after it.
		return passes >= n+2
	})
	return st
}

// waitAutopilot waits, kicking the leader's autopilot (the fake clock does
// not move), until cond holds of the state a pass left.
func waitAutopilot(t *testing.T, servers []*Server, what string, cond func(autopilotState) bool) {
	t.Helper()
	waitFor(t, 15*time.Second, what, func() bool {
		l, ap := leaderAutopilot(servers)
		if ap == nil {
			return false
		}
		kickAutopilot(l)
		st, _ := ap.observed()
		return cond(st)
	})
}

// waitAfterCleanup is waitAutopilot that moves the fake clock to the end of
// id's cleanup time once the leader counts id failed (and again if a new
// leader starts counting afresh).
func waitAfterCleanup(t *testing.T, clk *clocktest.Fake, servers []*Server, id raft.ServerID, what string, cond func(autopilotState) bool) {
	t.Helper()
	waitAutopilot(t, servers, what, func(st autopilotState) bool {
		if since, ok := st.failedSince[id]; ok {
			if due := since.Add(fakeCleanup); clk.Now().Before(due) {
				clk.Advance(due.Sub(clk.Now()))
			}
		}
		return cond(st)
	})
}

// waitPromoted waits until the leader has promoted id and cond holds,
// moving the fake clock an interval at a time while the leader counts id
// healthy (and only then, so that the clock moves no further than the
// stabilization needs).
func waitPromoted(t *testing.T, clk *clocktest.Fake, servers []*Server, id raft.ServerID, cond func(l *Server) bool) {
	t.Helper()
	waitAutopilot(t, servers, "server "+string(id)+" promoted to voter", func(st autopilotState) bool {
		if _, ok := st.healthySince[id]; ok {
			clk.Advance(time.Second)
		}
		l := leaderOf(servers)
		return l != nil && suffrageIn(l, id) == "voter" && cond(l)
	})
}

// crashAndReportFailed crashes victim and tells the others' gossip handlers
// what memberlist would after its failure detection (a few seconds of
// probes and suspicion), so that the test need not wait for it.
func crashAndReportFailed(t *testing.T, victim *Server, others []*Server) {
	t.Helper()
	crash(t, victim)
	// Built from the victim's name and tags, not copied from memberlist's
	// LocalNode: that points into memberlist's state, which a tag update
	// (markRaftExisting) rewrites under memberlist's lock, not ours.
	host, port, err := net.SplitHostPort(victim.GossipAddr())
	if err != nil {
		t.Fatal(err)
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		t.Fatal(err)
	}
	node := memberlist.Node{
		Name: victim.config.NodeName,
		Addr: net.ParseIP(host),
		Port: uint16(p),
		Meta: slices.Clone(victim.gossipDelegate.NodeMeta(memberlist.MetaMaxSize)),
	}
	for _, s := range others {
		gossipEvents{s}.NotifyLeave(&node)
	}
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
// The server is crashed when the test ends: these tests are not about
// graceful leaves, which cost a second per cluster, or, in a cluster left
// with a failed voter, LeaderWaitTimeout per server once quorum is lost.
func startJoined(t *testing.T, cfg Config, others []*Server) *Server {
	t.Helper()
	s, err := NewServer(cfg)
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	t.Cleanup(func() { crash(t, s) })
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
		s.raftTransport.CloseStreams() // a dead process's connections close
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

// registerJobs registers each job through s. A loaded machine can cost the
// cluster its leader meanwhile: a write that was not applied, or whose
// outcome is unknown, is sent again with its request ID (applied once).
func registerJobs(t *testing.T, s *Server, ids ...string) {
	t.Helper()
	for _, id := range ids {
		req := &structs.JobRegisterRequest{Job: testJob(id, 1, 64), WriteRequest: structs.WriteRequest{RequestID: structs.GenerateUUID()}}
		var err error
		waitFor(t, 20*time.Second, "job "+id+" registered", func() bool {
			var reg structs.JobRegisterResponse
			err = s.RPC(t.Context(), "Job.Register", req, &reg)
			code := structs.CodeOf(err)
			return err == nil || (code != structs.CodeNoLeader && code != structs.CodeIndeterminate)
		})
		if err != nil {
			t.Fatalf("Job.Register %s: %v", id, err)
		}
	}
}

// A server joining a running cluster is added as a non-voter, and promoted
// once it has been healthy for the stabilization time, by the fake clock.
func TestAutopilot_NewServerJoinsAsNonVoterThenPromoted(t *testing.T) {
	t.Parallel()
	clk := clocktest.NewFake()
	servers := startTunedCluster(t, 3, onFakeClock(clk))
	// Some entries so that the new server has a log to catch up on.
	registerJobs(t, leaderOf(servers), "a", "b", "c")

	cfg := testConfig(t.TempDir())
	cfg.BootstrapExpect = 3 // sees servers with state: never bootstraps
	onFakeClock(clk)(&cfg)
	fourth := startJoined(t, cfg, servers)
	id := fourth.raftID

	var since time.Time
	waitAutopilot(t, servers, "the leader counts the 4th server, a non-voter, healthy", func(st autopilotState) bool {
		var ok bool
		since, ok = st.healthySince[id]
		return ok
	})
	if l := leaderOf(servers); l == nil || suffrageIn(l, id) != "nonvoter" {
		t.Fatalf("the 4th server is %q, want a non-voter while it stabilizes", suffrageIn(l, id))
	}
	clk.Advance(since.Add(fakeStabilization - time.Nanosecond).Sub(clk.Now()))
	autopilotPass(t, servers)
	if l := leaderOf(servers); l == nil || suffrageIn(l, id) != "nonvoter" {
		t.Fatalf("the 4th server is %q a nanosecond before its stabilization time, want a non-voter", suffrageIn(l, id))
	}
	waitPromoted(t, clk, servers, id, func(*Server) bool { return true })
	waitFor(t, 5*time.Second, "the promoted server has the jobs", func() bool { return fourth.state.JobByID("default", "c") != nil })

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

// The wiring on real time: a real crash, found by real gossip, removed after
// a real cleanup time. (The other tests drive a fake clock.)
func TestAutopilot_DeadServerRemovedAfterCleanupTime(t *testing.T) {
	t.Parallel()
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

// A failed voter is kept (its cleanup time is an hour away) until a new
// server is promoted after it failed: then it goes at once.
func TestAutopilot_DeadServerRemovedOnceReplaced(t *testing.T) {
	t.Parallel()
	clk := clocktest.NewFake()
	servers := startTunedCluster(t, 3, onFakeClock(clk))
	victim := followerOf(servers)
	rest := without(servers, victim)
	crashAndReportFailed(t, victim, rest)
	waitAutopilot(t, rest, "the leader records the crashed server failed", func(st autopilotState) bool {
		_, ok := st.failedSince[victim.raftID]
		return ok
	})
	if l := leaderOf(rest); l == nil || suffrageIn(l, victim.raftID) != "voter" {
		t.Fatal("the failed server left the configuration before its cleanup time and with no replacement")
	}

	cfg := testConfig(t.TempDir())
	cfg.BootstrapExpect = 3
	onFakeClock(clk)(&cfg)
	replacement := startJoined(t, cfg, rest)
	all := append(rest, replacement)
	waitPromoted(t, clk, all, replacement.raftID, func(l *Server) bool {
		return suffrageIn(l, victim.raftID) == "" && len(raftServers(l)) == 3
	})
	if elapsed := clk.Now().Sub(clocktest.Start); elapsed >= fakeCleanup {
		t.Fatalf("the clock moved %s, past the cleanup time: the test proves nothing of the replacement rule", elapsed)
	}
}

// A failed voter due for removal is kept when fewer than MinQuorum voters
// would remain.
func TestAutopilot_DeadServerRemovalRefusedBelowMinimum(t *testing.T) {
	t.Parallel()
	clk := clocktest.NewFake()
	// MinQuorum 3 on a cluster of 3 voters: removing any would leave 2.
	servers := startTunedCluster(t, 3, func(c *Config) {
		onFakeClock(clk)(c)
		c.Autopilot.MinQuorum = 3
	})
	victim := followerOf(servers)
	rest := without(servers, victim)
	crashAndReportFailed(t, victim, rest)
	waitAfterCleanup(t, clk, rest, victim.raftID, "the leader refuses to remove the failed server", func(st autopilotState) bool {
		return st.refused[victim.raftID]
	})
	if l := leaderOf(rest); l == nil || suffrageIn(l, victim.raftID) != "voter" {
		t.Fatal("the failed server was removed although fewer than MinQuorum voters would remain")
	}
}

func TestAutopilot_DeadServerCleanupKeepsTheQuorumOfBootstrapExpect(t *testing.T) {
	t.Parallel()
	// bootstrap_expect 4: at least 3 voters must remain. The first failed
	// server is removed (4 → 3 voters); the second is not (3 → 2 would be
	// fewer), although the cluster still has a working majority (2 of 3).
	clk := clocktest.NewFake()
	servers := startTunedCluster(t, 4, onFakeClock(clk))
	first := followerOf(servers)
	rest := without(servers, first)
	crashAndReportFailed(t, first, rest)
	waitAfterCleanup(t, clk, rest, first.raftID, "the first failed server removed", func(autopilotState) bool {
		l := leaderOf(rest)
		return l != nil && suffrageIn(l, first.raftID) == "" && len(raftServers(l)) == 3
	})
	second := followerOf(rest)
	rest = without(rest, second)
	crashAndReportFailed(t, second, rest)
	waitAfterCleanup(t, clk, rest, second.raftID, "the leader refuses to remove the second failed server", func(st autopilotState) bool {
		return st.refused[second.raftID]
	})
	l := leaderOf(rest)
	if l == nil {
		t.Fatal("no leader after the refusal")
	}
	if suffrageIn(l, second.raftID) != "voter" || len(raftServers(l)) != 3 {
		t.Fatalf("after the refusal the configuration is %+v; want 3 voters, the second failed one among them", raftServers(l))
	}
	// The majority left still commits.
	registerJobs(t, l, "still")
}

func TestAutopilot_FailedNonVoterRemovedRegardlessOfMinQuorum(t *testing.T) {
	t.Parallel()
	// A non-voter never counts towards quorum: its removal keeps every
	// voter, so MinQuorum (3 here, as many voters as there are) does not
	// hold it back. The clock never reaches its stabilization time.
	clk := clocktest.NewFake()
	tune := func(c *Config) {
		onFakeClock(clk)(c)
		c.Autopilot.ServerStabilizationTime = 100 * fakeCleanup
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
	crashAndReportFailed(t, fourth, servers)
	waitAfterCleanup(t, clk, servers, fourth.raftID, "the failed non-voter removed", func(autopilotState) bool {
		l := leaderOf(servers)
		if l == nil {
			return false
		}
		if suffrageIn(l, fourth.raftID) == "voter" {
			t.Fatal("the 4th server was promoted within its stabilization time")
		}
		return suffrageIn(l, fourth.raftID) == "" && len(raftServers(l)) == 3
	})
}

func raftServers(l *Server) []raft.Server {
	f := l.raft.GetConfiguration()
	if f.Error() != nil {
		return nil
	}
	return f.Configuration().Servers
}
