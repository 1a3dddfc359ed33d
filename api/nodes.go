package api

import "github.com/orch-io/orch/structs"

// Nodes is the /v1/nodes and /v1/node/:id endpoints.
type Nodes struct{ c *Client }

// Nodes returns the node endpoints.
func (c *Client) Nodes() *Nodes { return &Nodes{c: c} }

// List returns the client nodes, sorted by ID; q.Prefix filters by ID prefix.
func (n *Nodes) List(q *QueryOptions) ([]*structs.NodeListStub, *QueryMeta, error) {
	var out []*structs.NodeListStub
	meta, err := n.c.query("/v1/nodes", q, &out)
	return out, meta, err
}

// Pools returns the node pools of the registered nodes, by name, with their
// node counts (GET /v1/node/pools).
func (n *Nodes) Pools(q *QueryOptions) ([]*structs.NodePoolStub, *QueryMeta, error) {
	var out []*structs.NodePoolStub
	meta, err := n.c.query("/v1/node/pools", q, &out)
	return out, meta, err
}

// Info returns the node with exactly this ID (404 *Error when there is none).
func (n *Nodes) Info(id string, q *QueryOptions) (*structs.Node, *QueryMeta, error) {
	path, err := idPath("/v1/node/", "node", id)
	if err != nil {
		return nil, nil, err
	}
	var out structs.Node
	meta, err := n.c.query(path, q, &out)
	if err != nil {
		return nil, nil, err
	}
	return &out, meta, nil
}
