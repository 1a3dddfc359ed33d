package api

import (
	"net/http"

	"github.com/orch-io/orch/structs"
)

// Deployments is the /v1/deployments and /v1/deployment/... endpoints.
type Deployments struct{ c *Client }

// Deployments returns the deployment endpoints.
func (c *Client) Deployments() *Deployments { return &Deployments{c: c} }

// List returns the deployments; q.Prefix filters by ID prefix.
func (d *Deployments) List(q *QueryOptions) ([]*structs.Deployment, *QueryMeta, error) {
	var wire []*Deployment
	meta, err := d.c.query("/v1/deployments", q, &wire)
	if err != nil {
		return nil, meta, err
	}
	return mapList(wire, DeploymentToStructs), meta, nil
}

// Info returns the deployment with exactly this ID (404 *Error when none).
func (d *Deployments) Info(id string, q *QueryOptions) (*structs.Deployment, *QueryMeta, error) {
	path, err := idPath("/v1/deployment/", "deployment", id)
	if err != nil {
		return nil, nil, err
	}
	var wire Deployment
	meta, err := d.c.query(path, q, &wire)
	if err != nil {
		return nil, nil, err
	}
	return DeploymentToStructs(&wire), meta, nil
}

// Allocations returns the allocations the deployment placed.
func (d *Deployments) Allocations(id string, q *QueryOptions) ([]*structs.AllocListStub, *QueryMeta, error) {
	path, err := idPath("/v1/deployment/allocations/", "deployment", id)
	if err != nil {
		return nil, nil, err
	}
	var wire []*AllocationListStub
	meta, err := d.c.query(path, q, &wire)
	if err != nil {
		return nil, meta, err
	}
	return mapList(wire, AllocStubToStructs), meta, nil
}

// write sends one of the deployment writes (PUT /v1/deployment/<action>/:id).
func (d *Deployments) write(action, id string, body any) (*structs.DeploymentUpdateResponse, error) {
	path, err := idPath("/v1/deployment/"+action+"/", "deployment", id)
	if err != nil {
		return nil, err
	}
	var out DeploymentUpdateResponse
	if err := d.c.write(http.MethodPut, path, nil, body, &out); err != nil {
		return nil, err
	}
	return DeploymentUpdateToStructs(&out), nil
}

// Promote promotes the canaries of groups (all groups when empty).
func (d *Deployments) Promote(id string, groups []string) (*structs.DeploymentUpdateResponse, error) {
	return d.write("promote", id, &DeploymentPromoteRequest{DeploymentID: id, All: len(groups) == 0, Groups: groups})
}

// Fail fails a running deployment.
func (d *Deployments) Fail(id string) (*structs.DeploymentUpdateResponse, error) {
	return d.write("fail", id, &DeploymentFailRequest{DeploymentID: id})
}

// Pause pauses (pause) or resumes a deployment.
func (d *Deployments) Pause(id string, pause bool) (*structs.DeploymentUpdateResponse, error) {
	return d.write("pause", id, &DeploymentPauseRequest{DeploymentID: id, Pause: pause})
}

// SetAllocHealth sets the health of allocations of the deployment by hand.
func (d *Deployments) SetAllocHealth(id string, healthy, unhealthy []string) (*structs.DeploymentUpdateResponse, error) {
	return d.write("allocation-health", id, &DeploymentAllocHealthRequest{DeploymentID: id,
		HealthyAllocationIDs: healthy, UnhealthyAllocationIDs: unhealthy})
}

// Deployments returns the job's deployments, newest first.
func (j *Jobs) Deployments(id string, q *QueryOptions) ([]*structs.Deployment, *QueryMeta, error) {
	path, err := idPath("/v1/job/", "job", id)
	if err != nil {
		return nil, nil, err
	}
	var wire []*Deployment
	meta, err := j.c.query(path+"/deployments", q, &wire)
	if err != nil {
		return nil, meta, err
	}
	return mapList(wire, DeploymentToStructs), meta, nil
}

// LatestDeployment returns the job's newest deployment, nil when it has none.
func (j *Jobs) LatestDeployment(id string, q *QueryOptions) (*structs.Deployment, *QueryMeta, error) {
	path, err := idPath("/v1/job/", "job", id)
	if err != nil {
		return nil, nil, err
	}
	var wire *Deployment
	meta, err := j.c.query(path+"/deployment", q, &wire)
	if err != nil || wire == nil {
		return nil, meta, err
	}
	return DeploymentToStructs(wire), meta, nil
}
