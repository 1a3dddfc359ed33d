package scheduler

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/orch-io/orch/structs"
)

// State is the read-only view of the cluster the scheduler plans against: a
// consistent snapshot (*state.Snapshot satisfies it). Returned objects are
// shared with the store and with other readers: the scheduler never modifies
// them, it copies first. Returned slices belong to the caller.
type State interface {
	// JobByID returns the job of the namespace, or nil.
	JobByID(namespace, id string) *structs.Job
	// Nodes returns the nodes whose ID starts with prefix ("" for all), sorted by ID.
	Nodes(prefix string) []*structs.Node
	NodeByID(id string) *structs.Node
	// AllocsByJob and AllocsByNode return terminal allocations too, sorted by ID.
	AllocsByJob(namespace, jobID string) []*structs.Allocation
	AllocsByNode(nodeID string) []*structs.Allocation
	EvalByID(id string) *structs.Evaluation
	// LatestDeploymentByJobID returns the job's newest deployment, or nil.
	LatestDeploymentByJobID(namespace, jobID string) *structs.Deployment
	LatestIndex() uint64
	// SchedulerConfig returns the cluster's scheduler configuration (the
	// default when none was set); never nil.
	SchedulerConfig() *structs.SchedulerConfiguration
}

// Planner is how the scheduler writes. The server's worker implements it by
// talking to the leader; `job plan` implements it by committing nothing; tests
// implement it in memory. The scheduler calls it from the goroutine that runs
// Process, one call at a time.
type Planner interface {
	// SubmitPlan sends the plan to the leader's plan applier and waits for the
	// result. If result.RefreshIndex != 0, part of the plan was rejected and
	// newState is a snapshot at least that fresh, to plan again from.
	SubmitPlan(plan *structs.Plan) (result *structs.PlanResult, newState State, err error)
	// UpdateEval records the final status of the evaluation being processed.
	UpdateEval(eval *structs.Evaluation) error
	// CreateEval records a new evaluation, e.g. a blocked one for allocations
	// that could not be placed.
	CreateEval(eval *structs.Evaluation) error
}

// Config is what a scheduler needs for one evaluation.
type Config struct {
	Logger  *slog.Logger // nil discards
	State   State        // the snapshot to plan against; required
	Planner Planner      // required
	// Now is the time stamped on what the scheduler creates (allocations,
	// evaluations). The scheduler never reads the clock. Required.
	Now time.Time
	// Rand shuffles nodes and mints the IDs of new allocations and
	// evaluations. The caller seeds it, differently for every evaluation
	// (from crypto/rand, say): two evaluations processed with the same seed
	// mint the same IDs. The scheduler never uses the global source. Required.
	// Not safe to share with another goroutine while Process runs.
	Rand *rand.Rand
}

// Scheduler processes evaluations of one job type.
type Scheduler interface {
	// Process reconciles the evaluation's job with the state in Config, submits
	// the resulting plan and records the evaluation's final status through the
	// Planner. Outcomes such as "no node fits" are not errors: they are recorded
	// in the evaluation (FailedTGAllocs, QueuedAllocations, a blocked
	// evaluation). An error means the Planner failed and the evaluation should
	// be retried (nacked). One Scheduler processes one evaluation at a time.
	Process(eval *structs.Evaluation) error
}

// Errors returned by New and Process. Test with errors.Is.
var (
	// ErrUnknownJobType: New was asked for a job type that has no scheduler.
	ErrUnknownJobType = errors.New("scheduler: no scheduler for job type")
	// ErrInvalidConfig: a required Config field is missing.
	ErrInvalidConfig = errors.New("scheduler: invalid config")
	// ErrNoRefreshState: the Planner asked for a refresh but gave no state.
	ErrNoRefreshState = errors.New("scheduler: planner asked for a refresh but returned no state")
)

// New returns the scheduler for jobType: service, batch, system or sysbatch.
func New(jobType structs.JobType, cfg Config) (Scheduler, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	switch jobType {
	case structs.JobTypeService, structs.JobTypeBatch:
		return newGenericScheduler(jobType, cfg), nil
	case structs.JobTypeSystem, structs.JobTypeSysBatch:
		return newSystemScheduler(jobType, cfg), nil
	}
	return nil, fmt.Errorf("%w %q", ErrUnknownJobType, jobType)
}

func (c *Config) validate() error {
	var errs []error
	if c.State == nil {
		errs = append(errs, fmt.Errorf("%w: State is nil: a state snapshot is required", ErrInvalidConfig))
	}
	if c.Planner == nil {
		errs = append(errs, fmt.Errorf("%w: Planner is nil: a planner is required", ErrInvalidConfig))
	}
	if c.Now.IsZero() {
		errs = append(errs, fmt.Errorf("%w: Now is zero: the caller supplies the time", ErrInvalidConfig))
	}
	if c.Rand == nil {
		errs = append(errs, fmt.Errorf("%w: Rand is nil: a seeded *rand.Rand is required", ErrInvalidConfig))
	}
	return errors.Join(errs...)
}
