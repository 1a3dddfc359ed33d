package server

import (
	"context"
	"fmt"
	"net"
	"sync/atomic"
	"time"

	"github.com/orch-io/orch/structs"
)

// Connection liveness: finding a lost node in seconds at any cluster size.
//
// A client agent holds one multiplexed session to one server and registers
// and heartbeats over it (client_forward.go). Once a session has carried a
// client's registration or heartbeat, the server that accepted it watches
// it: a session that received nothing for sessionPingInterval is pinged (the
// answer is traffic), and one that received nothing at all for
// sessionSilenceTimeout is closed. Anything received counts, so a session
// busy with large transfers, whose pings wait behind them, is not taken for
// dead; and a check that comes late (this server was starved of CPU: what
// it has not read yet says nothing of the peer) judges nothing. When a
// session that carried the last heartbeat of some nodes ends, for any
// reason but this server's shutdown (the client closed it, the client's
// process died and its kernel closed it, its host fell silent), the server
// tells the leader (Node.SessionLost), which shortens the timer of each of
// those nodes to reconnect_grace, unless the node's last heartbeat came in
// on another session since. A client whose session ends connects again at
// once and heartbeats (client.RPCClient's session-lost hook), which restarts
// its timer as usual; a client agent that stops on purpose says so in a last
// heartbeat (AgentStopping), which unties its timer from the session, so a
// restart or an upgrade keeps the TTL.
//
// So a node whose host dies is marked down about sessionSilenceTimeout +
// reconnect_grace after it died, and one whose agent process dies about
// reconnect_grace after, whatever the cluster's size, where the TTL and its
// grace grow with the cluster (heartbeatTTL: about 100 s + 10 s at 5,000
// nodes with the defaults). The pings cost each server a few bytes a second
// per idle client connected to it, and the leader nothing until a session
// ends.
//
// Many losses at once look like a fault of the servers or of the network
// rather than of the clients (an overloaded server that stopped reading, a
// partition): the leader shortens the timers of at most
// maxConnectionSuspects(nodes) nodes at a time, and leaves the others to
// their TTL, as the TTL alone would (Kubernetes slows its evictions in a
// zone where most nodes fail at once, for the same reason).
//
// The TTL still runs: a client whose session stays open but who stopped
// heartbeating is marked down when it runs out.

const (
	// sessionPingInterval: how often a server looks at a session that
	// carries client heartbeats, and pings it if it received nothing
	// since the last look. sessionSilenceTimeout: how long it may receive
	// nothing at all before the server closes it.
	sessionPingInterval   = time.Second
	sessionSilenceTimeout = 3 * time.Second
	// sessionLostReportTimeout bounds telling the leader of a lost session
	// (through leader changes).
	sessionLostReportTimeout = 10 * time.Second
)

// maxConnectionSuspects is how many of nodes nodes may wait out a shortened
// timer at once: a tenth of them, at least 10.
func maxConnectionSuspects(nodes int) int { return max(10, nodes/10) }

// readClock is a connection that tells when it last received anything.
type readClock struct {
	net.Conn
	last atomic.Int64 // Unix nanoseconds
}

func newReadClock(c net.Conn) *readClock {
	rc := &readClock{Conn: c}
	rc.last.Store(time.Now().UnixNano())
	return rc
}

func (c *readClock) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.last.Store(time.Now().UnixNano())
	}
	return n, err
}

// silentFor is how long the connection has received nothing, at now.
func (c *readClock) silentFor(now time.Time) time.Duration {
	return now.Sub(time.Unix(0, c.last.Load()))
}

// noteNodeSession records, once a client's registration or heartbeat
// succeeded, the session it came in on (the way back to the client, and the
// session the leader's timer now names), and starts pinging the session.
func (s *Server) noteNodeSession(ctx context.Context, nodeID string) {
	ms := sessionOf(ctx)
	if ms == nil || nodeID == "" {
		return
	}
	if !s.nodeConns.note(ms, nodeID) {
		// The session ended during the call, after sessionEnded looked.
		if s.shutdownCtx.Err() != nil {
			return
		}
		s.wg.Add(1)
		go s.reportSessionLost(ms.name, []string{nodeID})
		return
	}
	if ms.pinged.CompareAndSwap(false, true) {
		s.wg.Add(1)
		go s.pingSession(ms)
	}
}

// pingSession watches ms until it ends: every sessionPingInterval, it pings
// the session if it received nothing since the last look, and closes it if
// it received nothing for sessionSilenceTimeout.
func (s *Server) pingSession(ms *muxSession) {
	defer s.wg.Done()
	tick := time.NewTicker(sessionPingInterval)
	defer tick.Stop()
	var pinging atomic.Bool // one ping at a time: it ends with its answer or the session
	last := time.Now()
	for {
		select {
		case <-tick.C:
		case <-ms.sess.CloseChan():
			return
		case <-s.shutdownCtx.Done():
			return
		}
		now := time.Now()
		late := now.Sub(last) > 2*sessionPingInterval
		last = now
		silent := ms.heard.silentFor(now)
		switch {
		case late:
			// This server was starved (of CPU, or stopped): what it has not
			// read yet says nothing of the peer. Judge at the next look.
		case silent >= sessionSilenceTimeout:
			s.logger.Warn("closing a client connection that received nothing, not even an answer to a ping",
				"remote", ms.sess.RemoteAddr(), "silent_for", silent.Round(time.Millisecond))
			ms.sess.Close()
			return
		case silent >= sessionPingInterval && pinging.CompareAndSwap(false, true):
			go func() {
				defer pinging.Store(false)
				_, _ = ms.sess.Ping()
			}()
		}
	}
}

// sessionEnded runs when a session this server accepted ends: the nodes
// whose last heartbeat came in on it are reported to the leader, unless this
// server is shutting down (its clients move to another server, which
// restarts their timers).
func (s *Server) sessionEnded(ms *muxSession) {
	lost := s.nodeConns.forget(ms)
	if len(lost) == 0 || s.shutdownCtx.Err() != nil {
		return
	}
	s.logger.Info("the connection of client agents ended; telling the leader",
		"remote", ms.sess.RemoteAddr(), "nodes", len(lost))
	s.wg.Add(1)
	go s.reportSessionLost(ms.name, lost)
}

// reportSessionLost tells the leader (itself, or over a forward) that
// session, which carried the last heartbeats of nodeIDs, ended.
func (s *Server) reportSessionLost(session string, nodeIDs []string) {
	defer s.wg.Done()
	ctx, cancel := context.WithTimeout(s.shutdownCtx, sessionLostReportTimeout)
	defer cancel()
	args := &structs.NodeSessionLostRequest{Session: session, NodeIDs: nodeIDs,
		WriteRequest: structs.WriteRequest{Region: s.config.Region}}
	var reply structs.GenericResponse
	forwarded, err := s.forward(ctx, "Node.SessionLost", args, &reply)
	if !forwarded {
		s.heartbeats.sessionLost(session, nodeIDs)
		return
	}
	if err != nil && s.shutdownCtx.Err() == nil {
		s.logger.Warn("could not tell the leader of a lost client connection; its nodes keep their TTL",
			"nodes", len(nodeIDs), "error", err)
	}
}

// SessionLost is a server's report that a session which carried the last
// heartbeats of some nodes ended (reportSessionLost): the leader gives them
// reconnect_grace to heartbeat again. Servers send it, forwarded, only.
func (n *nodeEndpoint) SessionLost(ctx context.Context, args *structs.NodeSessionLostRequest, reply *structs.GenericResponse) error {
	if !args.Forwarded {
		return structs.NewError(structs.CodePermissionDenied, "Node.SessionLost is sent by servers only")
	}
	if done, err := n.srv.forward(ctx, "Node.SessionLost", args, reply); done {
		return err
	}
	n.srv.heartbeats.sessionLost(args.Session, args.NodeIDs)
	return nil
}

// sessionLost shortens to reconnect_grace the timer of each of nodeIDs whose
// last heartbeat came in on session, when it would run out later than that.
// It returns how many it shortened.
func (h *heartbeats) sessionLost(session string, nodeIDs []string) int {
	if session == "" {
		return 0
	}
	grace := h.srv.config.ReconnectGrace
	why := fmt.Sprintf("its client's connection to the servers was lost and not made again within reconnect_grace (%s)", grace)
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.mu.enabled {
		return 0
	}
	now := h.srv.config.Clock.Now()
	var shorten []string
	for _, id := range nodeIDs {
		if ht := h.mu.timers[id]; ht != nil && ht.session == session && ht.deadline.After(now.Add(grace)) {
			shorten = append(shorten, id)
		}
	}
	if len(shorten) == 0 {
		return 0
	}
	suspects := 0
	for _, ht := range h.mu.timers {
		if ht.why != whyMissedHeartbeat {
			suspects++
		}
	}
	if limit := maxConnectionSuspects(len(h.mu.timers)); suspects+len(shorten) > limit {
		h.srv.logger.Warn("too many nodes lost their connection at once to be a fault of theirs: leaving them to their TTL",
			"nodes", len(shorten), "already_waiting", suspects, "limit", limit)
		h.srv.metrics.connectionLosses.WithLabelValues("refused").Add(float64(len(shorten)))
		return 0
	}
	for _, id := range shorten {
		h.startTimerLocked(id, grace, session, why)
	}
	shortened := len(shorten)
	h.srv.metrics.connectionLosses.WithLabelValues("shortened").Add(float64(shortened))
	if shortened > 0 {
		h.srv.logger.Info("nodes lost their connection: marked down unless they heartbeat again within reconnect_grace",
			"nodes", shortened, "reconnect_grace", grace)
	}
	return shortened
}
