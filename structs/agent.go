package structs

// AgentMember is one agent seen through gossip, as /v1/agent/members shows it.
type AgentMember struct {
	Name   string
	Addr   string
	Port   uint16
	Status string            // "alive", "suspect", "left", "failed"
	Tags   map[string]string // role ("server"/"client"), dc, region, rpc_addr, version, leader...
}

// AgentMembersResponse is the body of GET /v1/agent/members.
type AgentMembersResponse struct {
	ServerName   string
	ServerRegion string
	ServerDC     string
	Members      []*AgentMember
}

// AgentHealth is the health of one half of an agent.
type AgentHealth struct {
	Ok      bool   `json:"ok"`
	Message string `json:"message"`
	// NodeID is the client half's node (the CLI's -self); empty for a server.
	NodeID string `json:"node_id,omitempty"`
}

// AgentHealthResponse is the body of GET /v1/agent/health; a half the agent does
// not run is nil.
type AgentHealthResponse struct {
	Client *AgentHealth `json:"client,omitempty"`
	Server *AgentHealth `json:"server,omitempty"`
}

// AgentSelf is the body of GET /v1/agent/self, in Nomad's shape: the
// agent's configuration (the parts Nomad's tools read, under Nomad's names:
// Region, Datacenter, NodeName, Version, Server, Client, ACL, Ports), its
// own gossip member (a client-only agent has only its name) and its stats by
// section ("agent", "runtime", "nomad" and "raft" on servers, "client" with
// "node_id" on clients).
type AgentSelf struct {
	Config map[string]any               `json:"config"`
	Member AgentMember                  `json:"member"`
	Stats  map[string]map[string]string `json:"stats"`
}
