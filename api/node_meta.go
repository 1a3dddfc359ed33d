package api

import (
	"net/http"
	"net/url"

	"github.com/orch-io/orch/structs"
)

// NodeMetaApplyRequest is the body of POST /v1/client/metadata (Nomad's):
// the node (empty: the agent's own) and the keys to set, or to unset (nil).
type NodeMetaApplyRequest struct {
	NodeID string
	Meta   map[string]*string
}

// NodeMetaResponse is a node's metadata (Nomad's): Meta merged, Dynamic as
// applied (nil: unset), Static from the agent's configuration.
type NodeMetaResponse struct {
	Meta    map[string]string
	Dynamic map[string]*string
	Static  map[string]string
}

// NodeMetaFromStructs converts a client's answer to the wire.
func NodeMetaFromStructs(r *structs.NodeMetaResponse) *NodeMetaResponse {
	if r == nil {
		return nil
	}
	return &NodeMetaResponse{Meta: r.Meta, Dynamic: r.Dynamic, Static: r.Static}
}

// NodeMeta is the dynamic node metadata API (/v1/client/metadata).
type NodeMeta struct{ c *Client }

// Meta returns the node metadata API.
func (n *Nodes) Meta() *NodeMeta { return &NodeMeta{c: n.c} }

// Apply sets and unsets dynamic metadata of req.NodeID ("" : the agent's
// own node); the answer is the node's metadata after it.
func (m *NodeMeta) Apply(req *NodeMetaApplyRequest) (*NodeMetaResponse, error) {
	var out NodeMetaResponse
	if err := m.c.write(http.MethodPost, "/v1/client/metadata", nil, req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Read returns the metadata of nodeID ("": the agent's own node), read from
// its client.
func (m *NodeMeta) Read(nodeID string, q *QueryOptions) (*NodeMetaResponse, error) {
	var out NodeMetaResponse
	extra := url.Values{}
	if nodeID != "" {
		extra.Set("node_id", nodeID)
	}
	if _, err := m.c.queryWith("/v1/client/metadata", q, extra, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// GC collects every terminal allocation of nodeID ("": the agent's own
// node) on its client now (PUT /v1/client/gc).
func (n *Nodes) GC(nodeID string) error {
	params := url.Values{}
	if nodeID != "" {
		params.Set("node_id", nodeID)
	}
	return n.c.write(http.MethodPut, "/v1/client/gc", params, nil, nil)
}

// GC collects one terminal allocation on its client now (PUT
// /v1/client/allocation/:id/gc).
func (a *Allocations) GC(allocID string) error {
	path, err := idPath("/v1/client/allocation/", "allocation", allocID)
	if err != nil {
		return err
	}
	return a.c.write(http.MethodPut, path+"/gc", nil, nil, nil)
}
