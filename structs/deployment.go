package structs

import (
	"maps"
	"slices"
	"time"
)

// A deployment tracks the rollout of one version of a job whose groups have
// an update block with max_parallel > 0: the scheduler creates it with the
// first plan of the version and places allocations in batches against it;
// clients report each allocation's health; the leader's deployment watcher
// promotes canaries, fails it, or marks it successful. A deployment always
// ends: successful, failed (StatusDescription says why) or cancelled.

// DeploymentStatus is where a deployment is in its life.
type DeploymentStatus string

const (
	DeploymentStatusRunning    DeploymentStatus = "running"
	DeploymentStatusPaused     DeploymentStatus = "paused"
	DeploymentStatusFailed     DeploymentStatus = "failed"
	DeploymentStatusSuccessful DeploymentStatus = "successful"
	DeploymentStatusCancelled  DeploymentStatus = "cancelled"
)

// Descriptions of deployment statuses, as Nomad words them.
const (
	DeploymentDescRunning               = "Deployment is running"
	DeploymentDescRunningNeedsPromotion = "Deployment is running but requires manual promotion"
	DeploymentDescRunningAutoPromotion  = "Deployment is running pending automatic promotion"
	DeploymentDescPaused                = "Deployment is paused"
	DeploymentDescSuccessful            = "Deployment completed successfully"
	DeploymentDescStoppedJob            = "Cancelled because job is stopped"
	DeploymentDescNewerJob              = "Cancelled due to newer version of job"
	DeploymentDescFailedAllocations     = "Failed due to unhealthy allocations"
	DeploymentDescProgressDeadline      = "Failed due to progress deadline"
	DeploymentDescFailedByUser          = "Deployment marked as failed"
)

// Active reports whether a deployment with status s may still change.
func (s DeploymentStatus) Active() bool {
	return s == DeploymentStatusRunning || s == DeploymentStatusPaused
}

// Deployment is the rollout of one version of a job.
type Deployment struct {
	ID        string
	Namespace string
	JobID     string
	// JobVersion, JobModifyIndex and JobCreateIndex name the version deployed.
	JobVersion     uint64
	JobModifyIndex uint64
	JobCreateIndex uint64
	// TaskGroups holds the state of each group with an update block.
	TaskGroups        map[string]*DeploymentState
	Status            DeploymentStatus
	StatusDescription string

	CreateIndex uint64
	ModifyIndex uint64
	CreateTime  int64 // unix nanoseconds
	ModifyTime  int64
}

// DeploymentState is one group's part of a deployment. The counters are
// derived by the state store from the allocations of the deployment
// (state/deployments.go), never set by hand.
type DeploymentState struct {
	AutoRevert       bool
	AutoPromote      bool
	ProgressDeadline time.Duration
	// RequireProgressBy is when the deployment fails unless an allocation
	// becomes healthy first (zero without a progress deadline).
	RequireProgressBy time.Time
	// Promoted is set once the group's canaries were promoted.
	Promoted bool
	// PlacedCanaries lists the canary allocations placed.
	PlacedCanaries  []string
	DesiredCanaries int
	DesiredTotal    int
	PlacedAllocs    int
	HealthyAllocs   int
	UnhealthyAllocs int
}

// Copy returns a deep copy of the deployment.
func (d *Deployment) Copy() *Deployment {
	if d == nil {
		return nil
	}
	c := *d
	c.TaskGroups = make(map[string]*DeploymentState, len(d.TaskGroups))
	for name, s := range d.TaskGroups {
		sc := *s
		sc.PlacedCanaries = slices.Clone(s.PlacedCanaries)
		c.TaskGroups[name] = &sc
	}
	return &c
}

// Active reports whether the deployment may still change.
func (d *Deployment) Active() bool { return d != nil && d.Status.Active() }

// RequiresPromotion reports whether some group has canaries not promoted yet.
func (d *Deployment) RequiresPromotion() bool {
	for _, s := range d.TaskGroups {
		if s.DesiredCanaries > 0 && !s.Promoted {
			return true
		}
	}
	return false
}

// GroupNames returns the deployment's groups, sorted.
func (d *Deployment) GroupNames() []string { return slices.Sorted(maps.Keys(d.TaskGroups)) }

// NewDeployment returns a running deployment of job's current version, with
// a state for each group that has a rolling update block. now stamps it.
func NewDeployment(id string, job *Job, now time.Time) *Deployment {
	d := &Deployment{
		ID: id, Namespace: job.Namespace, JobID: job.ID,
		JobVersion: job.Version, JobModifyIndex: job.JobModifyIndex, JobCreateIndex: job.CreateIndex,
		TaskGroups: map[string]*DeploymentState{},
		Status:     DeploymentStatusRunning, StatusDescription: DeploymentDescRunning,
		CreateTime: now.UnixNano(), ModifyTime: now.UnixNano(),
	}
	for _, tg := range job.TaskGroups {
		if u := tg.Update; u.Rolling() {
			s := &DeploymentState{AutoRevert: u.AutoRevert, AutoPromote: u.AutoPromote,
				ProgressDeadline: u.ProgressDeadline, DesiredTotal: tg.Count}
			if u.ProgressDeadline > 0 {
				s.RequireProgressBy = now.Add(u.ProgressDeadline)
			}
			d.TaskGroups[tg.Name] = s
		}
	}
	return d
}

// DeploymentStatusUpdate changes the status of a deployment.
type DeploymentStatusUpdate struct {
	DeploymentID      string
	Status            DeploymentStatus
	StatusDescription string
}
