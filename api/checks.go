package api

import "github.com/orch-io/orch/structs"

// Checks returns the latest result of each check of an allocation, keyed by
// check ID (GET /v1/client/allocation/:id/checks). Only the agent whose
// client runs the allocation answers; others answer 404.
func (a *Allocations) Checks(id string) (map[string]*structs.CheckQueryResult, error) {
	path, err := idPath("/v1/client/allocation/", "allocation", id)
	if err != nil {
		return nil, err
	}
	out := map[string]*structs.CheckQueryResult{}
	if _, err := a.c.query(path+"/checks", nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}
