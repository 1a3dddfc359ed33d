package server

import (
	"math/rand/v2"
	"sync"
	"time"

	"github.com/orch-io/orch/structs"
)

// Node liveness. The leader keeps one timer per client node, reset by every
// registration and heartbeat. A timer that runs out (TTL + grace without a
// heartbeat) marks its node down through Raft, with an evaluation for every
// job that had allocations there, so the schedulers replace them. Timers only
// run on the leader; a new leader gives every node a full TTL.

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
	}
}

type heartbeatTimer struct {
	t *time.Timer
}

func newHeartbeats(s *Server) *heartbeats {
	h := &heartbeats{srv: s}
	h.mu.timers = make(map[string]*heartbeatTimer)
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

// reset (re)starts the timer of node nodeID and returns the TTL to give the
// client. When this server is not acting as leader no timer is started (the
// TTL is still computed, the caller fails the write anyway).
func (h *heartbeats) reset(nodeID string) time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	ttl := h.ttlLocked()
	if !h.mu.enabled {
		return ttl
	}
	if old := h.mu.timers[nodeID]; old != nil {
		old.t.Stop()
	}
	ht := &heartbeatTimer{}
	ht.t = time.AfterFunc(ttl+h.srv.config.HeartbeatGrace, func() { h.expired(nodeID, ht) })
	h.mu.timers[nodeID] = ht
	return ttl
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

// expired runs in the timer's goroutine when ht ran out.
func (h *heartbeats) expired(nodeID string, ht *heartbeatTimer) {
	h.mu.Lock()
	if !h.mu.enabled || h.mu.timers[nodeID] != ht {
		h.mu.Unlock()
		return // reset or stopped meanwhile
	}
	delete(h.mu.timers, nodeID)
	h.mu.Unlock()

	logger := h.srv.logger.With("node_id", nodeID)
	logger.Warn("node missed its heartbeat; marking it down")
	if _, err := h.srv.markNodeDown(nodeID, "missed heartbeat"); err != nil {
		logger.Error("marking node down failed", "error", err)
	}
}

// activeTimers returns the number of nodes with a running timer.
func (h *heartbeats) activeTimers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.mu.timers)
}

// markNodeDown records through Raft that a node is down, with a node-update
// evaluation for every job with non-terminal allocations on it, in one entry.
// It returns the entry's index, or 0 when the node is unknown or already down.
func (s *Server) markNodeDown(nodeID, why string) (uint64, error) {
	snap := s.state.Snapshot()
	node := snap.NodeByID(nodeID)
	if node == nil || node.Status == structs.NodeStatusDown {
		return 0, nil
	}
	now := time.Now()
	entry := &NodeUpdateStatusEntry{NodeID: nodeID, Status: structs.NodeStatusDown, UpdatedAt: now.Unix()}
	seen := map[string]bool{}
	for _, a := range snap.AllocsByNode(nodeID) {
		if a.TerminalStatus() || seen[a.JobID] {
			continue
		}
		seen[a.JobID] = true
		job := snap.JobByID(a.JobID)
		if job == nil {
			job = a.Job // purged: the eval still has to stop the allocation
		}
		if job == nil {
			continue
		}
		entry.Evals = append(entry.Evals, &structs.Evaluation{
			ID:          structs.GenerateUUID(),
			Namespace:   job.Namespace,
			Priority:    job.Priority,
			Type:        job.Type,
			TriggeredBy: structs.EvalTriggerNodeUpdate,
			JobID:       job.ID,
			NodeID:      nodeID,
			Status:      structs.EvalStatusPending,
			CreateTime:  now.UnixNano(),
			ModifyTime:  now.UnixNano(),
		})
	}
	index, err := s.raftApply(MsgNodeUpdateStatus, entry)
	if err != nil {
		return 0, err
	}
	s.logger.Info("node marked down", "node_id", nodeID, "reason", why, "evals", len(entry.Evals), "index", index)
	return index, nil
}
