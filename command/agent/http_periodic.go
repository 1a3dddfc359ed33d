package agent

import (
	"net/http"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/structs"
)

// jobPeriodicForce is PUT/POST /v1/job/:id/periodic/force: launch a
// periodic job now (Job.PeriodicForce). Nomad's client sends no body.
func (s *HTTPServer) jobPeriodicForce(r *http.Request) (any, error) {
	id, err := pathID(r, "job")
	if err != nil {
		return nil, err
	}
	var reply structs.JobPeriodicForceResponse
	if err := s.backend.RPC(r.Context(), "Job.PeriodicForce", &structs.JobPeriodicForceRequest{JobID: id, WriteRequest: writeRequest(r)}, &reply); err != nil {
		return nil, err
	}
	body := &api.PeriodicForceResponse{EvalID: reply.EvalID, EvalCreateIndex: reply.EvalCreateIndex, Index: reply.Index}
	return withMeta{body: body, meta: structs.QueryMeta{Index: reply.Index, KnownLeader: true}}, nil
}

// jobDispatch is PUT/POST /v1/job/:id/dispatch with Nomad's
// JobDispatchRequest (the payload base64 in JSON; ?idempotency_token=).
func (s *HTTPServer) jobDispatch(r *http.Request) (any, error) {
	id, err := pathID(r, "job")
	if err != nil {
		return nil, err
	}
	var body api.JobDispatchRequest
	if err := decodeWireBody(r.Body, "dispatch request", &body); err != nil {
		return nil, err
	}
	if body.JobID != "" && body.JobID != id {
		return nil, badRequest("JobID = %q: does not match the job %q in the path", body.JobID, id)
	}
	req := &structs.JobDispatchRequest{JobID: id, Payload: body.Payload, Meta: body.Meta,
		IdempotencyToken: r.URL.Query().Get("idempotency_token"), WriteRequest: writeRequest(r)}
	var reply structs.JobDispatchResponse
	if err := s.backend.RPC(r.Context(), "Job.Dispatch", req, &reply); err != nil {
		return nil, err
	}
	out := &api.JobDispatchResponse{DispatchedJobID: reply.DispatchedJobID, EvalID: reply.EvalID,
		EvalCreateIndex: reply.EvalCreateIndex, JobCreateIndex: reply.JobCreateIndex, Index: reply.Index}
	return withMeta{body: out, meta: structs.QueryMeta{Index: reply.Index, KnownLeader: true}}, nil
}
