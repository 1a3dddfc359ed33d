package agent

import (
	"net/http"

	"github.com/orch-io/orch/structs"
)

// checksBackend is what answers the client endpoints of checks: the agent's
// client half (backend, when the agent runs one).
type checksBackend interface {
	// AllocChecks returns the check results of an allocation the agent's
	// client runs; ok is false when it does not run it (or the agent has
	// no client).
	AllocChecks(allocID string) (results []*structs.CheckQueryResult, ok bool)
}

// AllocChecks answers from the agent's client.
func (b backend) AllocChecks(allocID string) ([]*structs.CheckQueryResult, bool) {
	if b.a.client == nil || !b.a.client.HasAlloc(allocID) {
		return nil, false
	}
	return b.a.client.AllocChecks(allocID), true
}

// allocChecks is GET /v1/client/allocation/:id/checks: the latest result
// of each check of the allocation, keyed by check ID, as Nomad answers it.
// Only the agent whose client runs the allocation knows them.
// TODO(#12): forward to the node that runs the allocation through the
// servers, as the log and fs endpoints do.
func (s *HTTPServer) allocChecks(r *http.Request) (any, error) {
	id, err := pathID(r, "allocation")
	if err != nil {
		return nil, err
	}
	cb, ok := s.backend.(checksBackend)
	if !ok {
		return nil, notFound("allocation %q: this agent runs no client", id)
	}
	results, ok := cb.AllocChecks(id)
	if !ok {
		return nil, notFound("allocation %q is not run by this agent's client; ask the agent of its node", id)
	}
	out := make(map[string]*structs.CheckQueryResult, len(results))
	for _, res := range results {
		out[res.ID] = res
	}
	return out, nil
}
