package api

import (
	"maps"
	"net"

	"github.com/orch-io/orch/structs"
)

// The agent endpoints' wire: /v1/agent/members and /v1/agent/self have
// structs' shape (AgentMembersResponse, AgentSelf), with each server
// member's tags completed to Nomad's.

// Nomad's gossip tags of a server, as Nomad's tools read them from
// /v1/agent/members (role, build, port, raft_vsn, region, dc, id, rpc_addr;
// orch's own tags stay beside them).
const (
	// NomadServerRole is Nomad's value of a server's "role" tag.
	NomadServerRole = "nomad"
	// nomadRaftVersion is the Raft protocol version servers speak
	// (hashicorp/raft's protocol 3, IDs as server IDs), as Nomad's raft_vsn.
	nomadRaftVersion = "3"
)

// MemberFromStructs is m as the API sends it: a server's tags completed with
// Nomad's (role "nomad", build = its version, port = its RPC port,
// raft_vsn, vsn, mvn); a copy, m is not changed.
func MemberFromStructs(m *structs.AgentMember) *structs.AgentMember {
	out := *m
	out.Tags = maps.Clone(m.Tags)
	if out.Tags == nil {
		out.Tags = map[string]string{}
	}
	if role := out.Tags[structs.GossipTagRole]; role != "" && role != structs.GossipRoleServer {
		return &out
	}
	out.Tags[structs.GossipTagRole] = NomadServerRole
	if v := out.Tags[structs.GossipTagVersion]; v != "" {
		out.Tags["build"] = v
	}
	if _, port, err := net.SplitHostPort(out.Tags[structs.GossipTagRPCAddr]); err == nil {
		out.Tags["port"] = port
	}
	out.Tags["raft_vsn"] = nomadRaftVersion
	out.Tags["vsn"], out.Tags["mvn"] = "1", "1"
	return &out
}

// MembersFromStructs is the body of /v1/agent/members (MemberFromStructs on
// each member; [] for none).
func MembersFromStructs(r *structs.AgentMembersResponse) *structs.AgentMembersResponse {
	out := *r
	out.Members = make([]*structs.AgentMember, 0, len(r.Members))
	for _, m := range r.Members {
		if m != nil {
			out.Members = append(out.Members, MemberFromStructs(m))
		}
	}
	return &out
}

// IsServerMember reports whether m, as /v1/agent/members sends it, is a
// server (role "nomad", or orch's "server", or no role).
func IsServerMember(m *structs.AgentMember) bool {
	switch m.Tags[structs.GossipTagRole] {
	case "", structs.GossipRoleServer, NomadServerRole:
		return true
	}
	return false
}
