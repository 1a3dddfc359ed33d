package agent

import (
	"net/http"

	"github.com/orch-io/orch/structs"
)

// raftConfiguration is GET /v1/operator/raft/configuration →
// Operator.RaftGetConfiguration. The body is Nomad's:
// {"Servers": [{"ID", "Node", "Address", "Leader", "Voter", "RaftProtocol"}], "Index": N}.
func (s *HTTPServer) raftConfiguration(r *http.Request) (any, error) {
	q, err := parseQueryOptions(r)
	if err != nil {
		return nil, err
	}
	var reply structs.RaftConfigurationResponse
	if err := s.backend.RPC(r.Context(), "Operator.RaftGetConfiguration", &structs.GenericRequest{QueryOptions: q}, &reply); err != nil {
		return nil, err
	}
	return &reply, nil
}

// raftRemovePeer is DELETE /v1/operator/raft/peer?id=ID (or ?address=HOST:PORT)
// → Operator.RaftRemovePeer.
func (s *HTTPServer) raftRemovePeer(r *http.Request) (any, error) {
	q := r.URL.Query()
	req := &structs.RaftRemovePeerRequest{ID: q.Get("id"), Address: q.Get("address"), WriteRequest: writeRequest(r)}
	switch {
	case req.ID == "" && req.Address == "":
		return nil, badRequest("missing ?id= (the server's raft ID) or ?address= (its raft address)")
	case req.ID != "" && req.Address != "":
		return nil, badRequest("both ?id=%q and ?address=%q: give one of them", req.ID, req.Address)
	}
	var reply structs.GenericResponse
	if err := s.backend.RPC(r.Context(), "Operator.RaftRemovePeer", req, &reply); err != nil {
		return nil, err
	}
	return &reply, nil
}

// raftTransferLeadership is PUT/POST /v1/operator/raft/transfer-leadership[?id=ID]
// → Operator.RaftTransferLeadership.
func (s *HTTPServer) raftTransferLeadership(r *http.Request) (any, error) {
	req := &structs.RaftTransferLeadershipRequest{ID: r.URL.Query().Get("id"), WriteRequest: writeRequest(r)}
	var reply structs.GenericResponse
	if err := s.backend.RPC(r.Context(), "Operator.RaftTransferLeadership", req, &reply); err != nil {
		return nil, err
	}
	return &reply, nil
}
