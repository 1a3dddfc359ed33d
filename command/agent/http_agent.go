package agent

import (
	"maps"
	"net/http"
	"slices"

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

// agentHealth is GET /v1/agent/health. By default it is readiness: 200
// when every half the agent runs is ready (a server: a leader is known and
// its state has applied what Raft committed; a client: registered and
// heartbeating), 500 with the same body, whose messages say why, when one
// is not (as Nomad). ?type=live is liveness: 200 whenever the agent
// answers, for a supervisor that should restart only a hung agent.
func (s *HTTPServer) agentHealth(r *http.Request) (any, error) {
	switch t := r.URL.Query().Get("type"); t {
	case "", "ready":
	case "live":
		h := &structs.AgentHealthResponse{}
		if b := s.backend.Health(); b != nil {
			if b.Server != nil {
				h.Server = &structs.AgentHealth{Ok: true, Message: "alive"}
			}
			if b.Client != nil {
				h.Client = &structs.AgentHealth{Ok: true, Message: "alive", NodeID: b.Client.NodeID}
			}
		}
		return h, nil
	default:
		return nil, badRequest("type = %q: must be live or ready (the default)", t)
	}
	h := s.backend.Health()
	if h == nil {
		h = &structs.AgentHealthResponse{}
	}
	if (h.Server != nil && !h.Server.Ok) || (h.Client != nil && !h.Client.Ok) {
		return withStatus{code: http.StatusInternalServerError, body: h}, nil
	}
	return h, nil
}

// statusPeers is GET /v1/status/peers: the RPC addresses of the Raft peers
// (from Operator.RaftGetConfiguration), as in Nomad.
func (s *HTTPServer) statusPeers(r *http.Request) (any, error) {
	out, err := s.raftConfiguration(r)
	if err != nil {
		return nil, err
	}
	reply := out.(*structs.RaftConfigurationResponse)
	peers := make([]string, 0, len(reply.Servers))
	for _, srv := range reply.Servers {
		peers = append(peers, srv.Address)
	}
	return peers, nil
}

// regions is GET /v1/regions: the regions of the servers gossip knows,
// sorted (orch federates no regions: one, unless servers of several share a
// gossip pool).
func (s *HTTPServer) regions(r *http.Request) (any, error) {
	seen := map[string]bool{}
	if m := s.backend.Members(); m != nil {
		if m.ServerRegion != "" {
			seen[m.ServerRegion] = true
		}
		for _, mem := range m.Members {
			if mem != nil && mem.Tags[structs.GossipTagRole] == structs.GossipRoleServer && mem.Tags[structs.GossipTagRegion] != "" {
				seen[mem.Tags[structs.GossipTagRegion]] = true
			}
		}
	}
	return slices.Sorted(maps.Keys(seen)), nil
}

// agentServers is GET /v1/agent/servers: the RPC addresses of the live
// servers gossip knows, sorted, as Nomad's client agents answer it.
func (s *HTTPServer) agentServers(r *http.Request) (any, error) {
	servers := []string{}
	if m := s.backend.Members(); m != nil {
		for _, mem := range m.Members {
			if mem != nil && mem.Status == "alive" && mem.Tags[structs.GossipTagRole] == structs.GossipRoleServer && mem.Tags[structs.GossipTagRPCAddr] != "" {
				servers = append(servers, mem.Tags[structs.GossipTagRPCAddr])
			}
		}
	}
	slices.Sort(servers)
	return servers, nil
}

// agentSelf is GET /v1/agent/self: the agent's configuration, member and
// stats in Nomad's shape (structs.AgentSelf; the member's tags as
// /v1/agent/members sends them).
func (s *HTTPServer) agentSelf(r *http.Request) (any, error) {
	self := s.backend.Self()
	if self == nil {
		self = &structs.AgentSelf{}
	}
	return self, nil
}
