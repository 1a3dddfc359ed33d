package agent

import (
	"net/http"
	"strconv"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/structs"
)

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
	var body api.JobRevertRequest
	if err := decodeJobIDBody(r, id, "job revert", &body, &body.JobID); err != nil {
		return nil, err
	}
	req := &structs.JobRevertRequest{JobID: id, JobVersion: body.JobVersion, EnforcePriorVersion: body.EnforcePriorVersion,
		WriteRequest: writeRequest(r)}
	var reply structs.JobRegisterResponse
	if err := s.backend.RPC(r.Context(), "Job.Revert", req, &reply); err != nil {
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
	var body api.JobStabilityRequest
	if err := decodeJobIDBody(r, id, "job stability", &body, &body.JobID); err != nil {
		return nil, err
	}
	req := &structs.JobStabilityRequest{JobID: id, JobVersion: body.JobVersion, Stable: body.Stable, WriteRequest: writeRequest(r)}
	var reply structs.JobStabilityResponse
	if err := s.backend.RPC(r.Context(), "Job.Stable", req, &reply); err != nil {
		return nil, err
	}
	return withMeta{body: &reply, meta: structs.QueryMeta{Index: reply.Index, KnownLeader: true}}, nil
}

// decodeJobIDBody decodes the body of a write on one job strictly into body,
// a wire type whose JobID is bodyID: when set, it must match id, the path's.
func decodeJobIDBody(r *http.Request, id, what string, body any, bodyID *string) error {
	if err := decodeWireBody(r.Body, what, body); err != nil {
		return err
	}
	if *bodyID != "" && *bodyID != id {
		return badRequest("JobID %q in the body does not match %q in the path", *bodyID, id)
	}
	return nil
}
