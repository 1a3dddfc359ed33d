package structs

import "fmt"

// Gossip tags. Every agent runs memberlist on its gossip port and advertises
// what it is in its node metadata: a map of tags, msgpack-encoded. Servers and
// client agents share these keys and the encoding (EncodeGossipTags,
// DecodeGossipTags).
const (
	// GossipTagRole is GossipRoleServer or GossipRoleClient.
	GossipTagRole   = "role"
	GossipTagRegion = "region"
	GossipTagDC     = "dc"
	// GossipTagRPCAddr is a server's RPC address (host:port): clients joined
	// by gossip learn the servers from it.
	GossipTagRPCAddr = "rpc_addr"
	GossipTagVersion = "version"
	// GossipTagServerID is a server's Raft ID.
	GossipTagServerID = "id"
	// GossipTagNodeID is a client agent's node ID: when gossip declares the
	// agent dead, the leader marks that node down at once.
	GossipTagNodeID = "node_id"
	// GossipTagLeaving is set to "true" by an agent shutting down gracefully
	// just before it leaves gossip, so that the others record a leave, not a
	// failure (memberlist does not tell them apart in its events).
	GossipTagLeaving = "leaving"
)

// Values of GossipTagRole.
const (
	GossipRoleServer = "server"
	GossipRoleClient = "client"
)

// GossipMetaMaxSize is memberlist's limit on a node's metadata (MetaMaxSize).
const GossipMetaMaxSize = 512

// EncodeGossipTags encodes tags as gossip node metadata, failing when they do
// not fit in GossipMetaMaxSize bytes.
func EncodeGossipTags(tags map[string]string) ([]byte, error) {
	meta, err := Encode(tags)
	if err != nil {
		return nil, fmt.Errorf("encoding gossip tags: %w", err)
	}
	if len(meta) > GossipMetaMaxSize {
		return nil, fmt.Errorf("gossip tags take %d bytes: more than the %d gossip allows", len(meta), GossipMetaMaxSize)
	}
	return meta, nil
}

// DecodeGossipTags decodes the tags of gossip node metadata; empty metadata
// gives an empty map.
func DecodeGossipTags(meta []byte) (map[string]string, error) {
	tags := map[string]string{}
	if len(meta) == 0 {
		return tags, nil
	}
	if err := Decode(meta, &tags); err != nil {
		return nil, fmt.Errorf("decoding gossip tags: %w", err)
	}
	return tags, nil
}
