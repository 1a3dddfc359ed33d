package server

import (
	"strconv"

	"github.com/orch-io/orch/structs"
)

// LocalMember is this server as its own gossip shows it (with the leader and
// voter tags of Members), for /v1/agent/self; nil before gossip runs.
func (s *Server) LocalMember() *structs.AgentMember {
	for _, m := range s.Members().Members {
		if m.Name == s.config.NodeName {
			return m
		}
	}
	return nil
}

// SelfStats are the sections of /v1/agent/self's stats a server fills, under
// Nomad's names: "nomad" (leadership, region) and "raft" (Raft's own stats).
func (s *Server) SelfStats() map[string]map[string]string {
	return map[string]map[string]string{
		"nomad": {
			"server":        "true",
			"leader":        strconv.FormatBool(s.IsLeader()),
			"leader_addr":   s.Leader(),
			"bootstrap":     strconv.FormatBool(s.config.BootstrapExpect == 1),
			"known_regions": "1",
		},
		"raft": s.raft.Stats(),
	}
}
