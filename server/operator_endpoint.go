package server

import (
	"context"
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

// RaftRemovePeer removes a server, by Raft ID or by address, from the Raft
// configuration. A server leaving gracefully calls it for itself; the leader
// then also stops adding it back while gossip still shows it alive. The
// leader refuses to remove itself (transfer leadership first). Removing a
// server the configuration does not hold fails with structs.ErrNotFound
// (after recording, for an ID, that it left).
func (o *operatorEndpoint) RaftRemovePeer(ctx context.Context, args *structs.RaftRemovePeerRequest, reply *structs.GenericResponse) error {
	if done, err := o.srv.forward(ctx, "Operator.RaftRemovePeer", args, reply); done {
		return err
	}
	if args.ID == "" && args.Address == "" {
		return errors.New(`raft remove peer: ID = "" and Address = "": the server's raft ID or address is required`)
	}
	if args.ID != "" && args.Address != "" {
		return fmt.Errorf("raft remove peer: ID = %q and Address = %q: give one of them, not both", args.ID, args.Address)
	}
	s := o.srv
	f := s.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return fmt.Errorf("raft remove peer: reading the configuration: %w", err)
	}
	var target *raft.Server
	for _, srv := range f.Configuration().Servers {
		if (args.ID != "" && srv.ID == raft.ServerID(args.ID)) || (args.Address != "" && srv.Address == raft.ServerAddress(args.Address)) {
			target = &srv
			break
		}
	}
	if target == nil {
		if args.ID != "" {
			s.markMemberLeft(args.ID)
			return structs.NewError(structs.CodeNotFound, "raft remove peer: ID = %q: not found in the raft configuration", args.ID)
		}
		return structs.NewError(structs.CodeNotFound, "raft remove peer: Address = %q: not found in the raft configuration", args.Address)
	}
	if target.ID == s.raftID {
		return fmt.Errorf("raft remove peer: %s (%s) is the leader: it cannot remove itself; "+
			"transfer leadership first (orch operator raft transfer-leadership)", target.ID, target.Address)
	}
	s.markMemberLeft(string(target.ID))
	rf := s.raft.RemoveServer(target.ID, 0, 0)
	if err := rf.Error(); err != nil {
		if errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipLost) {
			return fmt.Errorf("%w: %v", structs.ErrNoLeader, err)
		}
		return fmt.Errorf("raft remove peer %s: %w", target.ID, err)
	}
	reply.Index = rf.Index()
	s.logger.Info("server removed from the raft configuration", "server_id", target.ID, "address", target.Address, "index", reply.Index)
	return nil
}
