package server

import (
	"context"
	"errors"
	"net"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/raft"
	"github.com/orch-io/orch/structs"
)

// Fast failover when the leader's process dies.
//
// Raft finds a dead leader by silence: a follower waits a heartbeat timeout
// (then up to as long again, at random) before it stands, and the pre-vote
// round adds a round trip. A leader whose process died (killed, crashed, out
// of memory) on a host that is still up says so at once: its kernel closes
// the Raft connections it held to the followers, and its port refuses new
// ones. A follower that sees a Raft connection closed by its peer dials the
// leader's port; when that is refused (or the connection is reset before the
// server could have read from it), the process is gone and the follower
// starts an election at once, as if the leader had handed it leadership
// (Raft's TimeoutNow: no pre-vote, and voters do not wait out their own
// timeout). The followers take turns, in the order of their IDs, so that
// they do not split the vote; one that sees a new leader in the meantime
// does nothing.
//
// Before it stands, the follower asks the other voters whether their leader
// is gone too (Status.LeaderGone): a firewall that rejects one follower's
// packets looks like a dead process from there, and TimeoutNow skips the
// pre-vote that would protect a leader that still reaches a quorum.
//
// Safety is Raft's: an election only ever costs a term. A host that fell
// silent (power, network) closes nothing and refuses nothing; the heartbeat
// timeout finds it as before.

// leaderProbeTimeout bounds the dial (and the read after it) that asks
// whether the leader's process is still there.
const leaderProbeTimeout = 250 * time.Millisecond

// raftFailover wakes the follower's leader watch (watchLeader) when a Raft
// connection closes. The kick holds one wake-up: a connection that closes
// during a probe calls for one more after it (a dying process's connections
// and listener close one after another, not at once).
type raftFailover struct {
	kick chan struct{}
}

func newRaftFailover() raftFailover { return raftFailover{kick: make(chan struct{}, 1)} }

// raftPeerClosed is called when the other end of an accepted Raft
// connection closed it: the leader watch probes the leader. It runs on the
// transport's read path, so it only leaves word.
func (s *Server) raftPeerClosed() {
	select {
	case s.failover.kick <- struct{}{}:
	default: // a probe is due already
	}
}

// leaderSilent reports whether this follower has not heard from its leader
// for a quarter of Raft's current heartbeat timeout (an operator, or a
// test, may reload it); the leader heartbeats every tenth of it.
func (s *Server) leaderSilent() bool {
	return time.Since(s.raft.LastContact()) > s.raft.ReloadableConfig().HeartbeatTimeout/4
}

// watchLeader probes the leader (standIfLeaderGone), one probe at a time,
// when a Raft connection closed (raftPeerClosed) and whenever a follower has
// been without word from the leader for a quarter of the heartbeat timeout
// (checked every tenth of it), until ctx ends. A closed connection is the
// first sign of a dead process, but not a sure one: a big process's kernel
// frees its memory before it closes its sockets (seconds for gigabytes on a
// loaded host), and a probe made while the listener still takes connections
// judges the leader alive. A slow live leader costs a probe or two; a dead
// one is found as soon as its port refuses.
func (s *Server) watchLeader(ctx context.Context) {
	tick := time.NewTicker(max(s.config.RaftTimeouts.Heartbeat/10, 10*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-s.failover.kick:
		case <-tick.C:
			if s.raft.State() != raft.Follower || !s.leaderSilent() {
				continue
			}
		case <-ctx.Done():
			return
		}
		s.standIfLeaderGone()
	}
}

// standIfLeaderGone starts an election when the leader refuses connections,
// after this server's turn among the other voters.
func (s *Server) standIfLeaderGone() {
	if s.raft.State() != raft.Follower {
		return
	}
	addr, id := s.raft.LeaderWithID()
	if addr == "" || id == s.raftID {
		return
	}
	ctx, cancel := context.WithTimeout(s.shutdownCtx, 2*leaderProbeTimeout)
	defer cancel()
	probe := processGone
	if s.config.testHooks.leaderProbe != nil {
		probe = s.config.testHooks.leaderProbe
	}
	if !probe(ctx, string(addr)) {
		s.metrics.leaderProbes.WithLabelValues("alive").Inc()
		return
	}
	turn, others, quorum := s.failoverTurn(id)
	if turn < 0 {
		return // not a voter, or no configuration
	}
	// A firewall that rejects this server's packets to the leader looks
	// like a dead process from here. Stand only when a quorum of the
	// voters, this one included, find the leader gone: a leader that still
	// reaches a quorum keeps leading (Raft's TimeoutNow skips the pre-vote
	// that would otherwise protect it).
	if yes, unanswered := s.othersFindLeaderGone(others); 1+yes < quorum {
		s.logger.Warn("the leader refuses this server's connections, but the other servers still reach it: not standing",
			"leader", id, "leader_addr", addr, "agree", 1+yes, "quorum", quorum, "unanswered", unanswered)
		s.metrics.leaderProbes.WithLabelValues("disputed").Inc()
		return
	}
	// The first in turn stands at once; each next one a leader lease later,
	// if nobody won meanwhile.
	if wait := time.Duration(turn) * s.config.RaftTimeouts.LeaderLease; wait > 0 {
		select {
		case <-time.After(wait):
		case <-s.shutdownCtx.Done():
			return
		}
	}
	// A server that stood before this one and lost (its log was behind)
	// leaves the leader unknown, not elected: then this one stands too.
	if _, cur := s.raft.LeaderWithID(); (cur != "" && cur != id) || s.raft.State() != raft.Follower {
		s.metrics.leaderProbes.WithLabelValues("elected").Inc()
		return
	}
	s.logger.Warn("the leader's process is gone (it closed its Raft connection and its port refuses connections); standing for election now",
		"leader", id, "leader_addr", addr)
	s.metrics.leaderProbes.WithLabelValues("stood").Inc()
	local := s.raftTransport.LocalAddr()
	req := &raft.TimeoutNowRequest{RPCHeader: raft.RPCHeader{
		ProtocolVersion: raft.ProtocolVersionMax,
		ID:              []byte(s.raftID),
		Addr:            s.raftTransport.EncodePeer(s.raftID, local),
	}}
	if err := s.raftTransport.TimeoutNow(s.raftID, local, req, &raft.TimeoutNowResponse{}); err != nil {
		s.logger.Warn("could not start an election; the heartbeat timeout will", "error", err)
	}
}

// failoverTurn is this server's place among the voters other than the dead
// leader, ordered by ID (-1 when it is not one of them), the addresses of
// the other ones, and the quorum of all the voters.
func (s *Server) failoverTurn(dead raft.ServerID) (turn int, others []raft.ServerAddress, quorum int) {
	f := s.raft.GetConfiguration()
	if f.Error() != nil {
		return -1, nil, 0
	}
	var ids []raft.ServerID
	voters := 0
	for _, srv := range f.Configuration().Servers {
		if srv.Suffrage != raft.Voter {
			continue
		}
		voters++
		if srv.ID == dead {
			continue
		}
		ids = append(ids, srv.ID)
		if srv.ID != s.raftID {
			others = append(others, srv.Address)
		}
	}
	slices.Sort(ids)
	return slices.Index(ids, s.raftID), others, voters/2 + 1
}

// othersFindLeaderGone asks each of the other voters (Status.LeaderGone)
// whether its leader's process is gone, at once, and counts the yeses; the
// calls that failed come back as unanswered (the first error of each, for
// the log: a dispute is then the network's or the other server's load).
func (s *Server) othersFindLeaderGone(others []raft.ServerAddress) (yes int, unanswered []string) {
	ctx, cancel := context.WithTimeout(s.shutdownCtx, 4*leaderProbeTimeout)
	defer cancel()
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, addr := range others {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var gone bool
			err := s.pool.RPC(ctx, string(addr), "Status.LeaderGone", &structs.GenericRequest{}, &gone)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				unanswered = append(unanswered, string(addr)+": "+err.Error())
			case gone:
				yes++
			}
		}()
	}
	wg.Wait()
	return yes, unanswered
}

// ownLeaderGone reports whether this server knows no leader, has not heard
// from it for a quarter of the heartbeat timeout (the leader heartbeats
// every tenth: a dying process whose sockets are not closed yet still
// accepts a probe's connection into its backlog), or finds its leader's
// process gone (Status.LeaderGone).
func (s *Server) ownLeaderGone(ctx context.Context) bool {
	if s.raft.State() == raft.Leader {
		return false
	}
	addr, _ := s.raft.LeaderWithID()
	if addr == "" || s.leaderSilent() {
		return true
	}
	ctx, cancel := context.WithTimeout(ctx, 2*leaderProbeTimeout)
	defer cancel()
	return processGone(ctx, string(addr))
}

// processGone reports whether nothing listens at addr any more: the dial is
// refused, or the connection is reset or closed before this side sent a
// byte (a dying process's listener may take a connection into its backlog
// just before the kernel closes it). A timeout (a silent host, a busy one)
// is not proof.
func processGone(ctx context.Context, addr string) bool {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return errors.Is(err, syscall.ECONNREFUSED)
	}
	defer conn.Close()
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(leaderProbeTimeout)
	}
	_ = conn.SetReadDeadline(deadline)
	var b [1]byte
	_, err = conn.Read(b[:])
	return closedByPeer(err)
}

// peerWatchedConn calls onPeerClose once when a read finds the connection
// closed by the other end.
type peerWatchedConn struct {
	net.Conn
	once        sync.Once
	onPeerClose func()
}

func (c *peerWatchedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if err != nil && closedByPeer(err) {
		c.once.Do(c.onPeerClose)
	}
	return n, err
}
