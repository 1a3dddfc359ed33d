package api

import (
	"time"

	"github.com/orch-io/orch/structs"
)

// The deployment and job-version endpoints on the wire (Nomad's Deployment,
// DeploymentState, the deployment write requests and DeploymentUpdateResponse,
// JobVersionsResponse, JobRevertRequest and JobStability*).

// Deployment is a rollout of one version of a job. JobModifyIndex and
// JobSpecModifyIndex both carry the JobModifyIndex of the version deployed
// (orch tracks no separate job ModifyIndex for it); orch has no multi-region
// deployments, so IsMultiregion is always false.
type Deployment struct {
	ID                 string
	Namespace          string
	JobID              string
	JobVersion         uint64
	JobModifyIndex     uint64
	JobSpecModifyIndex uint64
	JobCreateIndex     uint64
	IsMultiregion      bool
	TaskGroups         map[string]*DeploymentState
	Status             string
	StatusDescription  string
	CreateIndex        uint64
	ModifyIndex        uint64
	CreateTime         int64 // unix nanoseconds
	ModifyTime         int64
}

// DeploymentState is one group's part of a deployment. AutoPromote is a
// field of Nomad's server type that its client type lacks (Nomad's server
// sends it too).
type DeploymentState struct {
	PlacedCanaries    []string
	AutoRevert        bool
	AutoPromote       bool
	ProgressDeadline  time.Duration
	RequireProgressBy time.Time
	Promoted          bool
	DesiredCanaries   int
	DesiredTotal      int
	PlacedAllocs      int
	HealthyAllocs     int
	UnhealthyAllocs   int
}

// WriteRequest is what Nomad's client puts in the body of every write whose
// request type embeds its WriteRequest. orch reads the region, namespace and
// token from the query and headers, as Nomad's server does; the body's copies
// are accepted and ignored.
type WriteRequest struct {
	Region    string `json:",omitempty"`
	Namespace string `json:",omitempty"`
	SecretID  string `json:",omitempty"`
}

// DeploymentPromoteRequest is the body of PUT/POST /v1/deployment/promote/:id:
// All promotes the canaries of every group, else Groups names them.
// PromotedAt is stamped by the servers, never by the caller.
type DeploymentPromoteRequest struct {
	DeploymentID string
	All          bool
	Groups       []string
	PromotedAt   Unsupported
	WriteRequest
}

// DeploymentFailRequest is the body of PUT/POST /v1/deployment/fail/:id.
type DeploymentFailRequest struct {
	DeploymentID string
	WriteRequest
}

// DeploymentPauseRequest is the body of PUT/POST /v1/deployment/pause/:id.
type DeploymentPauseRequest struct {
	DeploymentID string
	Pause        bool
	WriteRequest
}

// DeploymentAllocHealthRequest is the body of PUT/POST
// /v1/deployment/allocation-health/:id.
type DeploymentAllocHealthRequest struct {
	DeploymentID           string
	HealthyAllocationIDs   []string
	UnhealthyAllocationIDs []string
	WriteRequest
}

// DeploymentUpdateResponse answers a deployment write: the evaluation it
// created, if any, and the job version it reverted to, if it did.
type DeploymentUpdateResponse struct {
	EvalID                string
	EvalCreateIndex       uint64
	DeploymentModifyIndex uint64
	RevertedJobVersion    *uint64
	Index                 uint64
}

// JobVersionsResponse answers GET /v1/job/:id/versions, newest first. The
// diff types are Nomad's shape already.
type JobVersionsResponse struct {
	Versions []*Job
	Diffs    []*structs.JobDiff
}

// JobRevertRequest is the body of PUT/POST /v1/job/:id/revert.
type JobRevertRequest struct {
	JobID               string
	JobVersion          uint64
	EnforcePriorVersion *uint64
	WriteRequest
}

// JobStabilityRequest is the body of PUT/POST /v1/job/:id/stable.
type JobStabilityRequest struct {
	JobID      string
	JobVersion uint64
	Stable     bool
	WriteRequest
}

// JobStabilityResponse answers a JobStabilityRequest; JobModifyIndex is the
// write's index (the job's versions change, not its spec).
type JobStabilityResponse struct {
	JobModifyIndex uint64
	Index          uint64
}
