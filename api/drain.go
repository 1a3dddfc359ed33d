package api

import (
	"net/http"

	"github.com/orch-io/orch/structs"
)

// Stop stops the allocation and has the scheduler replace it
// (POST /v1/allocation/:id/stop). It returns the evaluation that does.
func (a *Allocations) Stop(id string) (*structs.AllocStopResponse, error) {
	path, err := idPath("/v1/allocation/", "allocation", id)
	if err != nil {
		return nil, err
	}
	var out structs.AllocStopResponse
	if err := a.c.write(http.MethodPost, path+"/stop", nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ToggleEligibility marks the node eligible or not for new allocations
// (POST /v1/node/:id/eligibility).
func (n *Nodes) ToggleEligibility(id string, eligible bool) (*structs.NodeDrainUpdateResponse, error) {
	path, err := idPath("/v1/node/", "node", id)
	if err != nil {
		return nil, err
	}
	body := map[string]any{"NodeID": id, "Eligibility": structs.NodeIneligible}
	if eligible {
		body["Eligibility"] = structs.NodeEligible
	}
	var out structs.NodeDrainUpdateResponse
	if err := n.c.write(http.MethodPost, path+"/eligibility", nil, body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateDrain starts (spec not nil) or cancels (nil) the node's drain
// (POST /v1/node/:id/drain); markEligible makes a cancelled drain's node
// eligible again.
func (n *Nodes) UpdateDrain(id string, spec *structs.DrainSpec, markEligible bool) (*structs.NodeDrainUpdateResponse, error) {
	path, err := idPath("/v1/node/", "node", id)
	if err != nil {
		return nil, err
	}
	body := map[string]any{"NodeID": id, "DrainSpec": spec, "MarkEligible": markEligible}
	var out structs.NodeDrainUpdateResponse
	if err := n.c.write(http.MethodPost, path+"/drain", nil, body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
