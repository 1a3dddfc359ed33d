package client

import (
	"sync"

	"github.com/orch-io/orch/structs"
)

// A client-only agent gossips (so the servers see it fail at once), with
// the cluster's gossip key when encryption is on. The servers pass an
// operator's keyring operations on to it (structs.ClientAgentKeyring) over
// the connection it holds, so a rotation reaches every agent, not only the
// servers. The agent, which owns the gossip, gives the client its keyring
// with SetKeyring.

// Keyring is a gossip keyring as a client-only agent holds it.
type Keyring interface {
	// Apply applies op (structs.KeyringOp*) with key and returns the keys
	// installed afterwards (base64).
	Apply(op, key string) ([]string, error)
}

// keyringHolder is the client's keyring, set once gossip runs.
type keyringHolder struct {
	mu sync.Mutex
	k  Keyring
}

// SetKeyring gives the client the agent's gossip keyring (nil: gossip is
// not encrypted, or this agent does not gossip on its own).
func (c *Client) SetKeyring(k Keyring) {
	c.keyring.mu.Lock()
	c.keyring.k = k
	c.keyring.mu.Unlock()
}

// applyKeyring serves structs.ClientAgentKeyring.
func (c *Client) applyKeyring(args *structs.ClientKeyringRequest) (*structs.KeyringResponse, error) {
	c.keyring.mu.Lock()
	k := c.keyring.k
	c.keyring.mu.Unlock()
	if k == nil {
		return nil, structs.NewError(structs.CodeInvalid,
			"gossip encryption is not enabled on client agent %s: set server.encrypt in its configuration and restart it", c.nodeID)
	}
	keys, err := k.Apply(args.Op, args.Key)
	if err != nil {
		return nil, err
	}
	reply := &structs.KeyringResponse{Keys: map[string]int{}, NumNodes: 1}
	for _, key := range keys {
		reply.Keys[key]++
	}
	return reply, nil
}
