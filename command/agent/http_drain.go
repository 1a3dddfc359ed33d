package agent

import (
	"bytes"
	"io"
	"net/http"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/jobspec"
	"github.com/orch-io/orch/structs"
)

// The write endpoints of node drain, node eligibility and alloc stop, with
// Nomad's paths and bodies (api/wire_drain.go).

// registerDrainRoutes wires them; registerRoutes calls it.
func (s *HTTPServer) registerDrainRoutes() {
	for _, m := range []string{"PUT", "POST"} {
		s.mux.Handle(m+" /v1/allocation/{id}/stop", s.wrap(s.allocStop))
		s.mux.Handle(m+" /v1/node/{id}/eligibility", s.wrap(s.nodeEligibility))
		s.mux.Handle(m+" /v1/node/{id}/drain", s.wrap(s.nodeDrain))
	}
}

// allocStop is PUT/POST /v1/allocation/:id/stop → Alloc.Stop. Nomad's client
// sends no body.
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

// nodeEligibility is PUT/POST /v1/node/:id/eligibility → Node.UpdateEligibility.
func (s *HTTPServer) nodeEligibility(r *http.Request) (any, error) {
	id, err := pathID(r, "node")
	if err != nil {
		return nil, err
	}
	var body api.NodeUpdateEligibilityRequest
	if err := decodeWireBody(r.Body, "eligibility update", &body); err != nil {
		return nil, err
	}
	if err := sameNode(body.NodeID, id); err != nil {
		return nil, err
	}
	var reply structs.NodeDrainUpdateResponse
	req := &structs.NodeUpdateEligibilityRequest{NodeID: id, Eligibility: structs.NodeEligibility(body.Eligibility), WriteRequest: writeRequest(r)}
	if err := s.backend.RPC(r.Context(), "Node.UpdateEligibility", req, &reply); err != nil {
		return nil, err
	}
	return withMeta{body: &reply, meta: structs.QueryMeta{Index: reply.Index, KnownLeader: true}}, nil
}

// nodeDrain is PUT/POST /v1/node/:id/drain → Node.UpdateDrain.
func (s *HTTPServer) nodeDrain(r *http.Request) (any, error) {
	id, err := pathID(r, "node")
	if err != nil {
		return nil, err
	}
	var body api.NodeUpdateDrainRequest
	if err := decodeWireBody(r.Body, "drain update", &body); err != nil {
		return nil, err
	}
	if err := sameNode(body.NodeID, id); err != nil {
		return nil, err
	}
	req := &structs.NodeUpdateDrainRequest{NodeID: id, MarkEligible: body.MarkEligible, Meta: body.Meta, WriteRequest: writeRequest(r)}
	if spec := body.DrainSpec; spec != nil {
		req.DrainStrategy = &structs.DrainStrategy{DrainSpec: structs.DrainSpec{Deadline: spec.Deadline, IgnoreSystemJobs: spec.IgnoreSystemJobs}}
	}
	var reply structs.NodeDrainUpdateResponse
	if err := s.backend.RPC(r.Context(), "Node.UpdateDrain", req, &reply); err != nil {
		return nil, err
	}
	return withMeta{body: &reply, meta: structs.QueryMeta{Index: reply.Index, KnownLeader: true}}, nil
}

// sameNode refuses a body that names another node than the path.
func sameNode(inBody, inPath string) error {
	if inBody != "" && inBody != inPath {
		return badRequest("NodeID %q in the body differs from the node %q in the path", inBody, inPath)
	}
	return nil
}

// maxWireBody bounds the body of a small write (an operator setting, a
// drain or eligibility update).
const maxWireBody = 1 << 20

// decodeWireBody decodes a small JSON request body into v, a pointer to a
// wire type of the api package, strictly (jobspec.DecodeJSON: an unknown
// field is an error naming its path) and refuses a set field orch does not
// act on (api.CheckSupported) by name. what names the body in errors.
func decodeWireBody(r io.Reader, what string, v any) error {
	data, err := io.ReadAll(io.LimitReader(r, maxWireBody+1))
	switch {
	case err != nil:
		return badRequest("reading the %s body: %v", what, err)
	case len(data) > maxWireBody:
		return badRequest("%s body larger than %d bytes", what, maxWireBody)
	case len(bytes.TrimSpace(data)) == 0:
		return badRequest("empty request body: expected the %s as JSON", what)
	}
	if err := jobspec.DecodeJSON(data, v); err != nil {
		return badRequest("invalid %s JSON: %v", what, err)
	}
	if err := api.CheckSupported("", v); err != nil {
		return badRequest("invalid %s: %v", what, err)
	}
	return nil
}
