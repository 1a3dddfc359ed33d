package api

// The bodies of the drain, eligibility and alloc stop endpoints on the wire
// (Nomad's NodeUpdateDrainRequest, NodeUpdateEligibilityRequest and their
// answers, AllocStopResponse).

// NodeUpdateDrainRequest is the body of PUT/POST /v1/node/:id/drain: a
// DrainSpec starts or updates the drain, null cancels it (MarkEligible then
// makes the node eligible again). Meta is recorded in the node's LastDrain.
type NodeUpdateDrainRequest struct {
	NodeID       string
	DrainSpec    *DrainSpec
	MarkEligible bool
	Meta         map[string]string
}

// NodeUpdateEligibilityRequest is the body of PUT/POST
// /v1/node/:id/eligibility; Eligibility is "eligible" or "ineligible".
type NodeUpdateEligibilityRequest struct {
	NodeID      string
	Eligibility string
}

// NodeDrainUpdateResponse answers a drain or an eligibility update (Nomad's
// NodeDrainUpdateResponse and NodeEligibilityUpdateResponse, the same
// shape). NodeModifyIndex is the write's index; orch creates no evaluation
// with the write itself (the drainer's follow), so EvalIDs is null.
type NodeDrainUpdateResponse struct {
	NodeModifyIndex uint64
	EvalIDs         []string
	EvalCreateIndex uint64
	Index           uint64
}

// AllocStopResponse answers PUT/POST /v1/allocation/:id/stop: the
// evaluation that replaces the allocation.
type AllocStopResponse struct {
	EvalID string
	Index  uint64
}
