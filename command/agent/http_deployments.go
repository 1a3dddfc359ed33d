package agent

import (
	"net/http"

	"github.com/orch-io/orch/api"
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

// deploymentBody decodes the body of a deployment write (PUT/POST
// /v1/deployment/<action>/:id) strictly into body, a wire type whose
// DeploymentID is bodyID: when set, it must match the path. It returns the
// path's deployment ID.
func deploymentBody(r *http.Request, what string, body any, bodyID *string) (string, error) {
	id, err := pathID(r, "deployment")
	if err != nil {
		return "", err
	}
	if err := decodeWireBody(r.Body, what, body); err != nil {
		return "", err
	}
	if *bodyID != "" && *bodyID != id {
		return "", badRequest("DeploymentID %q in the body does not match %q in the path", *bodyID, id)
	}
	return id, nil
}

// deploymentWrite sends a deployment write to method and answers its
// DeploymentUpdateResponse.
func (s *HTTPServer) deploymentWrite(r *http.Request, method string, req any) (any, error) {
	var reply structs.DeploymentUpdateResponse
	if err := s.backend.RPC(r.Context(), method, req, &reply); err != nil {
		return nil, err
	}
	return withMeta{body: &reply, meta: structs.QueryMeta{Index: reply.Index, KnownLeader: true}}, nil
}

// deploymentPromote is PUT/POST /v1/deployment/promote/:id, body
// {"All": true} or {"Groups": ["web"]}.
func (s *HTTPServer) deploymentPromote(r *http.Request) (any, error) {
	var body api.DeploymentPromoteRequest
	id, err := deploymentBody(r, "deployment promotion", &body, &body.DeploymentID)
	if err != nil {
		return nil, err
	}
	return s.deploymentWrite(r, "Deployment.Promote", &structs.DeploymentPromoteRequest{DeploymentID: id,
		All: body.All, Groups: body.Groups, WriteRequest: writeRequest(r)})
}

// deploymentFail is PUT/POST /v1/deployment/fail/:id.
func (s *HTTPServer) deploymentFail(r *http.Request) (any, error) {
	var body api.DeploymentFailRequest
	id, err := deploymentBody(r, "deployment failure", &body, &body.DeploymentID)
	if err != nil {
		return nil, err
	}
	return s.deploymentWrite(r, "Deployment.Fail", &structs.DeploymentFailRequest{DeploymentID: id, WriteRequest: writeRequest(r)})
}

// deploymentPause is PUT/POST /v1/deployment/pause/:id, body {"Pause": true|false}.
func (s *HTTPServer) deploymentPause(r *http.Request) (any, error) {
	var body api.DeploymentPauseRequest
	id, err := deploymentBody(r, "deployment pause", &body, &body.DeploymentID)
	if err != nil {
		return nil, err
	}
	return s.deploymentWrite(r, "Deployment.Pause", &structs.DeploymentPauseRequest{DeploymentID: id,
		Pause: body.Pause, WriteRequest: writeRequest(r)})
}

// deploymentAllocHealth is PUT/POST /v1/deployment/allocation-health/:id,
// body {"HealthyAllocationIDs": [...], "UnhealthyAllocationIDs": [...]}.
func (s *HTTPServer) deploymentAllocHealth(r *http.Request) (any, error) {
	var body api.DeploymentAllocHealthRequest
	id, err := deploymentBody(r, "allocation health", &body, &body.DeploymentID)
	if err != nil {
		return nil, err
	}
	return s.deploymentWrite(r, "Deployment.SetAllocHealth", &structs.DeploymentAllocHealthRequest{DeploymentID: id,
		HealthyAllocationIDs: body.HealthyAllocationIDs, UnhealthyAllocationIDs: body.UnhealthyAllocationIDs, WriteRequest: writeRequest(r)})
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
