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
