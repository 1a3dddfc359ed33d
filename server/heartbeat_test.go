package server

import (
	"fmt"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/orch-io/orch/internal/clock"
	"github.com/orch-io/orch/internal/clock/clocktest"
	"github.com/orch-io/orch/structs"
)

func TestHeartbeatTTLScalesWithClusterSize(t *testing.T) {
	for _, tc := range []struct {
		min     time.Duration
		rate    float64
		nodes   int
		stagger float64
		want    time.Duration
	}{
		{10 * time.Second, 50, 0, 0, 10 * time.Second},
		{10 * time.Second, 50, 1, 0, 10 * time.Second},
		{10 * time.Second, 50, 500, 0, 10 * time.Second},    // 500/50 = 10s: the floor still
		{10 * time.Second, 50, 1000, 0, 20 * time.Second},   // 1000/50 = 20s
		{10 * time.Second, 50, 10000, 0, 200 * time.Second}, // 10000/50
		{10 * time.Second, 50, 1000, 0.5, 30 * time.Second}, // 20s + half again
		{10 * time.Second, 50, 1, 0.999, 10*time.Second + 9990*time.Millisecond},
		{2 * time.Second, 100, 50, 0, 2 * time.Second},
		{0, 50, 0, 0.5, 0},
	} {
		if got := heartbeatTTL(tc.min, tc.rate, tc.nodes, tc.stagger); got != tc.want {
			t.Errorf("heartbeatTTL(%s, %g/s, %d nodes, stagger %g) = %s, want %s", tc.min, tc.rate, tc.nodes, tc.stagger, got, tc.want)
		}
	}
}

// The leader's heartbeat load stays bounded: with every node heartbeating once
// per TTL, the rate never exceeds the configured maximum, whatever the size.
func TestHeartbeatTTLBoundsLeaderLoad(t *testing.T) {
	const rate = 50.0
	for _, nodes := range []int{100, 1000, 5000, 20000} {
		ttl := heartbeatTTL(10*time.Second, rate, nodes, 0)
		perSecond := float64(nodes) / ttl.Seconds()
		if perSecond > rate+1e-9 {
			t.Errorf("%d nodes: TTL %s gives %.1f heartbeats/s, more than %g", nodes, ttl, perSecond, rate)
		}
	}
}

// The heartbeat timer runs on the server's clock: a node is marked down
// exactly TTL + grace after its last heartbeat, not a nanosecond before, and
// each heartbeat starts the count again. (TestHeartbeat_ExpiryMarksNodeDownWithEvals
// proves the same on real time.)
func TestHeartbeat_TimerRunsOutAtTTLPlusGraceByTheClock(t *testing.T) {
	clk := clocktest.NewFake()
	cfg := testConfig(t.TempDir())
	cfg.Clock = clk
	cfg.MinHeartbeatTTL, cfg.HeartbeatGrace = 10*time.Second, 5*time.Second
	s := startServer(t, cfg)
	node := testNode()
	ttl := registerNode(t, s, node).HeartbeatTTL
	if ttl < 10*time.Second || ttl >= 20*time.Second {
		t.Fatalf("TTL = %s, want in [10s, 20s): the minimum plus a stagger", ttl)
	}

	// Timers fire inside Advance, and marking down commits before it
	// returns: the status can be checked right after.
	clk.Advance(ttl + 5*time.Second - time.Nanosecond)
	if st := nodeStatus(s, node.ID); st != structs.NodeStatusReady {
		t.Fatalf("node %s a nanosecond before TTL + grace, want ready", st)
	}
	var hb structs.NodeUpdateResponse
	req := &structs.NodeUpdateStatusRequest{NodeID: node.ID, SecretID: node.SecretID, Status: structs.NodeStatusReady}
	if err := s.RPC(t.Context(), "Node.UpdateStatus", req, &hb); err != nil {
		t.Fatal(err)
	}
	heartbeatAt := clk.Now()
	clk.Advance(time.Nanosecond) // the first timer's deadline: it was replaced
	if st := nodeStatus(s, node.ID); st != structs.NodeStatusReady {
		t.Fatalf("node %s at the deadline of a timer a heartbeat replaced, want ready", st)
	}
	due := heartbeatAt.Add(hb.HeartbeatTTL + 5*time.Second)
	clk.Advance(due.Add(-time.Nanosecond).Sub(clk.Now()))
	if st := nodeStatus(s, node.ID); st != structs.NodeStatusReady {
		t.Fatalf("node %s a nanosecond before TTL + grace after its heartbeat, want ready", st)
	}
	clk.Advance(time.Nanosecond)
	n := s.state.NodeByID(node.ID)
	if n.Status != structs.NodeStatusDown {
		t.Fatalf("node %s at TTL + grace after its heartbeat, want down", n.Status)
	}
	if n.StatusUpdatedAt != due.Unix() {
		t.Errorf("node marked down at %s, want the clock's time %s", time.Unix(n.StatusUpdatedAt, 0).UTC(), due)
	}
	if got := s.heartbeats.activeTimers(); got != 0 {
		t.Errorf("%d timers after the node went down, want 0", got)
	}
}

// BenchmarkHeartbeatReset measures a heartbeat's timer work on a leader
// with 5,000 nodes (one runtime timer each, replaced at every heartbeat),
// which is what the scale issue cares about.
func BenchmarkHeartbeatReset(b *testing.B) {
	const nodes = 5000
	cfg := Config{Clock: clock.Real(), MinHeartbeatTTL: time.Hour, HeartbeatGrace: time.Hour}.withDefaults()
	h := newHeartbeats(&Server{config: cfg})
	h.setEnabled(true)
	defer h.setEnabled(false)
	ids := make([]string, nodes)
	for i := range ids {
		ids[i] = fmt.Sprintf("node-%d", i)
		h.reset(ids[i], "")
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		h.reset(ids[i%nodes], "")
	}
}

// clientMember is the memberlist node of a client agent as gossip reports it.
func clientMember(t *testing.T, nodeID string, extra map[string]string) *memberlist.Node {
	t.Helper()
	tags := map[string]string{TagRole: structs.GossipRoleClient, TagRegion: "global", TagNodeID: nodeID}
	for k, v := range extra {
		tags[k] = v
	}
	meta, err := structs.EncodeGossipTags(tags)
	if err != nil {
		t.Fatal(err)
	}
	return &memberlist.Node{Name: "client-" + nodeID, Meta: meta}
}

func nodeStatus(s *Server, nodeID string) structs.NodeStatus {
	if n := s.state.Snapshot().NodeByID(nodeID); n != nil {
		return n.Status
	}
	return ""
}

// When gossip declares a client agent dead, the leader marks its node down at
// once (the TTL here is an hour), with a node-update evaluation for the job
// that ran there; a client that comes back is ready again.
func TestGossipDeadClientIsMarkedDownAtOnce(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.MinHeartbeatTTL, cfg.HeartbeatGrace = time.Hour, time.Hour
	s := startServer(t, cfg)
	node := testNode()
	registerNode(t, s, node)
	registerJob(t, s, testJob("web", 1, 256))
	waitFor(t, 10*time.Second, "the job's allocation is placed on the node", func() bool {
		return len(s.state.Snapshot().AllocsByNode(node.ID)) == 1
	})

	gossipEvents{s}.NotifyJoin(clientMember(t, node.ID, nil))
	gossipEvents{s}.NotifyLeave(clientMember(t, node.ID, nil))
	// The status and the evaluation are one Raft entry, but the FSM still
	// applies them in two transactions (issue #7, item 3): wait for both.
	waitFor(t, 10*time.Second, "the node marked down, with a node-update evaluation for the job that ran there", func() bool {
		if nodeStatus(s, node.ID) != structs.NodeStatusDown {
			return false
		}
		for _, e := range s.state.Snapshot().EvalsByJob("default", "web") {
			if e.TriggeredBy == structs.EvalTriggerNodeUpdate && e.NodeID == node.ID {
				return true
			}
		}
		return false
	})

	// The client comes back: its heartbeat makes the node ready again.
	gossipEvents{s}.NotifyJoin(clientMember(t, node.ID, nil))
	var resp structs.NodeUpdateResponse
	req := &structs.NodeUpdateStatusRequest{NodeID: node.ID, SecretID: node.SecretID, Status: structs.NodeStatusReady}
	if err := s.RPC(t.Context(), "Node.UpdateStatus", req, &resp); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the node is ready again", func() bool { return nodeStatus(s, node.ID) == structs.NodeStatusReady })
}

// A client agent that leaves gossip gracefully (a restart) keeps its timer:
// it is not marked down at once.
func TestGossipGracefulClientLeaveKeepsTheTimer(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.MinHeartbeatTTL, cfg.HeartbeatGrace = time.Hour, time.Hour
	s := startServer(t, cfg)
	node := testNode()
	registerNode(t, s, node)
	if n := s.heartbeats.activeTimers(); n != 1 {
		t.Fatalf("%d timers, want 1", n)
	}
	gossipEvents{s}.NotifyLeave(clientMember(t, node.ID, map[string]string{TagLeaving: "true"}))
	// The expiry is decided synchronously in the event handler.
	if n := s.heartbeats.activeTimers(); n != 1 {
		t.Errorf("%d timers after a graceful leave, want 1 (the node keeps its TTL)", n)
	}
	// A client of another region is not this cluster's business.
	gossipEvents{s}.NotifyLeave(clientMember(t, node.ID, map[string]string{TagRegion: "eu"}))
	if n := s.heartbeats.activeTimers(); n != 1 {
		t.Errorf("%d timers after another region's client failed, want 1", n)
	}
	if st := nodeStatus(s, node.ID); st != structs.NodeStatusReady {
		t.Errorf("node status %q, want ready", st)
	}
}

// A client whose agent gossip saw fail while this server was not leading is
// marked down as soon as it leads (after resuming every timer), not after a
// full TTL; the others keep theirs.
func TestNewLeaderExpiresClientsGossipSawFail(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.MinHeartbeatTTL, cfg.HeartbeatGrace = time.Hour, time.Hour
	s := startServer(t, cfg)
	dead, alive := testNode(), testNode()
	registerNode(t, s, dead)
	registerNode(t, s, alive)

	// As a follower: gossip reports the failure, no timer runs.
	s.heartbeats.setEnabled(false)
	gossipEvents{s}.NotifyLeave(clientMember(t, dead.ID, nil))
	if st := nodeStatus(s, dead.ID); st != structs.NodeStatusReady {
		t.Fatalf("a follower changed the node's status to %q", st)
	}
	// Leadership again, as establishLeadership resumes it.
	s.resumeHeartbeats()
	waitFor(t, 10*time.Second, "the failed client's node is marked down", func() bool { return nodeStatus(s, dead.ID) == structs.NodeStatusDown })
	if st := nodeStatus(s, alive.ID); st != structs.NodeStatusReady {
		t.Errorf("the live client's node is %q, want ready", st)
	}
	if n := s.heartbeats.activeTimers(); n != 1 {
		t.Errorf("%d timers, want 1 (the live node's)", n)
	}
}

func TestGossipMetaLimitIsMemberlists(t *testing.T) {
	if structs.GossipMetaMaxSize != memberlist.MetaMaxSize {
		t.Errorf("structs.GossipMetaMaxSize = %d, memberlist.MetaMaxSize = %d", structs.GossipMetaMaxSize, memberlist.MetaMaxSize)
	}
}

// A server that no longer leads does not mark nodes down, even while its
// timers still run (Raft learns of a lost leadership before the leader loop
// stops them): a timer that runs out there leaves the node to the leader.
// Here a follower's timers are turned on as a stepped-down leader's still
// are; the one that runs out tries no write, and the node stays ready.
func TestHeartbeatTimerOnAServerThatNoLongerLeadsMarksNothing(t *testing.T) {
	cfgs := make([]Config, 3)
	for i := range cfgs {
		cfgs[i] = testConfig(t.TempDir())
		cfgs[i].MinHeartbeatTTL, cfgs[i].HeartbeatGrace = time.Hour, time.Hour
	}
	servers := startClusterOf(t, cfgs...)
	leader := leaderOf(servers)
	node := testNode()
	registerNode(t, leader, node)
	f := followerOf(servers)
	waitFor(t, 10*time.Second, "the node on the follower", func() bool { return nodeStatus(f, node.ID) == structs.NodeStatusReady })

	h := f.heartbeats
	h.setEnabled(true)
	defer h.setEnabled(false)
	h.reset(node.ID, "")
	h.mu.Lock()
	ht := h.mu.timers[node.ID]
	h.mu.Unlock()
	if h.expired(node.ID, ht) {
		t.Fatal("a server that does not lead tried to mark a node down")
	}
	if h.activeTimers() != 0 {
		t.Error("the timer that ran out is still held")
	}
	if st := nodeStatus(leader, node.ID); st != structs.NodeStatusReady {
		t.Errorf("node %s after a follower's timer ran out, want ready", st)
	}

	// The same on the leader marks it down.
	leader.heartbeats.mu.Lock()
	lt := leader.heartbeats.mu.timers[node.ID]
	leader.heartbeats.mu.Unlock()
	if !leader.heartbeats.expired(node.ID, lt) || nodeStatus(leader, node.ID) != structs.NodeStatusDown {
		t.Errorf("the leader's timer ran out and the node is %s, want down", nodeStatus(leader, node.ID))
	}
}

// A new leader gives every node the longest TTL a client of a cluster this
// size may hold, not the TTL reset would hand the next client: the first
// nodes resumed would otherwise get the minimum while their clients,
// told a TTL scaled to the whole cluster, heartbeat far less often, and
// they were marked down on every failover of a large cluster.
func TestNewLeaderGivesEveryNodeTheLongestTTL(t *testing.T) {
	clk := clocktest.NewFake()
	cfg := testConfig(t.TempDir())
	cfg.Clock = clk
	// 20 nodes at 1 heartbeat a second: a scaled TTL of 20 s, so a client
	// holds a TTL in [20 s, 40 s); the minimum is 1 s.
	cfg.MinHeartbeatTTL, cfg.MaxHeartbeatsPerSecond, cfg.HeartbeatGrace = time.Second, 1, time.Second
	s := startServer(t, cfg)
	var nodes []*structs.Node
	for range 20 {
		n := testNode()
		registerNode(t, s, n)
		nodes = append(nodes, n)
	}

	// A failover: the timers stop, and resume as on a new leader.
	s.heartbeats.setEnabled(false)
	s.resumeHeartbeats()
	clk.Advance(40*time.Second + time.Second - time.Nanosecond) // the longest TTL + grace, a nanosecond short
	for _, n := range nodes {
		if st := nodeStatus(s, n.ID); st != structs.NodeStatusReady {
			t.Fatalf("node %s is %s before the longest TTL + grace ran out after a failover, want ready", n.ID, st)
		}
	}
	clk.Advance(time.Nanosecond)
	for _, n := range nodes {
		if st := nodeStatus(s, n.ID); st != structs.NodeStatusDown {
			t.Errorf("node %s is %s once the longest TTL + grace ran out without a heartbeat, want down", n.ID, st)
		}
	}
}
