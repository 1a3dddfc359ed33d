package api

import "github.com/orch-io/orch/structs"

// Allocations is the /v1/allocations and /v1/allocation/:id endpoints.
type Allocations struct{ c *Client }

// Allocations returns the allocation endpoints.
func (c *Client) Allocations() *Allocations { return &Allocations{c: c} }

// List returns allocation summaries, sorted by ID; q.Prefix filters by ID prefix.
func (a *Allocations) List(q *QueryOptions) ([]*structs.AllocListStub, *QueryMeta, error) {
	var out []*AllocationListStub
	meta, err := a.c.query("/v1/allocations", q, &out)
	return mapList(out, AllocStubToStructs), meta, err
}

// Info returns the allocation with exactly this ID (404 *Error when there is none).
func (a *Allocations) Info(id string, q *QueryOptions) (*structs.Allocation, *QueryMeta, error) {
	path, err := idPath("/v1/allocation/", "allocation", id)
	if err != nil {
		return nil, nil, err
	}
	var out Allocation
	meta, err := a.c.query(path, q, &out)
	if err != nil {
		return nil, nil, err
	}
	return AllocToStructs(&out), meta, nil
}
