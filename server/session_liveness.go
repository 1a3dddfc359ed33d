package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"syscall"
	"time"

	"github.com/orch-io/orch/structs"
)

// Connection liveness: finding a node whose agent died in seconds, at any
// cluster size. Off unless reconnect_grace is set (below: what it costs
// under overload).
//
// A client agent holds one multiplexed session to one server and registers
// and heartbeats over it (client_forward.go). When the client's end closes
// a session that carried the last heartbeat of some nodes (its process
// exited or was killed, and its kernel closed the socket: the server reads
// EOF or a reset), the server tells the leader (Node.SessionLost), which
// shortens the timer of each of those nodes to reconnect_grace, unless the
// node's last heartbeat came in on another session since. A client whose
// session ends connects again at once and heartbeats (client.RPCClient's
// session-lost hook), which restarts its timer as usual; a client agent that
// stops on purpose says so in a last heartbeat (AgentStopping), which unties
// its timer from the session, so a restart or an upgrade keeps the TTL; a
// live client that drops a connection after a failure (a server slow to
// answer) leaves it open until a call succeeded on its next one, so that its
// end names a session the timer no longer does.
//
// So a node whose agent dies is marked down about reconnect_grace after,
// whatever the cluster's size, where the TTL and its grace grow with the
// cluster (heartbeatTTL: about 100 s + 10 s at 5,000 nodes with the
// defaults). It costs nothing until a session ends.
//
// Only the client's end closing counts. A session this server ended (yamux's
// keepalive went unanswered, a write timed out) may have ended by this
// server's own fault, and a host that falls silent is left to the TTL:
// judging silence needs the server to read on time, and an overloaded
// server does not (the simulator showed it: sessions of live clients judged
// silent, their nodes marked down, their allocations rescheduled, more load,
// more sessions judged silent).
//
// Connections that end by the cluster's own fault must not mark nodes down
// either: that feeds the fault. The guards below bound it but do not rule it
// out: in the simulator, whose nodes share 16 connections (about 300 nodes
// each), an overload after a node loss made live nodes lose theirs and 82
// of them were marked down before the guards held; hence off by default. So a server reports nothing while it is
// unsettled (no leader, or a leader change within the last 10 s: clients
// time out and reconnect then); and many losses at once look like a fault of
// the servers or of the network rather than of the clients: the leader
// shortens the timers of at most maxConnectionSuspects(nodes) nodes within
// connectionLossWindow, those waiting and those it marked down together, and
// leaves the others to their TTL, as the TTL alone would (Kubernetes limits
// its eviction rate, and stops evicting in a zone where most nodes fail at
// once, for the same reason).
//
// The TTL still runs: a client whose session stays open but who stopped
// heartbeating is marked down when it runs out.

const (
	// sessionLostReportTimeout bounds telling the leader of a lost session
	// (through leader changes).
	sessionLostReportTimeout = 10 * time.Second
	// sessionReportSettle: a server reports lost sessions only once its
	// view has been settled this long (unsettled).
	sessionReportSettle = 10 * time.Second
)

// maxConnectionSuspects is how many of nodes nodes may wait out a shortened
// timer or be marked down for a lost connection within connectionLossWindow:
// a fiftieth of them, at least 10.
func maxConnectionSuspects(nodes int) int { return max(10, nodes/50) }

// connectionLossWindow: see maxConnectionSuspects.
const connectionLossWindow = time.Minute

// closedByPeer reports whether a session's receive loop ended with err
// because the other end closed the connection (EOF, a reset; an abrupt end
// of TLS), not because this server ended it.
func closedByPeer(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET)
}

// noteNodeSession records, once a client's registration or heartbeat
// succeeded, the session it came in on: the way back to the client, and the
// session the leader's timer now names.
func (s *Server) noteNodeSession(ctx context.Context, nodeID string) {
	ms := sessionOf(ctx)
	if ms == nil || nodeID == "" {
		return
	}
	if !s.nodeConns.note(ms, nodeID) {
		// The session ended during the call, after sessionEnded looked.
		if !ms.peerClosed || s.shutdownCtx.Err() != nil {
			return
		}
		s.wg.Add(1)
		go s.reportSessionLost(ms.name, []string{nodeID})
	}
}

// sessionEnded runs when a session this server accepted ends, with the
// error its receive loop ended on: the nodes whose last heartbeat came in on
// it are reported to the leader if the client's end closed it, unless this
// server is shutting down (its clients move to another server, which
// restarts their timers) or unsettled.
func (s *Server) sessionEnded(ms *muxSession, err error) {
	peerClosed := closedByPeer(err)
	lost := s.nodeConns.forget(ms, peerClosed)
	if len(lost) == 0 || s.shutdownCtx.Err() != nil || s.config.ReconnectGrace <= 0 {
		return
	}
	if !peerClosed {
		s.logger.Debug("this server ended a connection of client agents: not reported, the nodes keep their TTL",
			"remote", ms.sess.RemoteAddr(), "nodes", len(lost), "error", err)
		s.metrics.connectionLosses.WithLabelValues("server_ended").Add(float64(len(lost)))
		return
	}
	if why := s.unsettled(time.Now()); why != "" {
		s.logger.Warn("the connection of client agents ended while this server is unsettled: not reported, the nodes keep their TTL",
			"remote", ms.sess.RemoteAddr(), "nodes", len(lost), "because", why)
		s.metrics.connectionLosses.WithLabelValues("unsettled").Add(float64(len(lost)))
		return
	}
	s.logger.Info("client agents closed their connection; telling the leader",
		"remote", ms.sess.RemoteAddr(), "nodes", len(lost))
	s.wg.Add(1)
	go s.reportSessionLost(ms.name, lost)
}

// unsettled says why this server does not trust what it sees of its
// clients' connections at now, "" when it does: it knows no leader, or the
// leader changed within sessionReportSettle (clients time out and reconnect
// then).
func (s *Server) unsettled(now time.Time) string {
	if s.Leader() == "" {
		return "no leader"
	}
	s.leaderObs.Lock()
	changed := s.leaderObs.changedAt
	s.leaderObs.Unlock()
	if now.Sub(changed) < sessionReportSettle {
		return fmt.Sprintf("the leader changed %s ago", now.Sub(changed).Round(time.Millisecond))
	}
	return ""
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
	grace := h.srv.config.ReconnectGrace
	if session == "" || grace <= 0 {
		return 0
	}
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
	for len(h.mu.connDowns) > 0 && now.Sub(h.mu.connDowns[0]) > connectionLossWindow {
		h.mu.connDowns = h.mu.connDowns[1:]
	}
	suspects := len(h.mu.connDowns)
	for _, ht := range h.mu.timers {
		if ht.why != whyMissedHeartbeat {
			suspects++
		}
	}
	if limit := maxConnectionSuspects(len(h.mu.timers)); suspects+len(shorten) > limit {
		h.srv.logger.Warn("too many nodes lost their connection at once to be a fault of theirs: leaving them to their TTL",
			"nodes", len(shorten), "waiting_or_down_within", connectionLossWindow, "already", suspects, "limit", limit)
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
