package server

import (
	"math/rand/v2"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/orch-io/orch/internal/clock"
)

// Node liveness. The leader keeps one timer per client node, reset by every
// registration and heartbeat. A timer that runs out (TTL + grace without a
// heartbeat) marks its node down through Raft, with an evaluation for every
// job that had allocations there, so the schedulers replace them. The TTL
// scales with the number of nodes (heartbeatTTL) so that the leader's load
// stays bounded.
//
// Gossip shortens detection: client agents are memberlist members (tags
// role=client, node_id); when memberlist declares one dead, and it did not
// announce a graceful leave, the leader expires its node's timer at once
// (clientMemberEvent). Every server records those failures, so that a new
// leader acts on the ones it saw as a follower.
//
// The rule after a leader change: timers only run on the leader (a timer
// that runs out acts only while Raft says this server leads), and a new
// leader starts every node that is not down afresh, with the longest TTL a
// client of a cluster that size may hold, plus grace, from the moment it
// becomes leader (it cannot know when the old leader last heard from a node,
// nor which TTL it gave), so no healthy node is marked down because of the
// failover; clients retry a failed heartbeat after 200ms on the next server
// (client.heartbeatRetry), so they reach the new leader well within that
// grace. Nodes whose agents gossip saw fail are then expired at once
// (expireGossipFailed): a client that died during the failover is not given
// the grace.

// heartbeats owns the per-node timers.
type heartbeats struct {
	srv *Server

	mu struct {
		sync.Mutex
		enabled bool
		// timers holds the live timer of each node. Invariant: an entry is
		// replaced, never reset, so a timer that fired late can tell it is
		// stale by not finding itself here.
		timers map[string]*heartbeatTimer
		// gossipFailed holds the nodes whose client agent gossip last
		// reported failed (not left gracefully), kept on every server so
		// that a new leader acts on failures it saw as a follower.
		gossipFailed map[string]bool
		// connDowns are when nodes were last marked down for a lost
		// connection, oldest first, within connectionLossWindow
		// (session_liveness.go).
		connDowns []time.Time
	}
}

type heartbeatTimer struct {
	t clock.Timer
	// deadline is when it runs out; why is the reason it then gives.
	deadline time.Time
	why      string
	// session names the connection the node's last heartbeat came in on
	// (muxSession.name), "" when unknown (an in-process client, a timer
	// resumed by a new leader, a client agent stopping on purpose): a report
	// that the session was lost shortens the timer only if it still names
	// the session (sessionLost).
	session string
}

// whyMissedHeartbeat is why a node whose TTL and grace ran out is marked down.
const whyMissedHeartbeat = "missed heartbeat"

func newHeartbeats(s *Server) *heartbeats {
	h := &heartbeats{srv: s}
	h.mu.timers = make(map[string]*heartbeatTimer)
	h.mu.gossipFailed = make(map[string]bool)
	return h
}

// setEnabled turns the timers on (on gaining leadership) or off, stopping
// every timer (on losing it, and at shutdown).
func (h *heartbeats) setEnabled(enabled bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.mu.enabled = enabled
	if !enabled {
		for id, ht := range h.mu.timers {
			ht.t.Stop()
			delete(h.mu.timers, id)
		}
	}
}

// ttlLocked is the heartbeat TTL handed to the next client (see heartbeatTTL),
// scaled with the number of nodes that have a timer.
func (h *heartbeats) ttlLocked() time.Duration {
	cfg := h.srv.config
	return heartbeatTTL(cfg.MinHeartbeatTTL, cfg.MaxHeartbeatsPerSecond, len(h.mu.timers), rand.Float64())
}

// heartbeatTTL is the heartbeat TTL for a cluster of nodes clients, as Nomad
// computes it: long enough that the leader sees at most maxPerSecond
// heartbeats a second (nodes / maxPerSecond), never shorter than minTTL, plus
// a stagger of stagger (in [0, 1)) times that again, so that clients
// restarted together do not heartbeat together. The leader's load is thus
// bounded (about maxPerSecond heartbeats a second on average, whatever the
// cluster's size) and the TTL grows only once the cluster is large: with the
// defaults (10s, 50/s), beyond 500 nodes.
func heartbeatTTL(minTTL time.Duration, maxPerSecond float64, nodes int, stagger float64) time.Duration {
	ttl := minTTL
	if nodes > 0 && maxPerSecond > 0 {
		if scaled := time.Duration(float64(nodes) / maxPerSecond * float64(time.Second)); scaled > ttl {
			ttl = scaled
		}
	}
	if ttl <= 0 {
		return 0
	}
	return ttl + time.Duration(stagger*float64(ttl))
}

// reset (re)starts the timer of node nodeID, whose heartbeat came in on
// session ("" if unknown), and returns the TTL to give the client. When this
// server is not acting as leader no timer is started (the TTL is still
// computed, the caller fails the write anyway).
func (h *heartbeats) reset(nodeID, session string) time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	ttl := h.ttlLocked()
	if !h.mu.enabled {
		return ttl
	}
	h.startTimerLocked(nodeID, ttl+h.srv.config.HeartbeatGrace, session, whyMissedHeartbeat)
	return ttl
}

// startTimerLocked replaces the timer of nodeID by one that runs out after
// wait, giving why.
func (h *heartbeats) startTimerLocked(nodeID string, wait time.Duration, session, why string) {
	if old := h.mu.timers[nodeID]; old != nil {
		old.t.Stop()
	}
	ht := &heartbeatTimer{deadline: h.srv.config.Clock.Now().Add(wait), why: why, session: session}
	ht.t = h.srv.config.Clock.AfterFunc(wait, func() { _ = h.expired(nodeID, ht) })
	h.mu.timers[nodeID] = ht
}

// resume starts the timer of each of nodeIDs, on a new leader, with the
// longest TTL the previous leader may have handed a client of a cluster of
// clusterSize nodes (failoverTTL), plus the grace. reset would not do: it
// sizes the TTL by the timers running so far, so the first nodes resumed
// would get the minimum TTL although their clients, told a TTL scaled to the
// whole cluster, heartbeat far less often.
func (h *heartbeats) resume(nodeIDs []string, clusterSize int) {
	cfg := h.srv.config
	wait := failoverTTL(cfg.MinHeartbeatTTL, cfg.MaxHeartbeatsPerSecond, clusterSize) + cfg.HeartbeatGrace
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.mu.enabled {
		return
	}
	for _, id := range nodeIDs {
		h.startTimerLocked(id, wait, "", whyMissedHeartbeat)
	}
}

// failoverTTL is the longest TTL heartbeatTTL hands a client of a cluster of
// nodes nodes: the scaled TTL with the largest stagger.
func failoverTTL(minTTL time.Duration, maxPerSecond float64, nodes int) time.Duration {
	return heartbeatTTL(minTTL, maxPerSecond, nodes, 1)
}

// clear stops the timer of a node that is no longer expected to heartbeat.
func (h *heartbeats) clear(nodeID string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if old := h.mu.timers[nodeID]; old != nil {
		old.t.Stop()
		delete(h.mu.timers, nodeID)
	}
}

// expired runs in the clock's goroutine when ht ran out (for a fake clock,
// the one advancing it: it returns once the node is marked down). It
// reports whether it tried to mark the node down (markDown).
func (h *heartbeats) expired(nodeID string, ht *heartbeatTimer) bool {
	h.mu.Lock()
	if !h.mu.enabled || h.mu.timers[nodeID] != ht {
		h.mu.Unlock()
		return false // reset or stopped meanwhile
	}
	delete(h.mu.timers, nodeID)
	kind := "ttl"
	if ht.why != whyMissedHeartbeat {
		kind = "connection"
		h.mu.connDowns = append(h.mu.connDowns, h.srv.config.Clock.Now())
	}
	h.mu.Unlock()
	h.srv.metrics.heartbeatExpirations.WithLabelValues(kind).Inc()
	return h.markDown(nodeID, ht.why)
}

// markDown marks a node whose timer ran out down through Raft, and reports
// whether it tried: only while Raft says this server leads. Raft learns of
// a lost leadership before the leader loop does, and the timers stop only
// then; a timer that runs out in between would try a write bound to fail
// ("not the leader") while the new leader, which gave every node the
// longest TTL it may hold, is the one to judge the node.
func (h *heartbeats) markDown(nodeID, why string) bool {
	logger := h.srv.logger.With("node_id", nodeID)
	if !h.srv.IsLeader() {
		logger.Debug("not marking node down: this server no longer leads", "reason", why)
		return false
	}
	logger.Warn("marking node down", "reason", why)
	if _, err := h.srv.markNodeDown(nodeID, why); err != nil {
		logger.Error("marking node down failed", "error", err)
	}
	return true
}

// clientMemberEvent acts on what gossip says of a client agent (tags
// role=client, node_id): when memberlist declares it dead (and it did not
// announce a graceful leave) the leader expires the node's timer at once,
// instead of waiting out its TTL and grace. Called from memberlist's event
// delegate: it must not block, so the Raft write runs on its own goroutine.
func (s *Server) clientMemberEvent(name string, tags map[string]string, st memberlist.NodeStateType) {
	nodeID := tags[TagNodeID]
	if nodeID == "" || tags[TagRegion] != "" && tags[TagRegion] != s.config.Region {
		return
	}
	switch {
	case st == memberlist.StateAlive:
		s.heartbeats.gossipAlive(nodeID)
	case st == memberlist.StateDead && tags[TagLeaving] != "true":
		s.logger.Info("gossip reports a client agent failed", "member", name, "node_id", nodeID)
		s.heartbeats.gossipFailed(nodeID)
	case st == memberlist.StateDead:
		// A graceful leave (a restart, an upgrade): the node keeps its TTL.
		s.heartbeats.gossipAlive(nodeID)
	}
}

// gossipAlive forgets a gossip failure of a node's agent (it joined again).
func (h *heartbeats) gossipAlive(nodeID string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.mu.gossipFailed, nodeID)
}

// gossipFailed records that gossip declared the agent of nodeID dead and, on
// the leader, expires the node's timer now.
func (h *heartbeats) gossipFailed(nodeID string) {
	h.mu.Lock()
	h.mu.gossipFailed[nodeID] = true
	h.mu.Unlock()
	h.expireNow(nodeID, "gossip: client agent failed")
}

// expireGossipFailed expires the timers of the nodes whose agents gossip
// reported failed, on a new leader, once it has resumed every timer: a
// client that died during the failover is noticed at once, not after a TTL.
func (h *heartbeats) expireGossipFailed() {
	h.mu.Lock()
	var ids []string
	for id := range h.mu.gossipFailed {
		ids = append(ids, id)
	}
	h.mu.Unlock()
	for _, id := range ids {
		h.expireNow(id, "gossip: client agent failed")
	}
}

// expireNow runs out the timer of nodeID at once, when this server leads and
// the node has one (it is not down already). The Raft write runs on its own
// goroutine.
func (h *heartbeats) expireNow(nodeID, why string) {
	h.mu.Lock()
	ht := h.mu.timers[nodeID]
	if !h.mu.enabled || ht == nil {
		h.mu.Unlock()
		return
	}
	ht.t.Stop()
	delete(h.mu.timers, nodeID)
	h.mu.Unlock()
	h.srv.metrics.heartbeatExpirations.WithLabelValues("gossip").Inc()
	go func() { _ = h.markDown(nodeID, why) }()
}

// activeTimers returns the number of nodes with a running timer.
func (h *heartbeats) activeTimers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.mu.timers)
}
