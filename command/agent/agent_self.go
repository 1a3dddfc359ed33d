package agent

import (
	"runtime"
	"strconv"

	"github.com/orch-io/orch/server"
	"github.com/orch-io/orch/structs"
)

// Self is what GET /v1/agent/self shows of this agent, in Nomad's shape
// (structs.AgentSelf): the configuration keys Nomad's tools read
// (api.Agent's Region, Datacenter and NodeName; the CLI's version and
// -self), the server's own member, and the stats by section.
func (b backend) Self() *structs.AgentSelf {
	cfg := b.a.cfg
	self := &structs.AgentSelf{
		Config: map[string]any{
			"Region":     cfg.Region,
			"Datacenter": cfg.Datacenter,
			"NodeName":   cfg.NodeName,
			"DataDir":    cfg.DataDir,
			"BindAddr":   cfg.BindAddr,
			"Version":    map[string]any{"Version": cfg.Version, "VersionPrerelease": "", "VersionMetadata": "", "Revision": ""},
			"Ports":      map[string]any{"HTTP": cfg.Ports.HTTP, "RPC": cfg.Ports.RPC, "Serf": cfg.Ports.Serf},
			"Server":     map[string]any{"Enabled": b.a.server != nil, "BootstrapExpect": cfg.Server.BootstrapExpect},
			"Client":     map[string]any{"Enabled": b.a.client != nil},
			"ACL":        map[string]any{"Enabled": cfg.ACL.Enabled},
			"TLSConfig":  map[string]any{"EnableHTTP": cfg.TLS.HTTP, "EnableRPC": cfg.TLS.RPC, "RPCUpgradeMode": cfg.TLS.RPCUpgradeMode},
		},
		Member: structs.AgentMember{Name: cfg.NodeName},
		Stats: map[string]map[string]string{
			"agent": {"server": strconv.FormatBool(b.a.server != nil), "client": strconv.FormatBool(b.a.client != nil)},
			"runtime": {
				"arch": runtime.GOARCH, "os": runtime.GOOS, "version": runtime.Version(),
				"cpu_count": strconv.Itoa(runtime.NumCPU()), "max_procs": strconv.Itoa(runtime.GOMAXPROCS(0)),
				"goroutines": strconv.Itoa(runtime.NumGoroutine()),
			},
		},
	}
	if s := b.a.server; s != nil {
		if m := s.LocalMember(); m != nil {
			self.Member = *m
		}
		for k, v := range s.SelfStats() {
			self.Stats[k] = v
		}
	}
	if c := b.a.client; c != nil {
		self.Stats["client"] = map[string]string{
			"node_id":    c.NodeID(),
			"registered": strconv.FormatBool(c.Registered()),
		}
	}
	return self
}

// Events is the event buffer of the agent's server; nil without one.
func (b backend) Events() *server.EventBuffer {
	if b.a.server == nil {
		return nil
	}
	return b.a.server.Events()
}
