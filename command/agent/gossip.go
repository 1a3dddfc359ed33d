package agent

import (
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/orch-io/orch/internal/gossipkey"
	"github.com/orch-io/orch/server"
	"github.com/orch-io/orch/structs"
)

// clientGossip is the memberlist of a client-only agent. It serves two ends:
// the servers watch it (tags role=client, node_id) and mark the node down as
// soon as memberlist declares the agent dead, seconds before its heartbeat
// TTL would run out; and the agent learns the servers' RPC addresses from
// their tags (role=server, rpc_addr), so a client needs nothing but -join.
type clientGossip struct {
	ml       *memberlist.Memberlist
	delegate *clientGossipDelegate
	logger   *slog.Logger
	// keyring encrypts gossip; nil when it is plain text.
	keyring *gossipkey.Ring
}

// gossipConfig says what the client agent gossips and where.
type gossipConfig struct {
	Name       string // the member's name, unique in the cluster's gossip
	BindAddr   string
	Port       int
	Region     string
	Datacenter string
	NodeID     string
	Version    string
	// OnServers receives the RPC addresses of the servers of the region
	// gossip shows alive, whenever they change (never an empty list).
	OnServers func([]string)
	Logger    *slog.Logger
	// Encrypt is server.encrypt and KeyringFile where the agent keeps its
	// keyring (gossipkey.Open).
	Encrypt     string
	KeyringFile string
}

func startClientGossip(cfg gossipConfig) (*clientGossip, error) {
	tags := map[string]string{
		structs.GossipTagRole:    structs.GossipRoleClient,
		structs.GossipTagRegion:  cfg.Region,
		structs.GossipTagDC:      cfg.Datacenter,
		structs.GossipTagNodeID:  cfg.NodeID,
		structs.GossipTagVersion: cfg.Version,
	}
	d := &clientGossipDelegate{tags: tags}
	if err := d.encodeLocked(); err != nil {
		return nil, fmt.Errorf("agent: client gossip: %w", err)
	}
	g := &clientGossip{delegate: d, logger: cfg.Logger}
	events := &clientGossipEvents{region: cfg.Region, onServers: cfg.OnServers, logger: cfg.Logger, servers: map[string]string{}}

	conf := server.GossipLANConfig() // the same timings as the servers'
	conf.Name = cfg.Name
	conf.BindAddr = cfg.BindAddr
	conf.BindPort = cfg.Port
	conf.AdvertisePort = cfg.Port
	conf.Delegate = d
	conf.Events = events
	conf.LogOutput = nil
	conf.Logger = log.New(io.Discard, "", 0)
	if cfg.Logger != nil {
		conf.Logger = slog.NewLogLogger(cfg.Logger.With("component", "memberlist").Handler(), slog.LevelDebug)
	}
	ring, ignored, err := gossipkey.Open(cfg.KeyringFile, cfg.Encrypt)
	if err != nil {
		return nil, fmt.Errorf("agent: client gossip: %w", err)
	}
	if ignored {
		cfg.Logger.Warn("server.encrypt is not in the keyring file, which wins: the cluster's keys were rotated since it was set", "keyring", cfg.KeyringFile)
	}
	if ring != nil {
		conf.Keyring = ring.Keyring()
		g.keyring = ring
	}
	ml, err := memberlist.Create(conf)
	if err != nil {
		return nil, fmt.Errorf("agent: starting client gossip on %s:%d: %w", cfg.BindAddr, cfg.Port, err)
	}
	g.ml = ml
	return g, nil
}

// Join contacts the agents at addrs (host:port of their gossip ports).
// A refusal for a key mismatch says so (gossipkey.ErrKeyMismatch).
func (g *clientGossip) Join(addrs []string) (int, error) {
	n, err := g.ml.Join(addrs)
	return n, gossipkey.ExplainJoinError(err)
}

// Leave announces a graceful leave (so that the servers do not take it for a
// failure and mark the node down at once) and stops gossip.
func (g *clientGossip) Leave() error {
	changed, err := g.delegate.setTag(structs.GossipTagLeaving, "true")
	if err == nil && changed {
		if err := g.ml.UpdateNode(time.Second); err != nil {
			g.logger.Warn("advertising the graceful leave", "error", err)
		}
	}
	if err := g.ml.Leave(time.Second); err != nil {
		g.logger.Warn("leaving gossip failed", "error", err)
	}
	return g.ml.Shutdown()
}

// clientGossipDelegate advertises the client's tags.
type clientGossipDelegate struct {
	mu   sync.Mutex
	tags map[string]string
	meta []byte
}

func (d *clientGossipDelegate) encodeLocked() error {
	meta, err := structs.EncodeGossipTags(d.tags)
	if err != nil {
		return err
	}
	d.meta = meta
	return nil
}

func (d *clientGossipDelegate) setTag(key, value string) (bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.tags[key] == value {
		return false, nil
	}
	d.tags[key] = value
	return true, d.encodeLocked()
}

func (d *clientGossipDelegate) NodeMeta(limit int) []byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.meta) > limit {
		return nil // checked against the limit at encode; never happens
	}
	return d.meta
}
func (d *clientGossipDelegate) NotifyMsg([]byte)                       {}
func (d *clientGossipDelegate) GetBroadcasts(int, int) [][]byte        { return nil }
func (d *clientGossipDelegate) LocalState(bool) []byte                 { return nil }
func (d *clientGossipDelegate) MergeRemoteState(buf []byte, join bool) {}

// clientGossipEvents follows the servers of the region in gossip.
// Memberlist calls it synchronously: it must not block (onServers only
// swaps the RPC client's list).
type clientGossipEvents struct {
	region    string
	onServers func([]string)
	logger    *slog.Logger

	mu      sync.Mutex
	servers map[string]string // member name -> RPC address, alive servers only
}

func (e *clientGossipEvents) NotifyJoin(n *memberlist.Node)   { e.event(n, true) }
func (e *clientGossipEvents) NotifyUpdate(n *memberlist.Node) { e.event(n, true) }
func (e *clientGossipEvents) NotifyLeave(n *memberlist.Node)  { e.event(n, false) }

func (e *clientGossipEvents) event(n *memberlist.Node, alive bool) {
	tags, err := structs.DecodeGossipTags(n.Meta)
	if err != nil {
		e.logger.Warn("undecodable gossip tags", "member", n.Name, "error", err)
		return
	}
	if tags[structs.GossipTagRole] != structs.GossipRoleServer || tags[structs.GossipTagRegion] != e.region {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	addr := tags[structs.GossipTagRPCAddr]
	if alive && addr != "" && tags[structs.GossipTagLeaving] != "true" {
		if e.servers[n.Name] == addr {
			return
		}
		e.servers[n.Name] = addr
	} else {
		if _, ok := e.servers[n.Name]; !ok {
			return
		}
		delete(e.servers, n.Name)
	}
	var list []string
	for _, a := range e.servers {
		list = append(list, a)
	}
	slices.Sort(list)
	e.logger.Debug("servers known through gossip", "servers", list)
	if len(list) > 0 && e.onServers != nil {
		e.onServers(list)
	}
}

// ringKeyring is a client-only agent's gossip keyring as the client serves
// the servers' keyring operations on it (client.Keyring).
type ringKeyring struct{ ring *gossipkey.Ring }

func (k ringKeyring) Apply(op, key string) ([]string, error) {
	var err error
	switch op {
	case structs.KeyringOpList:
	case structs.KeyringOpInstall:
		err = k.ring.Install(key)
	case structs.KeyringOpUse:
		err = k.ring.Use(key)
	case structs.KeyringOpRemove:
		err = k.ring.Remove(key)
	default:
		return nil, structs.NewError(structs.CodeInvalid, "keyring operation %q: must be list, install, use or remove", op)
	}
	if err != nil {
		if errors.Is(err, gossipkey.ErrKeyNotInstalled) || errors.Is(err, gossipkey.ErrPrimaryKey) {
			return nil, structs.NewError(structs.CodeInvalid, "%v", err)
		}
		return nil, fmt.Errorf("agent: keyring: %w", err)
	}
	keys, _ := k.ring.List()
	return keys, nil
}
