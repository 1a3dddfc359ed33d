package server

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/orch-io/orch/structs"
)

func raftPeers(t *testing.T, s *Server) *structs.RaftConfigurationResponse {
	t.Helper()
	var resp structs.RaftConfigurationResponse
	if err := s.RPC(t.Context(), "Operator.RaftGetConfiguration", &structs.GenericRequest{}, &resp); err != nil {
		t.Fatalf("Operator.RaftGetConfiguration: %v", err)
	}
	return &resp
}

func TestOperatorRaft_ListTransferRemove(t *testing.T) {
	servers := startCluster(t, 3)
	leader := leaderOf(servers)
	follower := followerOf(servers)

	// Asked of a follower, the request is forwarded to the leader.
	peers := raftPeers(t, follower)
	if len(peers.Servers) != 3 {
		t.Fatalf("list peers: %d servers, want 3: %+v", len(peers.Servers), peers.Servers)
	}
	leaders := 0
	for _, p := range peers.Servers {
		if !p.Voter || p.Node == "" || p.RaftProtocol != "3" {
			t.Errorf("peer %+v: want a named voter on raft protocol 3", p)
		}
		if p.Leader {
			leaders++
			if p.ID != string(leader.raftID) || p.Address != leader.RPCAddr() {
				t.Errorf("leader peer %+v, want ID %s at %s", p, leader.raftID, leader.RPCAddr())
			}
		}
	}
	if leaders != 1 {
		t.Fatalf("%d leaders in %+v, want 1", leaders, peers.Servers)
	}

	// The leader is never removed: the operator must transfer leadership first.
	var resp structs.GenericResponse
	err := follower.RPC(t.Context(), "Operator.RaftRemovePeer", &structs.RaftRemovePeerRequest{ID: string(leader.raftID)}, &resp)
	if err == nil || !strings.Contains(err.Error(), "transfer leadership first") {
		t.Fatalf("removing the leader: err = %v, want a refusal that says to transfer leadership first", err)
	}
	err = leader.RPC(t.Context(), "Operator.RaftTransferLeadership", &structs.RaftTransferLeadershipRequest{ID: "no-such-server"}, &resp)
	if !errors.Is(err, structs.ErrNotFound) || !strings.Contains(err.Error(), "no-such-server") {
		t.Fatalf("transfer to an unknown ID: err = %v, want not found naming it", err)
	}

	// Transfer to a chosen follower.
	if err := leader.RPC(t.Context(), "Operator.RaftTransferLeadership", &structs.RaftTransferLeadershipRequest{ID: string(follower.raftID)}, &resp); err != nil {
		t.Fatalf("transfer leadership to %s: %v", follower.raftID, err)
	}
	waitFor(t, 10*time.Second, "the chosen follower leads", func() bool { return follower.IsLeader() })

	// Remove the old leader, now a follower, by address. It is still alive
	// in gossip: the leader must not add it back.
	addr := leader.RPCAddr()
	if err := follower.RPC(t.Context(), "Operator.RaftRemovePeer", &structs.RaftRemovePeerRequest{Address: addr}, &resp); err != nil {
		t.Fatalf("remove peer at %s: %v", addr, err)
	}
	peers = raftPeers(t, follower)
	if len(peers.Servers) != 2 {
		t.Fatalf("after removing %s: %+v, want 2 servers", addr, peers.Servers)
	}
	for _, p := range peers.Servers {
		if p.Address == addr {
			t.Fatalf("removed server %s still in %+v", addr, peers.Servers)
		}
	}
	err = follower.RPC(t.Context(), "Operator.RaftRemovePeer", &structs.RaftRemovePeerRequest{Address: addr}, &resp)
	if !errors.Is(err, structs.ErrNotFound) || !strings.Contains(err.Error(), addr) {
		t.Fatalf("removing %s again: err = %v, want not found naming it", addr, err)
	}
	follower.reconcileMembers()
	if n := len(raftPeers(t, follower).Servers); n != 2 {
		t.Fatalf("after a reconcile, %d servers: the removed one was added back", n)
	}
}
