package agent

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/orch-io/orch/structs"
)

// The write endpoints of node drain, node eligibility and alloc stop, with
// Nomad's paths and bodies.

// registerDrainRoutes wires them; registerRoutes calls it.
func (s *HTTPServer) registerDrainRoutes() {
	for _, r := range []struct {
		pattern string
		handler func(*http.Request) (any, error)
	}{
		{"PUT /v1/allocation/{id}/stop", s.allocStop},
		{"POST /v1/allocation/{id}/stop", s.allocStop},
		{"PUT /v1/node/{id}/eligibility", s.nodeEligibility},
		{"POST /v1/node/{id}/eligibility", s.nodeEligibility},
		{"PUT /v1/node/{id}/drain", s.nodeDrain},
		{"POST /v1/node/{id}/drain", s.nodeDrain},
	} {
		s.mux.Handle(r.pattern, s.wrap(r.handler))
	}
}

// allocStop is PUT/POST /v1/allocation/:id/stop → Alloc.Stop.
func (s *HTTPServer) allocStop(r *http.Request) (any, error) {
	id, err := pathID(r, "allocation")
	if err != nil {
		return nil, err
	}
	var reply structs.AllocStopResponse
	req := &structs.AllocStopRequest{AllocID: id, WriteRequest: writeRequest(r)}
	if err := s.backend.RPC(r.Context(), "Alloc.Stop", req, &reply); err != nil {
		return nil, err
	}
	return withMeta{body: &reply, meta: structs.QueryMeta{Index: reply.Index, KnownLeader: true}}, nil
}

// nodeEligibilityBody is Nomad's body of POST /v1/node/:id/eligibility.
type nodeEligibilityBody struct {
	NodeID      string
	Eligibility structs.NodeEligibility
}

// nodeEligibility is PUT/POST /v1/node/:id/eligibility → Node.UpdateEligibility.
func (s *HTTPServer) nodeEligibility(r *http.Request) (any, error) {
	id, err := pathID(r, "node")
	if err != nil {
		return nil, err
	}
	var body nodeEligibilityBody
	if err := decodeStrict(r.Body, &body); err != nil {
		return nil, err
	}
	if body.NodeID != "" && body.NodeID != id {
		return nil, badRequest("NodeID %q in the body differs from the node %q in the path", body.NodeID, id)
	}
	var reply structs.NodeDrainUpdateResponse
	req := &structs.NodeUpdateEligibilityRequest{NodeID: id, Eligibility: body.Eligibility, WriteRequest: writeRequest(r)}
	if err := s.backend.RPC(r.Context(), "Node.UpdateEligibility", req, &reply); err != nil {
		return nil, err
	}
	return withMeta{body: &reply, meta: structs.QueryMeta{Index: reply.Index, KnownLeader: true}}, nil
}

// nodeDrainBody is Nomad's body of POST /v1/node/:id/drain: DrainSpec nil
// cancels the drain.
type nodeDrainBody struct {
	NodeID       string
	DrainSpec    *structs.DrainSpec
	MarkEligible bool
	Meta         map[string]string
}

// nodeDrain is PUT/POST /v1/node/:id/drain → Node.UpdateDrain.
func (s *HTTPServer) nodeDrain(r *http.Request) (any, error) {
	id, err := pathID(r, "node")
	if err != nil {
		return nil, err
	}
	var body nodeDrainBody
	if err := decodeStrict(r.Body, &body); err != nil {
		return nil, err
	}
	if body.NodeID != "" && body.NodeID != id {
		return nil, badRequest("NodeID %q in the body differs from the node %q in the path", body.NodeID, id)
	}
	req := &structs.NodeUpdateDrainRequest{NodeID: id, MarkEligible: body.MarkEligible, WriteRequest: writeRequest(r)}
	if body.DrainSpec != nil {
		req.DrainStrategy = &structs.DrainStrategy{DrainSpec: *body.DrainSpec}
	}
	var reply structs.NodeDrainUpdateResponse
	if err := s.backend.RPC(r.Context(), "Node.UpdateDrain", req, &reply); err != nil {
		return nil, err
	}
	return withMeta{body: &reply, meta: structs.QueryMeta{Index: reply.Index, KnownLeader: true}}, nil
}

// decodeStrict decodes a JSON body into v, refusing unknown fields; an empty
// body leaves v as it is.
func decodeStrict(r io.Reader, v any) error {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return badRequest("invalid request body: %v", err)
	}
	return nil
}
