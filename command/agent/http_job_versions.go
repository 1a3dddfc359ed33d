package agent

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"

	"github.com/orch-io/orch/structs"
)

// decodeSmallBody decodes a small JSON request body (a revert, a promotion,
// ...) into v, naming what it expected in the error.
func decodeSmallBody(r *http.Request, v any, what string) error {
	data, err := io.ReadAll(io.LimitReader(r.Body, maxWireBody+1))
	if err != nil {
		return badRequest("reading the body: %v", err)
	}
	if len(data) > maxWireBody {
		return badRequest("body larger than %d bytes", maxWireBody)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return badRequest("invalid %s JSON: %v", what, err)
	}
	return nil
}

// jobVersions is GET /v1/job/:id/versions[?diffs=true] → Job.GetJobVersions:
// {"Versions": [...], "Diffs": [...]} as in Nomad, newest first.
func (s *HTTPServer) jobVersions(r *http.Request) (any, error) {
	id, q, err := idAndQuery(r, "job")
	if err != nil {
		return nil, err
	}
	diffs := false
	if v := r.URL.Query().Get("diffs"); v != "" {
		if diffs, err = strconv.ParseBool(v); err != nil {
			return nil, badRequest("invalid diffs %q: must be true or false", v)
		}
	}
	var reply structs.JobVersionsResponse
	if err := s.backend.RPC(r.Context(), "Job.GetJobVersions", &structs.JobVersionsRequest{JobID: id, Diffs: diffs, QueryOptions: q}, &reply); err != nil {
		return nil, err
	}
	if len(reply.Versions) == 0 {
		return nil, notFound("job %q not found", id)
	}
	return withMeta{body: &reply, meta: reply.QueryMeta}, nil
}

// jobRevert is PUT/POST /v1/job/:id/revert → Job.Revert, with Nomad's body
// {"JobID": "web", "JobVersion": 2, "EnforcePriorVersion": 3}.
func (s *HTTPServer) jobRevert(r *http.Request) (any, error) {
	id, err := pathID(r, "job")
	if err != nil {
		return nil, err
	}
	var req structs.JobRevertRequest
	if err := decodeSmallBody(r, &req, "job revert"); err != nil {
		return nil, err
	}
	if req.JobID != "" && req.JobID != id {
		return nil, badRequest("JobID %q in the body does not match %q in the path", req.JobID, id)
	}
	req.JobID, req.WriteRequest = id, writeRequest(r)
	var reply structs.JobRegisterResponse
	if err := s.backend.RPC(r.Context(), "Job.Revert", &req, &reply); err != nil {
		return nil, err
	}
	return withMeta{body: &reply, meta: structs.QueryMeta{Index: reply.Index, KnownLeader: true}}, nil
}

// jobStable is PUT/POST /v1/job/:id/stable → Job.Stable, with Nomad's body
// {"JobID": "web", "JobVersion": 2, "Stable": true}.
func (s *HTTPServer) jobStable(r *http.Request) (any, error) {
	id, err := pathID(r, "job")
	if err != nil {
		return nil, err
	}
	var req structs.JobStabilityRequest
	if err := decodeSmallBody(r, &req, "job stability"); err != nil {
		return nil, err
	}
	if req.JobID != "" && req.JobID != id {
		return nil, badRequest("JobID %q in the body does not match %q in the path", req.JobID, id)
	}
	req.JobID, req.WriteRequest = id, writeRequest(r)
	var reply structs.JobStabilityResponse
	if err := s.backend.RPC(r.Context(), "Job.Stable", &req, &reply); err != nil {
		return nil, err
	}
	return withMeta{body: &reply, meta: structs.QueryMeta{Index: reply.Index, KnownLeader: true}}, nil
}
