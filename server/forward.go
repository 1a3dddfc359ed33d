package server

import (
	"errors"
	"fmt"
	"net/rpc"
	"time"

	"github.com/hashicorp/raft"
	"github.com/orch-io/orch/structs"
)

// Forwarding. Every write, and every read that does not allow stale data, is
// served by the leader: an endpoint method's first line is
//
//	if done, err := x.srv.forward("Job.Register", args, reply); done {
//		return err
//	}
//
// which, on a follower, sends the call to the leader over the connection pool
// and answers with the leader's reply. A request is forwarded at most once:
// a forwarded request that reaches a server that is not (or no longer) the
// leader fails there with structs.ErrNoLeader; the forwarding server then
// waits for another leader and tries again, within Config.LeaderWaitTimeout.

// forward sends the call to the leader when this server must not answer it
// itself. forwarded reports that it did (or failed trying): the caller then
// returns err as is.
func (s *Server) forward(method string, args, reply any) (forwarded bool, err error) {
	info, ok := args.(structs.RPCInfo)
	if !ok {
		return false, nil
	}
	if info.IsRead() && info.AllowStaleRead() {
		return false, nil
	}
	if s.IsLeader() {
		return false, nil
	}
	if info.IsForwarded() {
		return true, fmt.Errorf("%w: %s was forwarded to this server, which is not the leader", structs.ErrNoLeader, method)
	}
	// Retry within the bound while the leader we reach turns out not to lead
	// (or not to answer): during an election the next attempt finds the new one.
	deadline := time.Now().Add(s.config.LeaderWaitTimeout)
	info.SetForwarded()
	var failed string
	var lastErr error
	for {
		leader, isSelf := s.waitForLeader(deadline, failed)
		if isSelf {
			return false, nil
		}
		if leader == "" {
			if lastErr != nil {
				return true, fmt.Errorf("%w: forwarding %s to the leader: %v", structs.ErrNoLeader, method, lastErr)
			}
			return true, fmt.Errorf("%w: none elected within %s", structs.ErrNoLeader, s.config.LeaderWaitTimeout)
		}
		err := s.pool.RPC(leader, method, args, reply)
		if err == nil || (isServerError(err) && !structs.IsErr(err, structs.ErrNoLeader)) {
			return true, err
		}
		s.logger.Debug("forwarding to the leader failed; waiting for another", "method", method, "leader", leader, "error", err)
		failed, lastErr = leader, err
	}
}

// isServerError reports whether err is an error the remote method returned
// (as opposed to a failure to reach it).
func isServerError(err error) bool {
	var se rpc.ServerError
	return errors.As(err, &se)
}

// waitForLeader waits, until deadline, for a leader other than notAddr to be
// known. It returns the leader's RPC address, or isSelf when this server
// leads, or "" when none was known in time (or the server is shutting down).
func (s *Server) waitForLeader(deadline time.Time, notAddr string) (addr string, isSelf bool) {
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	for {
		changed := s.leaderChanged()
		if s.IsLeader() {
			return "", true
		}
		// Our own address as leader while not leading is a leadership being
		// lost: wait for the next observation.
		if addr := s.Leader(); addr != "" && addr != s.RPCAddr() && addr != notAddr {
			return addr, false
		}
		select {
		case <-changed:
		case <-timer.C:
			return "", false
		case <-s.shutdownCtx.Done():
			return "", false
		}
	}
}

// leaderChanged returns a channel closed at the next change of leader
// (or of this server's Raft state) that Raft reports.
func (s *Server) leaderChanged() <-chan struct{} {
	s.leaderObs.Lock()
	defer s.leaderObs.Unlock()
	return s.leaderObs.ch
}

// observeLeader registers a Raft observer of leader changes and wakes the
// waiters of leaderChanged at each, until shutdown.
func (s *Server) observeLeader() {
	obs := make(chan raft.Observation, 16)
	observer := raft.NewObserver(obs, false, func(o *raft.Observation) bool {
		switch o.Data.(type) {
		case raft.LeaderObservation, raft.RaftState:
			return true
		}
		return false
	})
	s.raft.RegisterObserver(observer)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer s.raft.DeregisterObserver(observer)
		for {
			select {
			case <-obs:
				s.leaderObs.Lock()
				close(s.leaderObs.ch)
				s.leaderObs.ch = make(chan struct{})
				s.leaderObs.Unlock()
				if s.Leader() != "" {
					s.markRaftExisting() // a member of a cluster now
				}
			case <-s.shutdownCtx.Done():
				return
			}
		}
	}()
}
