package server

import (
	"fmt"
	"testing"
	"time"

	"github.com/hashicorp/yamux"
	"github.com/orch-io/orch/internal/clock/clocktest"
	"github.com/orch-io/orch/internal/rpcwire"
	"github.com/orch-io/orch/structs"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// timerOf returns the session and the deadline of nodeID's timer on the
// leader s (ok false when it has none).
func timerOf(s *Server, nodeID string) (session string, deadline time.Time, ok bool) {
	s.heartbeats.mu.Lock()
	defer s.heartbeats.mu.Unlock()
	ht := s.heartbeats.mu.timers[nodeID]
	if ht == nil {
		return "", time.Time{}, false
	}
	return ht.session, ht.deadline, true
}

// livenessConfig is a server configuration whose TTL and grace are an hour
// (a node can only be found by its connection), with reconnect_grace grace;
// clk, if not nil, is its clock.
func livenessConfig(t *testing.T, clk *clocktest.Fake, grace time.Duration) Config {
	cfg := testConfig(t.TempDir())
	if clk != nil {
		cfg.Clock = clk
	}
	cfg.MinHeartbeatTTL, cfg.HeartbeatGrace, cfg.ReconnectGrace = time.Hour, time.Hour, grace
	return cfg
}

// A report that a session was lost shortens to reconnect_grace the timer of
// the nodes whose last heartbeat came in on it, and no other: not a node
// that heartbeated on another session since (it reconnected before the
// report arrived), not one whose timer names no session (its agent said it
// was stopping), not one whose timer runs out sooner anyway. The shortened
// timer marks its node down when the grace passes.
func TestSessionLostShortensOnlyTheTimersOfThatSession(t *testing.T) {
	clk := clocktest.NewFake()
	s := startServer(t, livenessConfig(t, clk, 3*time.Second))
	lost, moved, stopping, soon := testNode(), testNode(), testNode(), testNode()
	for _, n := range []*structs.Node{lost, moved, stopping, soon} {
		registerNode(t, s, n)
	}
	h := s.heartbeats
	h.reset(lost.ID, "a/1")
	h.reset(moved.ID, "a/1")
	h.reset(moved.ID, "b/7") // reconnected to another server
	h.reset(stopping.ID, "")
	h.mu.Lock()
	h.startTimerLocked(soon.ID, time.Second, "a/1", whyMissedHeartbeat)
	h.mu.Unlock()

	ids := []string{lost.ID, moved.ID, stopping.ID, soon.ID, "no-such-node"}
	if n := h.sessionLost("a/1", ids); n != 1 {
		t.Fatalf("sessionLost shortened %d timers, want 1 (the node whose last heartbeat came on a/1)", n)
	}
	if n := h.sessionLost("a/1", ids); n != 0 {
		t.Errorf("a second report shortened %d timers, want 0", n)
	}
	if _, dl, _ := timerOf(s, lost.ID); !dl.Equal(clk.Now().Add(3 * time.Second)) {
		t.Errorf("the lost node's timer runs out at %s, want now + reconnect_grace", dl)
	}
	for _, n := range []*structs.Node{moved, stopping} {
		if _, dl, _ := timerOf(s, n.ID); dl.Before(clk.Now().Add(time.Hour)) {
			t.Errorf("node %s: timer shortened to %s", n.Name, dl.Sub(clk.Now()))
		}
	}

	clk.Advance(3 * time.Second)
	waitFor(t, 10*time.Second, "the lost node marked down", func() bool { return nodeStatus(s, lost.ID) == structs.NodeStatusDown })
	if st := nodeStatus(s, soon.ID); st != structs.NodeStatusDown {
		t.Errorf("the node whose timer ran out first is %s, want down", st)
	}
	for _, n := range []*structs.Node{moved, stopping} {
		if st := nodeStatus(s, n.ID); st != structs.NodeStatusReady {
			t.Errorf("node %s is %s, want ready", n.Name, st)
		}
	}
}

// agentSession is a client agent's connection to s over the real wire.
func agentSession(t *testing.T, s *Server) *yamux.Session {
	t.Helper()
	conn, err := rpcwire.DialConn(t.Context(), s.RPCAddr(), structs.RPCTypeMultiplex, nil)
	if err != nil {
		t.Fatal(err)
	}
	sess, err := yamux.Client(conn, yamux.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sess.Close() })
	return sess
}

func callOn(t *testing.T, sess *yamux.Session, method string, args any) {
	t.Helper()
	var reply structs.NodeUpdateResponse
	if err := rpcwire.Call(t.Context(), sess, method, args, &reply); err != nil {
		t.Fatalf("%s: %v", method, err)
	}
}

// A client whose connection closes (its process died: the kernel closed the
// socket) is marked down reconnect_grace later, though its TTL is an hour;
// on the same connection, a client that said it was stopping, and one that
// had moved to another connection, keep their TTL.
func TestClosedConnectionMarksItsNodeDownAfterReconnectGrace(t *testing.T) {
	s := startServer(t, livenessConfig(t, nil, 200*time.Millisecond))
	died, stopping, moved := testNode(), testNode(), testNode()
	first := agentSession(t, s)
	for _, n := range []*structs.Node{died, stopping, moved} {
		callOn(t, first, "Node.Register", &structs.NodeRegisterRequest{Node: n})
	}
	callOn(t, first, "Node.UpdateStatus", &structs.NodeUpdateStatusRequest{
		NodeID: stopping.ID, SecretID: stopping.SecretID, AgentStopping: true})
	callOn(t, agentSession(t, s), "Node.UpdateStatus", &structs.NodeUpdateStatusRequest{
		NodeID: moved.ID, SecretID: moved.SecretID})

	first.Close()
	waitFor(t, 10*time.Second, "the node whose connection closed marked down", func() bool {
		return nodeStatus(s, died.ID) == structs.NodeStatusDown
	})
	for _, n := range []*structs.Node{stopping, moved} {
		if st := nodeStatus(s, n.ID); st != structs.NodeStatusReady {
			t.Errorf("node %s is %s, want ready", n.Name, st)
		}
		if _, dl, ok := timerOf(s, n.ID); !ok || time.Until(dl) < 30*time.Minute {
			t.Errorf("node %s: its timer (held %v) runs out in %s, want its TTL", n.Name, ok, time.Until(dl))
		}
	}
}

// A connection this server ended itself (its keepalive went unanswered, a
// write timed out: maybe by its own fault, overloaded) is not reported: the
// node keeps its TTL.
func TestConnectionTheServerEndedIsNotReported(t *testing.T) {
	s := startServer(t, livenessConfig(t, nil, 200*time.Millisecond))
	node := testNode()
	callOn(t, agentSession(t, s), "Node.Register", &structs.NodeRegisterRequest{Node: node})
	s.nodeConns.mu.Lock()
	ms := s.nodeConns.byNode[node.ID]
	s.nodeConns.mu.Unlock()
	ms.sess.Close()
	ended := s.metrics.connectionLosses.WithLabelValues("server_ended")
	waitFor(t, 10*time.Second, "the ended connection counted", func() bool { return testutil.ToFloat64(ended) == 1 })
	if _, dl, ok := timerOf(s, node.ID); !ok || time.Until(dl) < 30*time.Minute {
		t.Errorf("timer (held %v) runs out in %s, want the TTL", ok, time.Until(dl))
	}
}

// Node.SessionLost is refused to a caller that is not a server (a request
// not forwarded by one).
func TestSessionLostIsForServersOnly(t *testing.T) {
	s := startServer(t, testConfig(t.TempDir()))
	var reply structs.GenericResponse
	err := s.RPC(t.Context(), "Node.SessionLost", &structs.NodeSessionLostRequest{Session: "x/1", NodeIDs: []string{"n"}}, &reply)
	if structs.CodeOf(err) != structs.CodePermissionDenied {
		t.Fatalf("Node.SessionLost from a non-server: %v, want permission denied", err)
	}
}

// A follower that loses a client's connection tells the leader, which holds
// the timers: the node is marked down reconnect_grace later.
func TestLostConnectionOnAFollowerReachesTheLeader(t *testing.T) {
	cfgs := make([]Config, 3)
	for i := range cfgs {
		cfgs[i] = livenessConfig(t, nil, 200*time.Millisecond)
	}
	servers := startClusterOf(t, cfgs...)
	leader, follower := leaderOf(servers), followerOf(servers)
	node := testNode()
	sess := agentSession(t, follower)
	callOn(t, sess, "Node.Register", &structs.NodeRegisterRequest{Node: node})
	if session, _, ok := timerOf(leader, node.ID); !ok || session == "" {
		t.Fatalf("the leader's timer of a node registered through a follower names session %q (held %v), want the follower's", session, ok)
	}
	sess.Close()
	waitFor(t, 10*time.Second, "the node marked down", func() bool { return nodeStatus(leader, node.ID) == structs.NodeStatusDown })
}

// Many nodes losing their connection at once look like a fault of the
// servers or the network, not of the nodes: the leader shortens the timers
// of at most maxConnectionSuspects within connectionLossWindow, those waiting
// and those marked down together (a report all or nothing), and leaves the
// others to their TTL.
func TestTooManyLostConnectionsAtOnceAreLeftToTheTTL(t *testing.T) {
	clk := clocktest.NewFake()
	cfg := livenessConfig(t, clk, 5*time.Second)
	s := startServer(t, cfg)
	h := s.heartbeats
	var first, second []string
	for i := range 12 {
		id := fmt.Sprintf("node-%02d", i)
		session := "a/1"
		if i >= 8 {
			session = "a/2"
		}
		h.reset(id, session)
		if i < 8 {
			first = append(first, id)
		} else {
			second = append(second, id)
		}
	}
	if limit := maxConnectionSuspects(12); limit != 10 {
		t.Fatalf("maxConnectionSuspects(12) = %d, want 10", limit)
	}
	if limit := maxConnectionSuspects(5000); limit != 100 {
		t.Fatalf("maxConnectionSuspects(5000) = %d, want 100", limit)
	}
	if n := h.sessionLost("a/1", first); n != 8 {
		t.Fatalf("first report: %d shortened, want 8", n)
	}
	if n := h.sessionLost("a/2", second); n != 0 {
		t.Fatalf("second report, 8 + 4 > 10 at once: %d shortened, want 0", n)
	}
	for _, id := range second {
		if _, dl, _ := timerOf(s, id); dl.Before(clk.Now().Add(time.Hour)) {
			t.Errorf("%s: timer shortened though the report was refused", id)
		}
	}
	// Marked down, the first ones still count within the window.
	clk.Advance(cfg.ReconnectGrace)
	waitFor(t, 10*time.Second, "the first ones' timers run out", func() bool { return h.activeTimers() == 4 })
	if n := h.sessionLost("a/2", second); n != 0 {
		t.Fatalf("8 marked down within %s + 4: %d shortened, want 0", connectionLossWindow, n)
	}
	clk.Advance(connectionLossWindow + time.Second)
	if n := h.sessionLost("a/2", second); n != 4 {
		t.Errorf("the report again once the window passed: %d shortened, want 4", n)
	}
}

// A server that saw the leader change moments ago does not report the
// connections that ended meanwhile: clients time out and reconnect then,
// and the nodes keep their TTL.
func TestUnsettledServerDoesNotReportLostConnections(t *testing.T) {
	s := startServer(t, livenessConfig(t, nil, 200*time.Millisecond))
	node := testNode()
	sess := agentSession(t, s)
	callOn(t, sess, "Node.Register", &structs.NodeRegisterRequest{Node: node})
	s.leaderObs.Lock()
	s.leaderObs.changedAt = time.Now()
	s.leaderObs.Unlock()
	sess.Close()
	unsettled := s.metrics.connectionLosses.WithLabelValues("unsettled")
	waitFor(t, 10*time.Second, "the lost connection counted as unsettled", func() bool { return testutil.ToFloat64(unsettled) == 1 })
	if _, dl, ok := timerOf(s, node.ID); !ok || time.Until(dl) < 30*time.Minute {
		t.Errorf("timer (held %v) runs out in %s, want the TTL", ok, time.Until(dl))
	}
	if why := s.unsettled(time.Now().Add(sessionReportSettle)); why != "" {
		t.Errorf("unsettled %s later: %q, want settled", sessionReportSettle, why)
	}
}

// Without reconnect_grace (the default) a lost connection changes nothing:
// the TTL alone finds the node.
func TestConnectionLossIsOffWithoutReconnectGrace(t *testing.T) {
	s := startServer(t, livenessConfig(t, nil, 0))
	s.heartbeats.reset("node-1", "a/1")
	if n := s.heartbeats.sessionLost("a/1", []string{"node-1"}); n != 0 {
		t.Errorf("sessionLost without reconnect_grace shortened %d timers, want 0", n)
	}
}
