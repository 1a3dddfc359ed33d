package allocrunner

import (
	"time"

	"github.com/orch-io/orch/structs"
)

// The alloc runner's side of health (health.go): which allocations are
// tracked, the goroutine that reassesses them on every task change and at
// the times the verdict may change, and the recording of the verdict in the
// allocation, which the sync loop then persists and sends to the servers
// (DeploymentStatus.Healthy and Timestamp).

// healthToTrack returns the health settings of an allocation whose health
// the servers wait for, health not known yet: one placed by a deployment
// (its group's update block, unless in "manual" mode: the operator sets
// that health), and outside deployments one of a group with a migrate block
// (its settings), whose health paces a node drain, as in Nomad.
// health_check "checks" behaves as "task_states".
// TODO(#8): "checks" with the allocation's service checks (checks.Healthy).
func healthToTrack(alloc *structs.Allocation, tg *structs.TaskGroup) (HealthConfig, bool) {
	if ds := alloc.DeploymentStatus; ds != nil && ds.Healthy != nil {
		return HealthConfig{}, false
	}
	switch {
	case alloc.DeploymentID != "":
		if tg.Update == nil || tg.Update.HealthCheck == structs.UpdateHealthCheckManual {
			return HealthConfig{}, false
		}
		return HealthConfig{MinHealthyTime: tg.Update.MinHealthyTime, HealthyDeadline: tg.Update.HealthyDeadline}, true
	case tg.Migrate != nil:
		return HealthConfig{MinHealthyTime: tg.Migrate.MinHealthyTime, HealthyDeadline: tg.Migrate.HealthyDeadline}, true
	}
	return HealthConfig{}, false
}

// taskChanged is the task runners' notification: persist and send, and
// reassess the health.
func (ar *AllocRunner) taskChanged() {
	ar.requestSync()
	select {
	case ar.lifecycleCh <- struct{}{}:
	default:
	}
	select {
	case ar.healthCh <- struct{}{}:
	default:
	}
}

// watchHealth reassesses the allocation's health until it is decided, or the
// runner is shut down. Its own goroutine; start is when the tasks started.
func (ar *AllocRunner) watchHealth(cfg HealthConfig, tg *structs.TaskGroup, start time.Time) {
	// Ephemeral lifecycle tasks run to completion: they do not count.
	var tasks []string
	for _, t := range tg.Tasks {
		if !roleOf(t).ephemeral() {
			tasks = append(tasks, t.Name)
		}
	}
	h := NewHealthTracker(cfg, start, tasks)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		now := ar.cfg.Now()
		v := h.Observe(ar.taskStates(), now)
		if v.Decided {
			ar.recordHealth(v, now)
			return
		}
		timer.Stop()
		var wake <-chan time.Time
		if !v.RecheckAt.IsZero() {
			timer.Reset(max(v.RecheckAt.Sub(now), time.Millisecond))
			wake = timer.C
		}
		select {
		case <-ar.healthCh:
		case <-wake:
		case <-ar.frozenCh:
			return
		}
	}
}

// taskStates returns a copy of every task's state.
func (ar *AllocRunner) taskStates() map[string]*structs.TaskState {
	out := map[string]*structs.TaskState{}
	for _, tr := range ar.taskRunners() {
		out[tr.cfg.Task.Name] = tr.state()
	}
	return out
}

// recordHealth sets the verdict in the allocation and has it sent.
func (ar *AllocRunner) recordHealth(v HealthVerdict, now time.Time) {
	ar.logger.Info("allocation health decided", "healthy", v.Healthy, "reason", v.Reason)
	ar.mu.Lock()
	ds := ar.mu.alloc.DeploymentStatus.Copy()
	if ds == nil {
		ds = &structs.AllocDeploymentStatus{}
	}
	healthy := v.Healthy
	ds.Healthy, ds.Timestamp = &healthy, now
	ar.mu.alloc.DeploymentStatus = ds
	ar.mu.Unlock()
	ar.requestSync()
}

// keepLocalHealth merges the servers' deployment status of an allocation
// with the runner's: a health decided here and not yet recorded by the
// servers stays.
func keepLocalHealth(servers, local *structs.AllocDeploymentStatus) *structs.AllocDeploymentStatus {
	if local == nil || local.Healthy == nil || (servers != nil && servers.Healthy != nil) {
		return servers
	}
	merged := servers.Copy()
	if merged == nil {
		merged = &structs.AllocDeploymentStatus{}
	}
	h := *local.Healthy
	merged.Healthy, merged.Timestamp = &h, local.Timestamp
	return merged
}
