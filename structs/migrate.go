package structs

import (
	"fmt"
	"strconv"
	"time"
)

// DesiredTransition is what the servers want to happen to a running
// allocation beyond its DesiredStatus (Nomad's field): Migrate asks the
// scheduler to stop it and place a replacement, on another node when its node
// is draining. `orch alloc stop` and the drainer set it; the scheduler acts
// on it, stopping the allocation only once the replacement is placed.
type DesiredTransition struct {
	Migrate bool
}

// AllocStopRequest asks for one allocation to be stopped and replaced.
type AllocStopRequest struct {
	AllocID string
	WriteRequest
}

// AllocStopResponse names the evaluation that replaces the allocation.
type AllocStopResponse struct {
	EvalID string
	Index  uint64
}

// Migrate health checks, as in Nomad.
const (
	MigrateHealthChecks     = "checks"
	MigrateHealthTaskStates = "task_states"
)

// MigrateStrategy paces the migration of a service group's allocations off
// a draining node (the group's `migrate` block): at most MaxParallel of the
// group are out of service at once, and a replacement counts as in service
// once healthy — its tasks running for MinHealthyTime — within
// HealthyDeadline.
type MigrateStrategy struct {
	MaxParallel     int
	HealthCheck     string
	MinHealthyTime  time.Duration
	HealthyDeadline time.Duration
}

// DefaultMigrateStrategy returns Nomad's defaults for service groups; other
// job types do not migrate (nil).
func DefaultMigrateStrategy(jobType JobType) *MigrateStrategy {
	if jobType != JobTypeService && jobType != "" {
		return nil
	}
	return &MigrateStrategy{MaxParallel: 1, HealthCheck: MigrateHealthChecks,
		MinHealthyTime: 10 * time.Second, HealthyDeadline: 5 * time.Minute}
}

// Copy returns a copy of the strategy.
func (m *MigrateStrategy) Copy() *MigrateStrategy {
	if m == nil {
		return nil
	}
	c := *m
	return &c
}

// migrateStrategy checks a group's migrate block. Outside service jobs it is
// allowed and has no effect (only service allocations are migrated), as in
// Nomad.
func (v *validator) migrateStrategy(m *MigrateStrategy) {
	if m == nil {
		return
	}
	if m.MaxParallel < 0 {
		v.add("migrate.max_parallel", strconv.Itoa(m.MaxParallel), "must be >= 0")
	}
	switch m.HealthCheck {
	case MigrateHealthChecks, MigrateHealthTaskStates:
	default:
		v.add("migrate.health_check", strconv.Quote(m.HealthCheck), fmt.Sprintf("must be %q or %q", MigrateHealthChecks, MigrateHealthTaskStates))
	}
	if m.MinHealthyTime < 0 {
		v.add("migrate.min_healthy_time", quoteDuration(m.MinHealthyTime), "must be >= 0")
	}
	if m.HealthyDeadline <= 0 || m.HealthyDeadline <= m.MinHealthyTime {
		v.add("migrate.healthy_deadline", quoteDuration(m.HealthyDeadline), fmt.Sprintf("must be > min_healthy_time (%s)", m.MinHealthyTime))
	}
}
