package server

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/hashicorp/memberlist"
	"github.com/orch-io/orch/structs"
)

// Gossip: every agent runs memberlist on its gossip port and advertises what
// it is in its node metadata (tags): role, region, datacenter, RPC address,
// version. Clients find servers through it; servers will find each other
// through it for bootstrap_expect (TODO(#3)).

// Gossip tag keys.
const (
	TagRole     = "role"
	TagRegion   = "region"
	TagDC       = "dc"
	TagRPCAddr  = "rpc_addr"
	TagVersion  = "version"
	TagServerID = "id"
	// TagLeader is set to "true" on the leader by Members; it is not gossiped.
	TagLeader = "leader"
)

// setupGossip starts memberlist on BindAddr:GossipPort.
func (s *Server) setupGossip(advertiseIP string) error {
	id, err := s.serverID()
	if err != nil {
		return err
	}
	tags := map[string]string{
		TagRole:     "server",
		TagRegion:   s.config.Region,
		TagDC:       s.config.Datacenter,
		TagRPCAddr:  s.RPCAddr(),
		TagVersion:  s.config.Version,
		TagServerID: id,
	}
	meta, err := structs.Encode(tags)
	if err != nil {
		return fmt.Errorf("server: encoding gossip tags: %w", err)
	}
	if len(meta) > memberlist.MetaMaxSize {
		return fmt.Errorf("server: gossip tags take %d bytes: more than memberlist's %d", len(meta), memberlist.MetaMaxSize)
	}

	conf := memberlist.DefaultLANConfig()
	conf.Name = s.config.NodeName
	conf.BindAddr = s.config.BindAddr
	conf.BindPort = s.config.GossipPort
	conf.AdvertiseAddr = advertiseIP
	conf.AdvertisePort = s.config.GossipPort // 0: memberlist uses the port it bound
	conf.Delegate = &gossipDelegate{meta: meta}
	conf.LogOutput = nil
	conf.Logger = newStdLogger(s.config.Logger, "memberlist")
	ml, err := memberlist.Create(conf)
	if err != nil {
		return fmt.Errorf("server: starting gossip on %s:%d: %w", s.config.BindAddr, s.config.GossipPort, err)
	}
	s.gossip = ml
	return nil
}

// GossipAddr returns the advertised gossip address (host:port).
func (s *Server) GossipAddr() string {
	if s.gossip == nil {
		return ""
	}
	n := s.gossip.LocalNode()
	return net.JoinHostPort(n.Addr.String(), strconv.Itoa(int(n.Port)))
}

// Join contacts the agents at addrs (host:port of their gossip ports) and
// returns how many were reached.
func (s *Server) Join(addrs []string) (int, error) {
	n, err := s.gossip.Join(addrs)
	if err != nil {
		return n, fmt.Errorf("server: joining %s: %w", strings.Join(addrs, ", "), err)
	}
	return n, nil
}

// Members lists the agents gossip knows, sorted by name, this server
// included. The leader's entry carries the tag leader=true.
func (s *Server) Members() *structs.AgentMembersResponse {
	resp := &structs.AgentMembersResponse{
		ServerName:   s.config.NodeName,
		ServerRegion: s.config.Region,
		ServerDC:     s.config.Datacenter,
	}
	leader := s.Leader()
	for _, n := range s.gossip.Members() {
		tags := map[string]string{}
		if len(n.Meta) > 0 {
			if err := structs.Decode(n.Meta, &tags); err != nil {
				s.logger.Warn("undecodable gossip tags", "member", n.Name, "error", err)
			}
		}
		if tags[TagRole] == "server" && leader != "" && tags[TagRPCAddr] == leader {
			tags[TagLeader] = "true"
		}
		resp.Members = append(resp.Members, &structs.AgentMember{
			Name:   n.Name,
			Addr:   n.Addr.String(),
			Port:   n.Port,
			Status: memberStatus(n.State),
			Tags:   tags,
		})
	}
	slices.SortFunc(resp.Members, func(a, b *structs.AgentMember) int { return strings.Compare(a.Name, b.Name) })
	return resp
}

func memberStatus(st memberlist.NodeStateType) string {
	switch st {
	case memberlist.StateAlive:
		return "alive"
	case memberlist.StateSuspect:
		return "suspect"
	case memberlist.StateLeft:
		return "left"
	}
	return "failed"
}

// gossipDelegate advertises this server's tags; it carries no user messages
// and no state exchange (yet).
type gossipDelegate struct {
	meta []byte
}

var _ memberlist.Delegate = (*gossipDelegate)(nil)

func (d *gossipDelegate) NodeMeta(limit int) []byte {
	if len(d.meta) > limit {
		return nil // checked against MetaMaxSize at start; never happens
	}
	return d.meta
}
func (d *gossipDelegate) NotifyMsg([]byte)                           {}
func (d *gossipDelegate) GetBroadcasts(overhead, limit int) [][]byte { return nil }
func (d *gossipDelegate) LocalState(join bool) []byte                { return nil }
func (d *gossipDelegate) MergeRemoteState(buf []byte, join bool)     {}
