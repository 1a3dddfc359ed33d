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
	var out AllocStopResponse
	if err := a.c.write(http.MethodPost, path+"/stop", nil, nil, &out); err != nil {
		return nil, err
	}
	return &structs.AllocStopResponse{EvalID: out.EvalID, Index: out.Index}, nil
}

// ToggleEligibility marks the node eligible or not for new allocations
// (POST /v1/node/:id/eligibility).
func (n *Nodes) ToggleEligibility(id string, eligible bool) (*structs.NodeDrainUpdateResponse, error) {
	path, err := idPath("/v1/node/", "node", id)
	if err != nil {
		return nil, err
	}
	body := &NodeUpdateEligibilityRequest{NodeID: id, Eligibility: string(structs.NodeIneligible)}
	if eligible {
		body.Eligibility = string(structs.NodeEligible)
	}
	return n.drainWrite(path+"/eligibility", body)
}

// UpdateDrain starts (spec not nil) or cancels (nil) the node's drain
// (POST /v1/node/:id/drain); markEligible makes a cancelled drain's node
// eligible again.
func (n *Nodes) UpdateDrain(id string, spec *structs.DrainSpec, markEligible bool) (*structs.NodeDrainUpdateResponse, error) {
	path, err := idPath("/v1/node/", "node", id)
	if err != nil {
		return nil, err
	}
	body := &NodeUpdateDrainRequest{NodeID: id, MarkEligible: markEligible}
	if spec != nil {
		body.DrainSpec = &DrainSpec{Deadline: spec.Deadline, IgnoreSystemJobs: spec.IgnoreSystemJobs}
	}
	return n.drainWrite(path+"/drain", body)
}

func (n *Nodes) drainWrite(path string, body any) (*structs.NodeDrainUpdateResponse, error) {
	var out NodeDrainUpdateResponse
	if err := n.c.write(http.MethodPost, path, nil, body, &out); err != nil {
		return nil, err
	}
	return &structs.NodeDrainUpdateResponse{Index: out.Index}, nil
}
