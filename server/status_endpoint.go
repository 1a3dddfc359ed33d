package server

import (
	"context"
	"strconv"
	"time"

	"github.com/hashicorp/raft"
	"github.com/orch-io/orch/structs"
)

// statusEndpoint serves the "Status" RPC methods (structs/rpc.go).
type statusEndpoint struct {
	srv *Server
}

// Leader returns the RPC address of the cluster leader, "" when none is known.
func (s *statusEndpoint) Leader(ctx context.Context, args *structs.GenericRequest, reply *string) error {
	*reply = s.srv.Leader()
	return nil
}

// RaftStats reports this server's own Raft log and FSM progress and when it
// last heard from the leader (the leader's autopilot compares it with its
// own to judge the server's health). It has no forward line on purpose: the
// question is about the server asked, so it must answer locally.
func (s *statusEndpoint) RaftStats(ctx context.Context, args *structs.GenericRequest, reply *structs.RaftStatsResponse) error {
	r := s.srv.raft
	*reply = structs.RaftStatsResponse{
		ServerID:     string(s.srv.raftID),
		LastIndex:    r.LastIndex(),
		AppliedIndex: r.AppliedIndex(),
		Leader:       s.srv.Leader(),
		LastTerm:     lastLogTerm(r),
	}
	switch last := r.LastContact(); {
	case r.State() == raft.Leader:
	case last.IsZero():
		reply.LastContact = -1
	default:
		// Raft's own clock, not Config.Clock: raft stamps it with time.Now.
		reply.LastContact = max(0, time.Since(last))
	}
	return nil
}

// LeaderGone answers whether this server's own leader's process is gone: its
// port refuses connections (processGone), or this server knows no leader or
// has not heard from it for a quarter of the heartbeat timeout.
// A follower that found its leader gone asks the other voters before it
// stands for election (raft_failover.go): a leader that the others still
// reach is not dead, whatever a firewall tells one follower. It probes only
// this server's leader, whatever the caller thinks it is, and is answered
// locally, never forwarded.
func (s *statusEndpoint) LeaderGone(ctx context.Context, args *structs.GenericRequest, reply *bool) error {
	*reply = s.srv.ownLeaderGone(ctx)
	return nil
}

// lastLogTerm is the term of the last entry of r's log (0 if unknown).
func lastLogTerm(r *raft.Raft) uint64 {
	n, _ := strconv.ParseUint(r.Stats()["last_log_term"], 10, 64)
	return n
}
