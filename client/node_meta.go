package client

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"

	"github.com/orch-io/orch/structs"
)

// Dynamic node metadata (Nomad 1.5's `node meta apply|read`): keys set or
// unset at run time, on top of the static metadata of the agent's
// configuration (client { meta { } }). They are persisted in the client's
// state (so they survive a restart of the agent) and reach the servers in a
// registration of the node (Node.Register, through Raft), sent at once: a
// job waiting for ${meta.rack} is unblocked as soon as the apply returns.
// An unset key (nil) is left out of the node's metadata, even a static one.

// metaKeyRE is what a metadata key may be: what ${meta.<key>} can name.
var metaKeyRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.\-]*$`)

// validateMetaApply reports every key that may not be applied.
func validateMetaApply(meta map[string]*string) error {
	if len(meta) == 0 {
		return structs.NewError(structs.CodeInvalid, "node meta apply: Meta: nothing to set or unset")
	}
	var errs []error
	for _, k := range slices.Sorted(maps.Keys(meta)) {
		if !metaKeyRE.MatchString(k) {
			errs = append(errs, fmt.Errorf("node meta apply: Meta key %q: must start with a letter, digit or _ and hold only letters, digits, _, . and -", k))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return structs.NewError(structs.CodeInvalid, "%v", err)
	}
	return nil
}

// mergeMeta is the node's metadata: static overlaid with dynamic (nil
// values remove the key). Pure.
func mergeMeta(static map[string]string, dynamic map[string]*string) map[string]string {
	out := maps.Clone(static)
	if out == nil {
		out = map[string]string{}
	}
	for k, v := range dynamic {
		if v == nil {
			delete(out, k)
		} else {
			out[k] = *v
		}
	}
	return out
}

// NodeMeta returns the node's metadata: merged, dynamic and static.
func (c *Client) NodeMeta() (*structs.NodeMetaResponse, error) {
	dyn, err := c.db.DynamicNodeMeta()
	if err != nil {
		return nil, err
	}
	return &structs.NodeMetaResponse{Meta: mergeMeta(c.cfg.Meta, dyn), Dynamic: dyn, Static: nonNil(c.cfg.Meta)}, nil
}

// ApplyNodeMeta sets and unsets dynamic metadata, persists it, and registers
// the node again with it. A registration that fails is retried by the
// heartbeat loop; the error says the change is saved but not yet sent.
func (c *Client) ApplyNodeMeta(meta map[string]*string) (*structs.NodeMetaResponse, error) {
	if err := validateMetaApply(meta); err != nil {
		return nil, err
	}
	c.metaMu.Lock()
	dyn, err := c.db.DynamicNodeMeta()
	if err == nil {
		maps.Copy(dyn, meta)
		err = c.db.PutDynamicNodeMeta(dyn)
	}
	if err != nil {
		c.metaMu.Unlock()
		return nil, err
	}
	c.mu.Lock()
	c.mu.node.Meta = mergeMeta(c.cfg.Meta, dyn)
	c.mu.Unlock()
	c.metaMu.Unlock()
	c.logger.Info("node metadata applied", "keys", slices.Sorted(maps.Keys(meta)))

	if _, err := c.register(HeartbeatCallTimeout(defaultHeartbeatTTL)); err != nil {
		c.reregister.Store(true)
		return nil, structs.NewError(structs.CodeIndeterminate, "node metadata saved on the node but not yet sent to the servers (retried with the next heartbeat): %v", err)
	}
	return &structs.NodeMetaResponse{Meta: mergeMeta(c.cfg.Meta, dyn), Dynamic: dyn, Static: nonNil(c.cfg.Meta)}, nil
}

// loadDynamicMeta merges the persisted dynamic metadata into the node at
// start.
func (c *Client) loadDynamicMeta() {
	dyn, err := c.db.DynamicNodeMeta()
	if err != nil {
		c.logger.Error("reading dynamic node metadata", "error", err)
		return
	}
	c.mu.Lock()
	c.mu.node.Meta = mergeMeta(c.cfg.Meta, dyn)
	c.mu.Unlock()
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return maps.Clone(m)
}
