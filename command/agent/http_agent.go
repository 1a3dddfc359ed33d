package agent

import (
	"net/http"

	"github.com/orch-io/orch/structs"
)

// The status and agent endpoints: who leads, who is in the gossip pool, and
// whether this agent is healthy.

// statusLeader is GET /v1/status/leader → Status.Leader: the leader's RPC
// address as a JSON string, "" when there is none (as in Nomad).
func (s *HTTPServer) statusLeader(r *http.Request) (any, error) {
	q, err := parseQueryOptions(r)
	if err != nil {
		return nil, err
	}
	var leader string
	if err := s.backend.RPC(r.Context(), "Status.Leader", &structs.GenericRequest{QueryOptions: q}, &leader); err != nil {
		return nil, err
	}
	return leader, nil
}

// agentMembers is GET /v1/agent/members.
func (s *HTTPServer) agentMembers(r *http.Request) (any, error) {
	m := s.backend.Members()
	if m == nil {
		m = &structs.AgentMembersResponse{}
	}
	if m.Members == nil {
		m.Members = []*structs.AgentMember{}
	}
	return m, nil
}

// agentHealth is GET /v1/agent/health: 200 when every half the agent runs is
// ok, 503 (with the same body) when one is not.
func (s *HTTPServer) agentHealth(r *http.Request) (any, error) {
	h := s.backend.Health()
	if h == nil {
		h = &structs.AgentHealthResponse{}
	}
	if (h.Server != nil && !h.Server.Ok) || (h.Client != nil && !h.Client.Ok) {
		return withStatus{code: http.StatusServiceUnavailable, body: h}, nil
	}
	return h, nil
}
