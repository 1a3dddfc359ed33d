package structs

import (
	"fmt"
	"strconv"
	"time"
)

// The update block: how a new version of a group replaces the running one
// (rolling, canary, blue-green), with Nomad's names and defaults. The block
// may sit in the job (it then applies to every group) and in a group (it
// overrides, field by field, the job's). After Canonicalize every group of a
// job that has one carries the effective strategy in TaskGroup.Update; the
// scheduler and the deployment watcher read only that.

// Health check modes of an update block.
const (
	// UpdateHealthCheckChecks: healthy once every task runs and every check
	// passes; with no checks defined it behaves as task_states.
	UpdateHealthCheckChecks = "checks"
	// UpdateHealthCheckTaskStates: healthy once every task runs.
	UpdateHealthCheckTaskStates = "task_states"
	// UpdateHealthCheckManual: the operator sets the health.
	UpdateHealthCheckManual = "manual"
)

// Nomad's defaults of the update block.
const (
	DefaultUpdateMaxParallel      = 1
	DefaultUpdateStagger          = 30 * time.Second
	DefaultUpdateMinHealthyTime   = 10 * time.Second
	DefaultUpdateHealthyDeadline  = 5 * time.Minute
	DefaultUpdateProgressDeadline = 10 * time.Minute
)

// UpdateStrategy is a group's update block.
type UpdateStrategy struct {
	// Stagger is accepted for compatibility (Nomad deprecated it); unused.
	Stagger time.Duration
	// MaxParallel bounds the allocations of the group out of service at
	// once during a deployment. 0 means no deployment: a new version
	// replaces every allocation at once.
	MaxParallel int
	// HealthCheck is one of the UpdateHealthCheck* modes.
	HealthCheck string
	// MinHealthyTime is how long an allocation must stay healthy to count.
	MinHealthyTime time.Duration
	// HealthyDeadline is how long after its start an allocation has to
	// become healthy before it is marked unhealthy.
	HealthyDeadline time.Duration
	// ProgressDeadline fails the deployment when no allocation became
	// healthy for that long. 0 disables it.
	ProgressDeadline time.Duration
	// AutoRevert re-registers the latest stable version when the deployment fails.
	AutoRevert bool
	// AutoPromote promotes the canaries once all of them are healthy.
	AutoPromote bool
	// Canary is how many allocations of the new version are placed beside
	// the old ones before promotion. Canary = Count is a blue-green update.
	Canary int
}

// DefaultUpdateStrategy returns a fresh update block with Nomad's defaults:
// what a file's `update {}` means. A parser that reads a block setting only
// some fields starts from this value (or from the job's block, for a group).
func DefaultUpdateStrategy() *UpdateStrategy {
	return &UpdateStrategy{
		Stagger:          DefaultUpdateStagger,
		MaxParallel:      DefaultUpdateMaxParallel,
		HealthCheck:      UpdateHealthCheckChecks,
		MinHealthyTime:   DefaultUpdateMinHealthyTime,
		HealthyDeadline:  DefaultUpdateHealthyDeadline,
		ProgressDeadline: DefaultUpdateProgressDeadline,
	}
}

// Copy returns a copy of u (nil for nil).
func (u *UpdateStrategy) Copy() *UpdateStrategy {
	if u == nil {
		return nil
	}
	c := *u
	return &c
}

// Rolling reports whether u asks for a deployment: a block with max_parallel > 0.
func (u *UpdateStrategy) Rolling() bool { return u != nil && u.MaxParallel > 0 }

// canonicalizeUpdate gives a group without its own update block the job's.
// Batch jobs have no deployments: their blocks are dropped (Nomad warns and
// ignores them too).
func (tg *TaskGroup) canonicalizeUpdate(job *UpdateStrategy, jobType JobType) {
	if jobType == JobTypeBatch || jobType == JobTypeSysBatch {
		tg.Update = nil
		return
	}
	if tg.Update == nil && job != nil {
		tg.Update = job.Copy()
	}
	if u := tg.Update; u != nil && u.HealthCheck == "" {
		u.HealthCheck = UpdateHealthCheckChecks
	}
}

// updateStrategy checks a group's update block against the group (count)
// and the job's type, reporting every broken rule.
func (v *validator) updateStrategy(u *UpdateStrategy, count int, jobType JobType) {
	if u == nil {
		return
	}
	if u.MaxParallel < 0 {
		v.add("update.max_parallel", strconv.Itoa(u.MaxParallel), "must be >= 0")
	}
	if u.Canary < 0 {
		v.add("update.canary", strconv.Itoa(u.Canary), "must be >= 0")
	}
	switch u.HealthCheck {
	case UpdateHealthCheckChecks, UpdateHealthCheckTaskStates, UpdateHealthCheckManual:
	default:
		v.add("update.health_check", strconv.Quote(u.HealthCheck),
			fmt.Sprintf("must be %q, %q or %q", UpdateHealthCheckChecks, UpdateHealthCheckTaskStates, UpdateHealthCheckManual))
	}
	for _, d := range []struct {
		field string
		value time.Duration
	}{
		{"update.stagger", u.Stagger}, {"update.min_healthy_time", u.MinHealthyTime},
		{"update.healthy_deadline", u.HealthyDeadline}, {"update.progress_deadline", u.ProgressDeadline},
	} {
		if d.value < 0 {
			v.add(d.field, quoteDuration(d.value), "must be >= 0")
		}
	}
	if !u.Rolling() {
		return // no deployment: the rest is never used
	}
	if u.HealthyDeadline <= 0 {
		v.add("update.healthy_deadline", quoteDuration(u.HealthyDeadline), "must be > 0")
	}
	if u.HealthyDeadline > 0 && u.MinHealthyTime >= u.HealthyDeadline {
		v.add("update.min_healthy_time", quoteDuration(u.MinHealthyTime),
			fmt.Sprintf("must be less than healthy_deadline (%s)", u.HealthyDeadline))
	}
	if u.ProgressDeadline > 0 && u.HealthyDeadline >= u.ProgressDeadline {
		v.add("update.healthy_deadline", quoteDuration(u.HealthyDeadline),
			fmt.Sprintf("must be less than progress_deadline (%s) when it is set", u.ProgressDeadline))
	}
	if u.Canary > count && count >= 0 {
		v.add("update.canary", strconv.Itoa(u.Canary), fmt.Sprintf("must be <= the group's count (%d)", count))
	}
	if u.AutoPromote && u.Canary == 0 {
		v.add("update.auto_promote", "true", "needs canary > 0 (there is nothing to promote)")
	}
	if (jobType == JobTypeSystem || jobType == JobTypeSysBatch) && u.Canary > 0 {
		v.add("update.canary", strconv.Itoa(u.Canary), "must be 0 for a system job (canaries of system jobs are not supported yet)")
	}
}

// updateFields flattens an update block for the job diff.
func updateFields(u *UpdateStrategy) map[string]string {
	if u == nil {
		return nil
	}
	return map[string]string{
		"Stagger":          u.Stagger.String(),
		"MaxParallel":      strconv.Itoa(u.MaxParallel),
		"HealthCheck":      u.HealthCheck,
		"MinHealthyTime":   u.MinHealthyTime.String(),
		"HealthyDeadline":  u.HealthyDeadline.String(),
		"ProgressDeadline": u.ProgressDeadline.String(),
		"AutoRevert":       strconv.FormatBool(u.AutoRevert),
		"AutoPromote":      strconv.FormatBool(u.AutoPromote),
		"Canary":           strconv.Itoa(u.Canary),
	}
}
