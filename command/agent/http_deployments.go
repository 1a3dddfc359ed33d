package agent

import (
	"net/http"

	"github.com/orch-io/orch/structs"
)

// The deployment endpoints, with Nomad's paths and JSON shapes.

// deploymentList is GET /v1/deployments[?prefix=] → Deployment.List.
func (s *HTTPServer) deploymentList(r *http.Request) (any, error) {
	q, err := parseQueryOptions(r)
	if err != nil {
		return nil, err
	}
	var reply structs.DeploymentListResponse
	if err := s.backend.RPC(r.Context(), "Deployment.List", &structs.DeploymentListRequest{QueryOptions: q}, &reply); err != nil {
		return nil, err
	}
	return withMeta{body: nonNil(reply.Deployments), meta: reply.QueryMeta}, nil
}

// deploymentGet is GET /v1/deployment/:id → Deployment.GetDeployment.
func (s *HTTPServer) deploymentGet(r *http.Request) (any, error) {
	id, q, err := idAndQuery(r, "deployment")
	if err != nil {
		return nil, err
	}
	var reply structs.SingleDeploymentResponse
	if err := s.backend.RPC(r.Context(), "Deployment.GetDeployment", &structs.DeploymentSpecificRequest{DeploymentID: id, QueryOptions: q}, &reply); err != nil {
		return nil, err
	}
	if reply.Deployment == nil {
		return nil, notFound("deployment %q not found", id)
	}
	return withMeta{body: reply.Deployment, meta: reply.QueryMeta}, nil
}

// deploymentAllocations is GET /v1/deployment/allocations/:id → Deployment.Allocations.
func (s *HTTPServer) deploymentAllocations(r *http.Request) (any, error) {
	id, q, err := idAndQuery(r, "deployment")
	if err != nil {
		return nil, err
	}
	var reply structs.AllocListResponse
	if err := s.backend.RPC(r.Context(), "Deployment.Allocations", &structs.DeploymentSpecificRequest{DeploymentID: id, QueryOptions: q}, &reply); err != nil {
		return nil, err
	}
	return withMeta{body: nonNil(reply.Allocations), meta: reply.QueryMeta}, nil
}

// deploymentWrite is the shape of the deployment writes: PUT/POST
// /v1/deployment/<action>/:id with a Nomad body whose DeploymentID, if set,
// must match the path.
func deploymentWrite[T any](s *HTTPServer, r *http.Request, method string, req *T, id *string, wr *structs.WriteRequest) (any, error) {
	pathID, err := pathID(r, "deployment")
	if err != nil {
		return nil, err
	}
	if r.ContentLength != 0 {
		if err := decodeSmallBody(r, req, method); err != nil {
			return nil, err
		}
	}
	if *id != "" && *id != pathID {
		return nil, badRequest("DeploymentID %q in the body does not match %q in the path", *id, pathID)
	}
	*id, *wr = pathID, writeRequest(r)
	var reply structs.DeploymentUpdateResponse
	if err := s.backend.RPC(r.Context(), method, req, &reply); err != nil {
		return nil, err
	}
	return withMeta{body: &reply, meta: structs.QueryMeta{Index: reply.Index, KnownLeader: true}}, nil
}

// deploymentPromote is PUT/POST /v1/deployment/promote/:id, body
// {"All": true} or {"Groups": ["web"]}.
func (s *HTTPServer) deploymentPromote(r *http.Request) (any, error) {
	var req structs.DeploymentPromoteRequest
	return deploymentWrite(s, r, "Deployment.Promote", &req, &req.DeploymentID, &req.WriteRequest)
}

// deploymentFail is PUT/POST /v1/deployment/fail/:id.
func (s *HTTPServer) deploymentFail(r *http.Request) (any, error) {
	var req structs.DeploymentFailRequest
	return deploymentWrite(s, r, "Deployment.Fail", &req, &req.DeploymentID, &req.WriteRequest)
}

// deploymentPause is PUT/POST /v1/deployment/pause/:id, body {"Pause": true|false}.
func (s *HTTPServer) deploymentPause(r *http.Request) (any, error) {
	var req structs.DeploymentPauseRequest
	return deploymentWrite(s, r, "Deployment.Pause", &req, &req.DeploymentID, &req.WriteRequest)
}

// deploymentAllocHealth is PUT/POST /v1/deployment/allocation-health/:id,
// body {"HealthyAllocationIDs": [...], "UnhealthyAllocationIDs": [...]}.
func (s *HTTPServer) deploymentAllocHealth(r *http.Request) (any, error) {
	var req structs.DeploymentAllocHealthRequest
	return deploymentWrite(s, r, "Deployment.SetAllocHealth", &req, &req.DeploymentID, &req.WriteRequest)
}

// jobDeployments is GET /v1/job/:id/deployments → Job.Deployments.
func (s *HTTPServer) jobDeployments(r *http.Request) (any, error) {
	id, q, err := idAndQuery(r, "job")
	if err != nil {
		return nil, err
	}
	var reply structs.DeploymentListResponse
	if err := s.backend.RPC(r.Context(), "Job.Deployments", &structs.JobSpecificRequest{JobID: id, QueryOptions: q}, &reply); err != nil {
		return nil, err
	}
	return withMeta{body: nonNil(reply.Deployments), meta: reply.QueryMeta}, nil
}

// jobLatestDeployment is GET /v1/job/:id/deployment → Job.LatestDeployment:
// the newest deployment, null when the job has none (as in Nomad).
func (s *HTTPServer) jobLatestDeployment(r *http.Request) (any, error) {
	id, q, err := idAndQuery(r, "job")
	if err != nil {
		return nil, err
	}
	var reply structs.SingleDeploymentResponse
	if err := s.backend.RPC(r.Context(), "Job.LatestDeployment", &structs.JobSpecificRequest{JobID: id, QueryOptions: q}, &reply); err != nil {
		return nil, err
	}
	return withMeta{body: reply.Deployment, meta: reply.QueryMeta}, nil
}
