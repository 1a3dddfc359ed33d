package api

import "github.com/orch-io/orch/structs"

// Checks returns the latest result of each check of an allocation, keyed by
// check ID (GET /v1/client/allocation/:id/checks), from the client that
// runs the allocation; 404 for an allocation that does not exist. Nomad's shape
// carries no check type, on_update or HealthySince: they are left zero.
func (a *Allocations) Checks(id string) (map[string]*structs.CheckQueryResult, error) {
	path, err := idPath("/v1/client/allocation/", "allocation", id)
	if err != nil {
		return nil, err
	}
	var out map[string]*AllocCheckStatus
	if _, err := a.c.query(path+"/checks", nil, &out); err != nil {
		return nil, err
	}
	return ChecksToStructs(out), nil
}
