package structs

import "time"

// AllocDeploymentStatus is an allocation's health as its client reports it
// (Nomad's field; client/allocrunner tracks it for allocations of a
// deployment and for migrating ones), and whether it is a canary of its
// deployment.
type AllocDeploymentStatus struct {
	// Healthy is nil until the client decided.
	Healthy *bool
	// Timestamp is when the health was decided.
	Timestamp time.Time
	// Canary is set on a canary allocation, until its promotion.
	Canary      bool
	ModifyIndex uint64
}

// Copy returns a deep copy of the status.
func (d *AllocDeploymentStatus) Copy() *AllocDeploymentStatus {
	if d == nil {
		return nil
	}
	c := *d
	if d.Healthy != nil {
		h := *d.Healthy
		c.Healthy = &h
	}
	return &c
}

// IsHealthy reports whether the health is known and healthy.
func (d *AllocDeploymentStatus) IsHealthy() bool { return d != nil && d.Healthy != nil && *d.Healthy }

// IsUnhealthy reports whether the health is known and unhealthy.
func (d *AllocDeploymentStatus) IsUnhealthy() bool {
	return d != nil && d.Healthy != nil && !*d.Healthy
}

// IsCanary reports whether the allocation is a canary.
func (d *AllocDeploymentStatus) IsCanary() bool { return d != nil && d.Canary }

// HealthyByTaskStates is the servers' stand-in for client-reported health,
// to be replaced by DeploymentStatus.Healthy once clients report it
// (TODO(#8)): the allocation is healthy at now when it runs and every task
// has been running for at least minHealthy (tasks with a lifecycle hook
// that are not sidecars run to completion: they do not count). It also
// returns when that will be (or was) the case, zero when it cannot tell (a
// task not running).
func (a *Allocation) HealthyByTaskStates(minHealthy time.Duration, now time.Time) (bool, time.Time) {
	if a.ClientStatus != AllocClientStatusRunning || len(a.TaskStates) == 0 {
		return false, time.Time{}
	}
	var tg *TaskGroup
	if a.Job != nil {
		tg = a.Job.LookupTaskGroup(a.TaskGroup)
	}
	var latest int64
	for name, ts := range a.TaskStates {
		if tg != nil {
			if t := tg.LookupTask(name); t != nil && t.Lifecycle != nil && !t.Lifecycle.Sidecar {
				continue
			}
		}
		if ts == nil || ts.State != TaskStateRunning || ts.StartedAt == 0 {
			return false, time.Time{}
		}
		latest = max(latest, ts.StartedAt)
	}
	at := time.Unix(0, latest).Add(minHealthy)
	return !at.After(now), at
}
