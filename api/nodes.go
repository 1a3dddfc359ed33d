package api

import "github.com/orch-io/orch/structs"

// Nodes is the /v1/nodes and /v1/node/:id endpoints.
type Nodes struct{ c *Client }

// Nodes returns the node endpoints.
func (c *Client) Nodes() *Nodes { return &Nodes{c: c} }

// List returns the client nodes, sorted by ID; q.Prefix filters by ID prefix.
func (n *Nodes) List(q *QueryOptions) ([]*structs.NodeListStub, *QueryMeta, error) {
	var out []*NodeListStub
	meta, err := n.c.query("/v1/nodes", q, &out)
	return mapList(out, NodeStubToStructs), meta, err
}

// Pools returns the node pools of the registered nodes, by name (GET
// /v1/node/pools).
func (n *Nodes) Pools(q *QueryOptions) ([]*NodePool, *QueryMeta, error) {
	var out []*NodePool
	meta, err := n.c.query("/v1/node/pools", q, &out)
	return out, meta, err
}

// Info returns the node with exactly this ID (404 *Error when there is none).
func (n *Nodes) Info(id string, q *QueryOptions) (*structs.Node, *QueryMeta, error) {
	path, err := idPath("/v1/node/", "node", id)
	if err != nil {
		return nil, nil, err
	}
	var out Node
	meta, err := n.c.query(path, q, &out)
	if err != nil {
		return nil, nil, err
	}
	return NodeToStructs(&out), meta, nil
}

// Allocations returns the allocations assigned to the node, whole (GET
// /v1/node/:id/allocations).
func (n *Nodes) Allocations(id string, q *QueryOptions) ([]*structs.Allocation, *QueryMeta, error) {
	path, err := idPath("/v1/node/", "node", id)
	if err != nil {
		return nil, nil, err
	}
	var out []*Allocation
	meta, err := n.c.query(path+"/allocations", q, &out)
	return mapList(out, AllocToStructs), meta, err
}
