package server

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/hashicorp/raft"
	"github.com/orch-io/orch/internal/gossipkey"
	"github.com/orch-io/orch/structs"
)

// Gossip: every agent runs memberlist on its gossip port and advertises what
// it is in its node metadata (tags): role, region, datacenter, RPC address,
// version, bootstrap_expect, whether it has Raft state, the highest Raft entry
// version it reads (TagEntryVersion, entry_versions.go). Servers find each
// other through it: a fresh server bootstraps Raft once it sees
// bootstrap_expect servers (bootstrapLoop), and the leader adds the servers
// gossip shows to the Raft configuration and removes those that left
// (reconcileServers in leader.go).

// Gossip tag keys; the shared ones (and their encoding) are in structs, where
// the client agents' gossip finds them too.
const (
	TagRole     = structs.GossipTagRole
	TagRegion   = structs.GossipTagRegion
	TagDC       = structs.GossipTagDC
	TagRPCAddr  = structs.GossipTagRPCAddr
	TagVersion  = structs.GossipTagVersion
	TagServerID = structs.GossipTagServerID
	TagNodeID   = structs.GossipTagNodeID
	// TagBootstrapExpect is the server's bootstrap_expect.
	TagBootstrapExpect = "expect"
	// TagRaftState is "existing" once the server has Raft state: servers
	// that see one never bootstrap a cluster of their own.
	TagRaftState = "raft"
	// TagLeaving: see structs.GossipTagLeaving.
	TagLeaving = structs.GossipTagLeaving
	// TagLeader is set to "true" on the leader by Members; it is not gossiped.
	TagLeader = "leader"
	// TagVoter is set by Members to "true" or "false" on servers in the Raft
	// configuration (a voter, or a non-voter catching up); it is not gossiped.
	TagVoter = "voter"
)

// serverMember is a server as gossip last reported it.
type serverMember struct {
	Name  string
	Addr  string
	Port  uint16
	Tags  map[string]string
	State memberlist.NodeStateType
}

// setupGossip starts memberlist on BindAddr:GossipPort.
func (s *Server) setupGossip(advertiseIP string) error {
	id, err := s.serverID()
	if err != nil {
		return err
	}
	tags := map[string]string{
		TagRole:            structs.GossipRoleServer,
		TagRegion:          s.config.Region,
		TagDC:              s.config.Datacenter,
		TagRPCAddr:         s.RPCAddr(),
		TagVersion:         s.config.Version,
		TagServerID:        id,
		TagBootstrapExpect: strconv.Itoa(s.config.BootstrapExpect),
		TagEntryVersion:    strconv.Itoa(int(s.maxEntryVersion())),
	}
	if s.raftExisting {
		tags[TagRaftState] = "existing"
	}
	delegate := &gossipDelegate{tags: tags}
	if err := delegate.encode(); err != nil {
		return err
	}

	conf := GossipLANConfig()
	conf.Name = s.config.NodeName
	conf.BindAddr = s.config.BindAddr
	conf.BindPort = s.config.GossipPort
	conf.AdvertiseAddr = advertiseIP
	conf.AdvertisePort = s.config.GossipPort // 0: memberlist uses the port it bound
	conf.Delegate = delegate
	conf.Events = gossipEvents{s}
	conf.LogOutput = nil
	conf.Logger = newStdLogger(s.config.Logger, "memberlist")
	ring, ignored, err := gossipkey.Open(filepath.Join(s.config.DataDir, "server", gossipkey.FileName), s.config.GossipEncrypt)
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	if ignored {
		s.logger.Warn("server.encrypt is not in the keyring file, which wins: the cluster's keys were rotated since it was set", "keyring", filepath.Join(s.config.DataDir, "server", gossipkey.FileName))
	}
	if ring != nil {
		conf.Keyring = ring.Keyring()
		s.keyring = ring
	}
	ml, err := memberlist.Create(conf)
	if err != nil {
		return fmt.Errorf("server: starting gossip on %s:%d: %w", s.config.BindAddr, s.config.GossipPort, err)
	}
	// Read once, before any other member can make memberlist rewrite its
	// local node (LocalNode returns a pointer into memberlist's state).
	local := ml.LocalNode()
	s.gossip, s.gossipDelegate = ml, delegate
	s.gossipAddr = net.JoinHostPort(local.Addr.String(), strconv.Itoa(int(local.Port)))
	return nil
}

// GossipLANConfig is the memberlist configuration of every agent (servers
// and client agents), tuned for a LAN: memberlist's LAN defaults probing
// twice as often (every 500ms, 250ms for an ack), so that a dead agent is
// declared dead in about 2 to 3 s instead of 5 to 10. Suspicion still needs
// confirmations from other members (SuspicionMult 4) and a suspected member
// that is alive refutes it, so a busy member is not declared dead for a slow
// ack. The caller sets the name, addresses, delegates and logger.
func GossipLANConfig() *memberlist.Config {
	conf := memberlist.DefaultLANConfig()
	conf.ProbeInterval = 500 * time.Millisecond
	conf.ProbeTimeout = 250 * time.Millisecond
	conf.GossipInterval = 100 * time.Millisecond
	return conf
}

// setGossipTag changes one of this server's tags and tells the others.
func (s *Server) setGossipTag(key, value string) {
	changed, err := s.gossipDelegate.setTag(key, value)
	if err != nil {
		s.logger.Error("updating gossip tags", "error", err)
		return
	}
	if changed {
		if err := s.gossip.UpdateNode(time.Second); err != nil {
			s.logger.Warn("advertising gossip tags", "error", err)
		}
	}
}

// markRaftExisting advertises that this server has Raft state (it
// bootstrapped, or a leader added it), so that no fresh server bootstraps a
// second cluster alongside.
func (s *Server) markRaftExisting() {
	s.members.Lock()
	already := s.raftExisting
	s.raftExisting = true
	s.members.Unlock()
	if !already && s.gossip != nil && s.shutdownCtx.Err() == nil {
		s.setGossipTag(TagRaftState, "existing")
	}
}

// gossipEvents keeps Server.members up to date and wakes the loops that
// depend on membership. Memberlist calls it synchronously: it must not block.
type gossipEvents struct{ s *Server }

func (e gossipEvents) NotifyJoin(n *memberlist.Node)   { e.s.memberEvent(n, memberlist.StateAlive) }
func (e gossipEvents) NotifyLeave(n *memberlist.Node)  { e.s.memberEvent(n, memberlist.StateDead) }
func (e gossipEvents) NotifyUpdate(n *memberlist.Node) { e.s.memberEvent(n, memberlist.StateSuspect) }

// memberEvent records what gossip says of a member: alive on join; on leave,
// left when the member said it was leaving (TagLeaving) or asked the leader
// to remove it (markMemberLeft), failed otherwise (memberlist does not tell a
// graceful leave from a failure in its events); an update keeps the state and
// takes the new tags.
func (s *Server) memberEvent(n *memberlist.Node, st memberlist.NodeStateType) {
	tags, err := structs.DecodeGossipTags(n.Meta)
	if err != nil {
		s.logger.Warn("undecodable gossip tags", "member", n.Name, "error", err)
		return
	}
	if tags[TagRole] == structs.GossipRoleClient {
		s.clientMemberEvent(n.Name, tags, st)
		return
	}
	if tags[TagRole] != structs.GossipRoleServer {
		return
	}
	s.members.Lock()
	old := s.members.m[n.Name]
	switch {
	case st == memberlist.StateSuspect && old != nil:
		st = old.State // an update: tags only
	case st == memberlist.StateSuspect:
		st = memberlist.StateAlive
	case st == memberlist.StateDead && (tags[TagLeaving] == "true" || old != nil && old.State == memberlist.StateLeft):
		st = memberlist.StateLeft
	}
	s.members.m[n.Name] = &serverMember{Name: n.Name, Addr: n.Addr.String(), Port: n.Port, Tags: tags, State: st}
	s.members.Unlock()
	if old == nil || old.State != st {
		s.logger.Info("server member", "member", n.Name, "status", memberStatus(st), "rpc_addr", tags[TagRPCAddr], "id", tags[TagServerID])
	}
	for _, ch := range []chan struct{}{s.bootstrapKick, s.reconcileKick} {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// markMemberLeft records that the server with this Raft ID left gracefully:
// the leader does not add it back until gossip sees it join again.
func (s *Server) markMemberLeft(id string) {
	s.members.Lock()
	defer s.members.Unlock()
	for _, m := range s.members.m {
		if m.Tags[TagServerID] == id {
			m.State = memberlist.StateLeft
		}
	}
}

// serverMembers returns a copy of the servers of this region gossip knows.
func (s *Server) serverMembers() []serverMember { return s.serverMembersIn(s.config.Region) }

// serverMembersIn returns a copy of the servers of region gossip knows, of
// every region when region is "".
func (s *Server) serverMembersIn(region string) []serverMember {
	s.members.Lock()
	defer s.members.Unlock()
	out := make([]serverMember, 0, len(s.members.m))
	for _, m := range s.members.m {
		if region == "" || m.Tags[TagRegion] == region {
			out = append(out, *m)
		}
	}
	slices.SortFunc(out, func(a, b serverMember) int { return strings.Compare(a.Tags[TagServerID], b.Tags[TagServerID]) })
	return out
}

// bootstrapLoop runs on a fresh server with BootstrapExpect > 1 until it has
// bootstrapped the cluster, learned that one exists, or shuts down.
func (s *Server) bootstrapLoop() {
	defer s.wg.Done()
	for {
		select {
		case <-s.bootstrapKick:
		case <-s.shutdownCtx.Done():
			return
		}
		if s.tryBootstrap() {
			return
		}
	}
}

// tryBootstrap bootstraps Raft with every server gossip shows as voters once
// there are exactly BootstrapExpect of them alive, all expecting as many and
// none with Raft state. Every such server computes the same configuration, so
// each bootstrapping with it is safe. It reports whether the loop is done.
func (s *Server) tryBootstrap() bool {
	s.members.Lock()
	existing := s.raftExisting
	s.members.Unlock()
	if existing {
		return true
	}
	expect := s.config.BootstrapExpect
	var voters []raft.Server
	for _, m := range s.serverMembers() {
		if m.State != memberlist.StateAlive {
			continue
		}
		if m.Tags[TagRaftState] == "existing" {
			s.logger.Info("a server with raft state exists: not bootstrapping, waiting to be added to its cluster", "member", m.Name)
			return true
		}
		if m.Tags[TagBootstrapExpect] != strconv.Itoa(expect) {
			s.logger.Warn("server expects another cluster size: not bootstrapping", "member", m.Name,
				"its_bootstrap_expect", m.Tags[TagBootstrapExpect], "bootstrap_expect", expect)
			return false
		}
		voters = append(voters, raft.Server{
			Suffrage: raft.Voter, ID: raft.ServerID(m.Tags[TagServerID]), Address: raft.ServerAddress(m.Tags[TagRPCAddr]),
		})
	}
	switch {
	case len(voters) < expect:
		s.logger.Debug("waiting for servers to bootstrap", "have", len(voters), "bootstrap_expect", expect)
		return false
	case len(voters) > expect:
		s.logger.Warn("more servers than bootstrap_expect: not bootstrapping", "have", len(voters), "bootstrap_expect", expect)
		return false
	}
	err := s.raft.BootstrapCluster(raft.Configuration{Servers: voters}).Error()
	if errors.Is(err, raft.ErrCantBootstrap) {
		s.logger.Info("raft has state already: not bootstrapping")
		s.markRaftExisting()
		return true
	}
	if err != nil {
		s.logger.Error("bootstrapping raft", "error", err)
		return false
	}
	s.logger.Info("bootstrapped the cluster", "voters", len(voters))
	s.markRaftExisting()
	return true
}

// GossipAddr returns the advertised gossip address (host:port).
func (s *Server) GossipAddr() string { return s.gossipAddr }

// Join contacts the agents at addrs (host:port of their gossip ports) and
// returns how many were reached.
func (s *Server) Join(addrs []string) (int, error) {
	n, err := s.gossip.Join(addrs)
	if err != nil {
		return n, fmt.Errorf("server: joining %s: %w", strings.Join(addrs, ", "), gossipkey.ExplainJoinError(err))
	}
	return n, nil
}

// Members lists the servers gossip knows (or knew: those that failed or
// left), sorted by name, this server included. The leader's entry carries
// the tag leader=true. It reads the copies gossipEvents keeps, never
// memberlist's own nodes: memberlist.Members returns pointers into its state,
// which its goroutines update under a lock of their own.
func (s *Server) Members() *structs.AgentMembersResponse {
	resp := &structs.AgentMembersResponse{
		ServerName:   s.config.NodeName,
		ServerRegion: s.config.Region,
		ServerDC:     s.config.Datacenter,
	}
	leader := s.Leader()
	voters := map[string]string{} // server ID -> "true" / "false"
	if f := s.raft.GetConfiguration(); f.Error() == nil {
		for _, srv := range f.Configuration().Servers {
			voters[string(srv.ID)] = strconv.FormatBool(srv.Suffrage == raft.Voter)
		}
	}
	for _, m := range s.serverMembersIn("") {
		tags := maps.Clone(m.Tags) // shared with the kept copy, which is never changed in place
		if leader != "" && m.State == memberlist.StateAlive && tags[TagRPCAddr] == leader {
			tags[TagLeader] = "true"
		}
		if v, ok := voters[tags[TagServerID]]; ok {
			tags[TagVoter] = v
		}
		resp.Members = append(resp.Members, &structs.AgentMember{
			Name: m.Name, Addr: m.Addr, Port: m.Port, Status: memberStatus(m.State), Tags: tags,
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
	mu   sync.Mutex
	tags map[string]string
	meta []byte
}

var _ memberlist.Delegate = (*gossipDelegate)(nil)

// encode refreshes meta from tags; call with mu held (or before sharing d).
func (d *gossipDelegate) encode() error {
	meta, err := structs.EncodeGossipTags(d.tags)
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	d.meta = meta
	return nil
}

// setTag sets one tag; changed reports whether its value changed.
func (d *gossipDelegate) setTag(key, value string) (changed bool, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.tags[key] == value {
		return false, nil
	}
	d.tags[key] = value
	return true, d.encode()
}

func (d *gossipDelegate) NodeMeta(limit int) []byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.meta) > limit {
		return nil // checked against MetaMaxSize at encode; never happens
	}
	return d.meta
}
func (d *gossipDelegate) NotifyMsg([]byte)                           {}
func (d *gossipDelegate) GetBroadcasts(overhead, limit int) [][]byte { return nil }
func (d *gossipDelegate) LocalState(join bool) []byte                { return nil }
func (d *gossipDelegate) MergeRemoteState(buf []byte, join bool)     {}
