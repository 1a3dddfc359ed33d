package server

import (
	"testing"
	"time"

	"github.com/orch-io/orch/internal/clock/clocktest"
	"github.com/orch-io/orch/structs"
)

// The autopilot configuration on a 3-server cluster: the first leader
// stores its agent's settings; a change made through one follower is read
// through the other and is what the leader's autopilot decides by from its
// next pass, without a restart: with cleanup off a failed server stays past
// its cleanup time (and the health reports it), with cleanup back on it goes.
func TestAutopilotConfig_ReplicatedAndUsedByTheLeader(t *testing.T) {
	t.Parallel()
	clk := clocktest.NewFake()
	servers := startTunedCluster(t, 3, onFakeClock(clk))

	waitFor(t, 10*time.Second, "every server holds the seeded configuration", func() bool {
		for _, s := range servers {
			if s.state.AutopilotConfig() == nil {
				return false
			}
		}
		return true
	})
	seeded := *servers[0].state.AutopilotConfig()
	if !seeded.CleanupDeadServers || seeded.ServerStabilizationTime != fakeStabilization || seeded.MaxTrailingLogs != DefaultMaxTrailingLogs ||
		seeded.LastContactThreshold != time.Second {
		t.Fatalf("seeded configuration %+v; want the agents' settings", seeded)
	}

	l := leaderOf(servers)
	followers := without(servers, l)
	via, reader := followers[0], followers[1]
	set := func(s *Server, cfg structs.AutopilotConfig, cas bool) bool {
		t.Helper()
		req := &structs.AutopilotSetConfigRequest{Config: cfg, CAS: cas, WriteRequest: structs.WriteRequest{RequestID: structs.GenerateUUID()}}
		var resp structs.AutopilotSetConfigResponse
		if err := s.RPC(t.Context(), "Operator.AutopilotSetConfiguration", req, &resp); err != nil {
			t.Fatalf("Operator.AutopilotSetConfiguration through %s: %v", s.config.NodeName, err)
		}
		return resp.Updated
	}
	want := structs.AutopilotConfig{CleanupDeadServers: false, LastContactThreshold: 5 * time.Second, MaxTrailingLogs: 42,
		MinQuorum: 2, ServerStabilizationTime: 3 * time.Second, ModifyIndex: seeded.ModifyIndex}
	if !set(via, want, true) {
		t.Fatal("CAS at the seed's index through a follower: not updated")
	}
	if set(via, structs.AutopilotConfig{MaxTrailingLogs: 1, ModifyIndex: seeded.ModifyIndex}, true) {
		t.Fatal("a second CAS at the seed's index: updated")
	}

	var got structs.AutopilotConfigResponse
	if err := reader.RPC(t.Context(), "Operator.AutopilotGetConfiguration", &structs.GenericRequest{}, &got); err != nil {
		t.Fatal(err)
	}
	c := got.Config
	if c.CleanupDeadServers || c.LastContactThreshold != want.LastContactThreshold || c.MaxTrailingLogs != 42 || c.MinQuorum != 2 ||
		c.ServerStabilizationTime != want.ServerStabilizationTime || c.ModifyIndex <= seeded.ModifyIndex || c.CreateIndex != seeded.CreateIndex {
		t.Fatalf("read through the other follower: %+v", c)
	}
	waitFor(t, 10*time.Second, "the other follower's own state has it", func() bool {
		r := reader.state.AutopilotConfig()
		return r != nil && r.ModifyIndex == c.ModifyIndex
	})

	// The leader's autopilot decides by it from its next pass.
	waitFor(t, 10*time.Second, "the leader's autopilot uses the new settings", func() bool {
		_, ap := leaderAutopilot(servers)
		if ap == nil {
			return false
		}
		kickAutopilot(leaderOf(servers))
		s := ap.settings()
		return s.DisableDeadServerCleanup && s.MaxTrailingLogs == 42 && s.MinQuorum == 2 &&
			s.ServerStabilizationTime == 3*time.Second && s.LastContactThreshold == 5*time.Second &&
			s.DeadServerCleanupTime == fakeCleanup // the agent's own
	})
	health := func(s *Server) *structs.OperatorHealthReply {
		t.Helper()
		var h structs.OperatorHealthReply
		if err := s.RPC(t.Context(), "Operator.ServerHealth", &structs.GenericRequest{}, &h); err != nil {
			t.Fatalf("Operator.ServerHealth through %s: %v", s.config.NodeName, err)
		}
		return &h
	}
	waitFor(t, 10*time.Second, "three healthy voters, one failure tolerated", func() bool {
		kickAutopilot(leaderOf(servers))
		h := health(reader)
		return h.Healthy && h.FailureTolerance == 1 && len(h.Servers) == 3 && len(h.Voters) == 3 && h.Leader == string(l.raftID)
	})

	// Cleanup off: the failed server outlives its cleanup time.
	crashAndReportFailed(t, reader, without(servers, reader))
	rest := without(servers, reader)
	waitAutopilot(t, rest, "the leader counts the crashed server failed", func(st autopilotState) bool {
		_, ok := st.failedSince[reader.raftID]
		return ok
	})
	clk.Advance(fakeCleanup + time.Second)
	autopilotPass(t, rest)
	if got := suffrageIn(leaderOf(rest), reader.raftID); got != "voter" {
		t.Fatalf("with cleanup_dead_servers off, the failed server is %q after its cleanup time, want still a voter", got)
	}
	h := health(via)
	var failed *structs.ServerHealth
	for i := range h.Servers {
		if h.Servers[i].ID == string(reader.raftID) {
			failed = &h.Servers[i]
		}
	}
	if h.Healthy || h.FailureTolerance != 0 || failed == nil || failed.Healthy || failed.SerfStatus != "failed" || !failed.Voter {
		t.Fatalf("health with a failed voter: %+v (the failed one: %+v)", h, failed)
	}

	// Cleanup back on, through the other survivor: removed at a next pass.
	on := want
	on.CleanupDeadServers = true
	if !set(l, on, false) {
		t.Fatal("set through the leader: not updated")
	}
	waitAfterCleanup(t, clk, rest, reader.raftID, "the failed server removed once cleanup is on again", func(autopilotState) bool {
		nl := leaderOf(rest)
		return nl != nil && suffrageIn(nl, reader.raftID) == ""
	})
}
