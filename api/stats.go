package api

import "github.com/orch-io/orch/structs"

// Stats returns the resource usage of the allocation's running tasks, from
// the client that runs it (GET /v1/client/allocation/:id/stats).
func (a *Allocations) Stats(id string) (*structs.AllocResourceUsage, error) {
	path, err := idPath("/v1/client/allocation/", "allocation", id)
	if err != nil {
		return nil, err
	}
	var out structs.AllocResourceUsage
	if _, err := a.c.query(path+"/stats", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
