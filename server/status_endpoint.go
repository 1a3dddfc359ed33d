package server

import (
	"context"

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

// RaftStats reports this server's own Raft log and FSM progress (the leader's
// autopilot compares it with its own before promoting a non-voter). It has
// no forward line on purpose: the question is about the server asked, so it
// must answer locally.
func (s *statusEndpoint) RaftStats(ctx context.Context, args *structs.GenericRequest, reply *structs.RaftStatsResponse) error {
	r := s.srv.raft
	*reply = structs.RaftStatsResponse{
		ServerID:     string(s.srv.raftID),
		LastIndex:    r.LastIndex(),
		AppliedIndex: r.AppliedIndex(),
		Leader:       s.srv.Leader(),
	}
	return nil
}
