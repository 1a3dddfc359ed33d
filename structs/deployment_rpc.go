package structs

// The "Deployment" RPC methods, and the job methods that read deployments:
//
//	Deployment.List           DeploymentListRequest        → DeploymentListResponse
//	Deployment.GetDeployment  DeploymentSpecificRequest    → SingleDeploymentResponse
//	Deployment.Allocations    DeploymentSpecificRequest    → AllocListResponse
//	Deployment.Promote        DeploymentPromoteRequest     → DeploymentUpdateResponse
//	Deployment.Fail           DeploymentFailRequest        → DeploymentUpdateResponse
//	Deployment.Pause          DeploymentPauseRequest       → DeploymentUpdateResponse
//	Deployment.SetAllocHealth DeploymentAllocHealthRequest → DeploymentUpdateResponse
//	Job.Deployments           JobSpecificRequest           → DeploymentListResponse
//	Job.LatestDeployment      JobSpecificRequest           → SingleDeploymentResponse
//
// The write requests have Nomad's JSON shapes (the HTTP API decodes them
// directly).

// DeploymentListRequest lists deployments (QueryOptions.Prefix filters by ID).
type DeploymentListRequest struct {
	QueryOptions
}

// DeploymentListResponse carries deployments.
type DeploymentListResponse struct {
	Deployments []*Deployment
	QueryMeta
}

// DeploymentSpecificRequest reads one deployment, or its allocations.
type DeploymentSpecificRequest struct {
	DeploymentID string
	QueryOptions
}

// SingleDeploymentResponse carries one deployment, nil when not found.
type SingleDeploymentResponse struct {
	Deployment *Deployment
	QueryMeta
}

// DeploymentPromoteRequest promotes the canaries of a deployment: of every
// group with All, else of Groups.
type DeploymentPromoteRequest struct {
	DeploymentID string
	All          bool
	Groups       []string
	WriteRequest
}

// DeploymentFailRequest fails a running deployment (with auto_revert, the
// job goes back to its latest stable version).
type DeploymentFailRequest struct {
	DeploymentID string
	WriteRequest
}

// DeploymentPauseRequest pauses (Pause) or resumes a deployment.
type DeploymentPauseRequest struct {
	DeploymentID string
	Pause        bool
	WriteRequest
}

// DeploymentAllocHealthRequest sets the health of allocations of a
// deployment by hand (health_check "manual").
type DeploymentAllocHealthRequest struct {
	DeploymentID           string
	HealthyAllocationIDs   []string
	UnhealthyAllocationIDs []string
	WriteRequest
}

// DeploymentUpdateResponse answers a deployment write: the evaluation it
// created (if any) and, when the job was reverted, to which version.
type DeploymentUpdateResponse struct {
	EvalID                string
	EvalCreateIndex       uint64
	DeploymentModifyIndex uint64
	RevertedJobVersion    *uint64
	WriteMeta
}
