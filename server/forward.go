package server

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/raft"
	"github.com/orch-io/orch/internal/rpcwire"
	"github.com/orch-io/orch/structs"
)

// Forwarding. Every write, and every read that does not allow stale data, is
// served by the leader: an endpoint method's first line is
//
//	if done, err := x.srv.forward(ctx, "Job.Register", args, reply); done {
//		return err
//	}
//
// which, on a follower, sends the call to the leader over the connection pool
// and answers with the leader's reply. A request is forwarded at most once:
// a forwarded request that reaches a server that is not (or no longer) the
// leader fails there with structs.CodeNoLeader; the forwarding server then
// waits for another leader and tries again, within Config.LeaderWaitTimeout.
//
// A leader that stops answering (paused, cut off one way) must not hold the
// request: an attempt is abandoned as soon as this server's Raft learns of
// another leader (or loses the one it sent to), and in any case after
// forwardAttemptTimeout. Abandoning a write after it was sent leaves its
// outcome unknown, so every forwarded write carries a request ID (this server
// gives it one if the caller did not): the FSM applies a request ID at most
// once, and the retry on the new leader answers with the first outcome.

// forward sends the call to the leader when this server must not answer it
// itself. forwarded reports that it did (or failed trying): the caller then
// returns err as is.
func (s *Server) forward(ctx context.Context, method string, args, reply any) (forwarded bool, err error) {
	info, ok := args.(structs.RPCInfo)
	if !ok {
		return false, nil
	}
	if info.IsRead() && info.AllowStaleRead() {
		return false, nil
	}
	if s.leads() {
		return false, nil
	}
	deadline := time.Now().Add(s.config.LeaderWaitTimeout)
	if info.IsForwarded() {
		// Answered here only as the leader; a leader just elected first
		// catches up with the log (leads).
		if s.IsLeader() {
			if _, isSelf := s.waitForLeader(ctx, deadline, ""); isSelf {
				return false, nil
			}
		}
		return true, structs.NewError(structs.CodeNoLeader, "%s was forwarded to this server, which is not the leader", method)
	}
	markForwarded(ctx)
	if !info.IsRead() && info.GetRequestID() == "" {
		info.SetRequestID(structs.GenerateUUID())
	}
	info.SetForwarded()
	var (
		failed  string // the leader the last attempt went to, if it failed
		lastErr error
		unknown bool // a write was sent and its outcome not learned
	)
	for {
		leader, isSelf := s.waitForLeader(ctx, deadline, failed)
		if isSelf {
			return false, nil
		}
		if leader == "" {
			return true, s.forwardGaveUp(ctx, method, lastErr, unknown)
		}
		err := s.forwardOnce(ctx, leader, method, info, args, reply)
		// The leader's own answer is final, but for "not applied" and "outcome
		// unknown": with the request ID, the next leader either applies the
		// write or answers its first outcome.
		code := structs.CodeOf(err)
		var coded *structs.Error
		if err == nil || (errors.As(err, &coded) && code != structs.CodeNoLeader && code != structs.CodeIndeterminate) {
			return true, err
		}
		if !info.IsRead() && (errors.Is(err, rpcwire.ErrSent) || code == structs.CodeIndeterminate) {
			unknown = true
		}
		s.logger.Debug("forwarding to the leader failed; waiting for another", "method", method, "leader", leader, "error", err)
		failed, lastErr = leader, err
	}
}

// forwardAttemptTimeout bounds one forwarded write (or non-blocking read)
// when the leader does not answer and Raft does not notice: a leader cut
// off from this server alone. A blocking read gets its wait on top.
func (s *Server) forwardAttemptTimeout(info structs.RPCInfo, args any) time.Duration {
	t := s.config.LeaderWaitTimeout
	if q, ok := args.(interface{ QueryOpts() *structs.QueryOptions }); ok && info.IsRead() {
		if o := q.QueryOpts(); o.MinQueryIndex > 0 {
			t += min(max(o.MaxQueryTime, 0), MaxQueryTime) + MaxQueryTime/16
			if o.MaxQueryTime <= 0 {
				t += DefaultQueryTime
			}
		}
	}
	return t
}

// forwardOnce makes one attempt at the leader, abandoned when ctx ends, when
// forwardAttemptTimeout passes, or when Raft reports a leader other than
// leader (or none).
func (s *Server) forwardOnce(ctx context.Context, leader, method string, info structs.RPCInfo, args, reply any) error {
	actx, cancel := context.WithTimeout(ctx, s.forwardAttemptTimeout(info, args))
	defer cancel()
	go func() {
		for {
			changed := s.leaderChanged()
			if s.Leader() != leader {
				cancel()
				return
			}
			select {
			case <-changed:
			case <-actx.Done():
				return
			}
		}
	}()
	return s.pool.RPC(actx, leader, method, args, reply)
}

// forwardGaveUp is the error of a forward that found no leader to answer in
// time.
func (s *Server) forwardGaveUp(ctx context.Context, method string, lastErr error, unknown bool) error {
	why := fmt.Sprintf("none elected within %s", s.config.LeaderWaitTimeout)
	if ctx.Err() != nil {
		why = "the caller gave up: " + ctx.Err().Error()
	}
	if lastErr != nil {
		why = fmt.Sprintf("forwarding %s to the leader: %v", method, lastErr)
	}
	if unknown {
		return structs.NewError(structs.CodeIndeterminate,
			"no cluster leader answered: %s; the write may have been applied (retry with the same request ID to learn its outcome)", why)
	}
	return structs.NewError(structs.CodeNoLeader, "no cluster leader: %s", why)
}

// waitForLeader waits, until deadline or the end of ctx, for a leader to be
// known. A leader equal to notAddr (the one that just failed) is taken only
// once Raft reported a change since: it was elected again. It returns the
// leader's RPC address, or isSelf when this server leads, or "" when none was
// known in time (or the server is shutting down).
func (s *Server) waitForLeader(ctx context.Context, deadline time.Time, notAddr string) (addr string, isSelf bool) {
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	for {
		changed := s.leaderChanged()
		if s.leads() {
			return "", true
		}
		// Our own address as leader while not leading is a leadership being
		// lost, or won and not yet established: wait for the next
		// observation (wakeLeaderWaiters).
		if addr := s.Leader(); addr != "" && addr != s.RPCAddr() && addr != notAddr {
			return addr, false
		}
		select {
		case <-changed:
			notAddr = ""
		case <-timer.C:
			return "", false
		case <-ctx.Done():
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

// wakeLeaderWaiters wakes the waiters of leaderChanged: this server's
// leadership was established or ended.
func (s *Server) wakeLeaderWaiters() {
	s.leaderObs.Lock()
	defer s.leaderObs.Unlock()
	s.wakeLeaderWaitersLocked()
}

func (s *Server) wakeLeaderWaitersLocked() {
	close(s.leaderObs.ch)
	s.leaderObs.ch = make(chan struct{})
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
				leader := s.Leader()
				s.leaderObs.Lock()
				s.wakeLeaderWaitersLocked()
				if s.leaderObs.last != "" && leader != s.leaderObs.last {
					s.leaderObs.changedAt = time.Now()
				}
				if leader != "" {
					s.leaderObs.last = leader
				}
				s.leaderObs.Unlock()
				if leader != "" {
					s.markRaftExisting() // a member of a cluster now
				}
			case <-s.shutdownCtx.Done():
				return
			}
		}
	}()
}
