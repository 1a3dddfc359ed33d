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
// (its settings), whose health paces a node drain, as in Nomad. In
// health_check "checks" mode the checks that count are waited for too; a
// group without any is judged by its task states, as in Nomad.
func healthToTrack(alloc *structs.Allocation, tg *structs.TaskGroup) (HealthConfig, bool) {
	if ds := alloc.DeploymentStatus; ds != nil && ds.Healthy != nil {
		return HealthConfig{}, false
	}
	switch {
	case alloc.DeploymentID != "":
		u := tg.Update
		if u == nil || u.HealthCheck == structs.UpdateHealthCheckManual {
			return HealthConfig{}, false
		}
		cfg := HealthConfig{MinHealthyTime: u.MinHealthyTime, HealthyDeadline: u.HealthyDeadline}
		if u.HealthCheck == structs.UpdateHealthCheckChecks {
			cfg.Checks = countedChecks(tg)
		}
		return cfg, true
	case tg.Migrate != nil:
		m := tg.Migrate
		cfg := HealthConfig{MinHealthyTime: m.MinHealthyTime, HealthyDeadline: m.HealthyDeadline}
		if m.HealthCheck == structs.MigrateHealthChecks {
			cfg.Checks = countedChecks(tg)
		}
		return cfg, true
	}
	return HealthConfig{}, false
}

// countedChecks is how many checks of the group's and its tasks' services
// (of the built-in registry, which the client runs) count for its health:
// those whose on_update is not "ignore".
func countedChecks(tg *structs.TaskGroup) int {
	n := 0
	count := func(ss []*structs.Service) {
		for _, s := range ss {
			if s == nil || (s.Provider != "" && s.Provider != structs.ServiceProviderNomad) {
				continue
			}
			for _, c := range s.Checks {
				if c != nil && c.OnUpdate != structs.OnUpdateIgnore {
					n++
				}
			}
		}
	}
	count(tg.Services)
	for _, t := range tg.Tasks {
		count(t.Services)
	}
	return n
}

// ChecksChanged tells the runner a check of its allocation changed status
// (or started, or stopped): the health is reassessed. Never blocks; the
// client's check runner calls it (checks.Config.OnChange).
func (ar *AllocRunner) ChecksChanged() {
	select {
	case ar.healthCh <- struct{}{}:
	default:
	}
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
		var checks []*structs.CheckQueryResult
		if cfg.Checks > 0 && ar.cfg.Checks != nil {
			checks = ar.cfg.Checks()
		}
		v := h.Observe(ar.taskStates(), checks, now)
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
