package server

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/hashicorp/raft"
	"github.com/orch-io/orch/structs"
)

// raftProtocolVersion is the Raft protocol orch's servers speak (hashicorp/raft
// protocol 3: servers are identified by ID), shown by list-peers.
const raftProtocolVersion = "3"

// RaftGetConfiguration returns the servers of the Raft configuration, with
// their gossip names, which one leads and which ones vote.
func (o *operatorEndpoint) RaftGetConfiguration(ctx context.Context, args *structs.GenericRequest, reply *structs.RaftConfigurationResponse) error {
	if done, err := o.srv.forward(ctx, "Operator.RaftGetConfiguration", args, reply); done {
		return err
	}
	s := o.srv
	f := s.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return fmt.Errorf("raft configuration: %w", err)
	}
	names := s.memberNamesByID()
	_, leaderID := s.raft.LeaderWithID()
	reply.Index = f.Index()
	for _, srv := range f.Configuration().Servers {
		reply.Servers = append(reply.Servers, &structs.RaftServer{
			ID:           string(srv.ID),
			Node:         names[string(srv.ID)],
			Address:      string(srv.Address),
			Leader:       srv.ID == leaderID,
			Voter:        srv.Suffrage == raft.Voter,
			RaftProtocol: raftProtocolVersion,
		})
	}
	sort.Slice(reply.Servers, func(i, j int) bool {
		a, b := reply.Servers[i], reply.Servers[j]
		if a.Node != b.Node {
			return a.Node < b.Node
		}
		return a.ID < b.ID
	})
	return nil
}

// memberNamesByID maps the Raft IDs gossip advertises to node names.
func (s *Server) memberNamesByID() map[string]string {
	s.members.Lock()
	defer s.members.Unlock()
	out := make(map[string]string, len(s.members.m))
	for name, m := range s.members.m {
		if id := m.Tags[TagServerID]; id != "" {
			out[id] = name
		}
	}
	return out
}

// RaftTransferLeadership hands leadership to the server args.ID names (a
// voter of the configuration), or to the most up-to-date voter when ID is "".
// It returns once the transfer has finished or failed.
func (o *operatorEndpoint) RaftTransferLeadership(ctx context.Context, args *structs.RaftTransferLeadershipRequest, reply *structs.GenericResponse) error {
	if done, err := o.srv.forward(ctx, "Operator.RaftTransferLeadership", args, reply); done {
		return err
	}
	s := o.srv
	f := s.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return fmt.Errorf("raft transfer leadership: reading the configuration: %w", err)
	}
	var fut raft.Future
	if args.ID == "" {
		voters := 0
		for _, srv := range f.Configuration().Servers {
			if srv.ID != s.raftID && srv.Suffrage == raft.Voter {
				voters++
			}
		}
		if voters == 0 {
			return errors.New("raft transfer leadership: the leader is the only voter: there is no server to transfer to")
		}
		fut = s.raft.LeadershipTransfer()
	} else {
		var target *raft.Server
		for _, srv := range f.Configuration().Servers {
			if srv.ID == raft.ServerID(args.ID) {
				target = &srv
			}
		}
		switch {
		case target == nil:
			return structs.NewError(structs.CodeNotFound, "raft transfer leadership: ID = %q: not found: no server of the raft configuration has it", args.ID)
		case target.ID == s.raftID:
			return fmt.Errorf("raft transfer leadership: ID = %q: that server already leads", args.ID)
		case target.Suffrage != raft.Voter:
			return fmt.Errorf("raft transfer leadership: ID = %q: not a voter, it cannot lead", args.ID)
		}
		fut = s.raft.LeadershipTransferToServer(target.ID, target.Address)
	}
	start := time.Now()
	if err := fut.Error(); err != nil {
		return fmt.Errorf("raft transfer leadership: %w", err)
	}
	reply.Index = s.raft.LastIndex()
	s.logger.Info("leadership transferred on request", "to", args.ID, "took", time.Since(start))
	return nil
}
