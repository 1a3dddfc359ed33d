package server

import (
	"errors"
	"fmt"

	"github.com/hashicorp/raft"
	"github.com/orch-io/orch/structs"
)

// operatorEndpoint serves the "Operator" RPC methods: Raft membership here,
// the scheduler configuration in operator_scheduler.go.
type operatorEndpoint struct {
	srv *Server
}

// RaftRemovePeer removes a server from the Raft configuration. A server
// leaving gracefully calls it for itself; the leader then also stops adding
// it back while gossip still shows it alive.
//
// TODO(#3): `orch operator raft remove-peer` on top of it (ACL, by address).
func (o *operatorEndpoint) RaftRemovePeer(args *structs.RaftRemovePeerRequest, reply *structs.GenericResponse) error {
	if done, err := o.srv.forward("Operator.RaftRemovePeer", args, reply); done {
		return err
	}
	if args.ID == "" {
		return errors.New(`raft remove peer: ID = "": the server's raft ID is required`)
	}
	s := o.srv
	f := s.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return fmt.Errorf("raft remove peer: reading the configuration: %w", err)
	}
	s.markMemberLeft(args.ID)
	found := false
	for _, srv := range f.Configuration().Servers {
		found = found || srv.ID == raft.ServerID(args.ID)
	}
	if !found {
		reply.Index = f.Index()
		return nil
	}
	rf := s.raft.RemoveServer(raft.ServerID(args.ID), 0, 0)
	if err := rf.Error(); err != nil {
		if errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipLost) {
			return fmt.Errorf("%w: %v", structs.ErrNoLeader, err)
		}
		return fmt.Errorf("raft remove peer %s: %w", args.ID, err)
	}
	reply.Index = rf.Index()
	s.logger.Info("server removed from the raft configuration", "server_id", args.ID, "index", reply.Index)
	return nil
}
