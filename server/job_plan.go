package server

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/orch-io/orch/scheduler"
	"github.com/orch-io/orch/server/state"
	"github.com/orch-io/orch/structs"
)

// Plan is the dry run of Register (`orch job plan`): it runs the real
// scheduler for the job against a snapshot of the state in which the job is
// replaced by the submitted version, and commits nothing: no Raft entry, no
// evaluation, no allocation. The answer says what the scheduler would do per
// group, what it could not place, and the job modify index to pass to
// `job run -check-index` so that the run fails if the job changed in
// between. Any server answers from its own state.
func (j *jobEndpoint) Plan(ctx context.Context, args *structs.JobPlanRequest, reply *structs.JobPlanResponse) error {
	if done, err := j.srv.forward(ctx, "Job.Plan", args, reply); done {
		return err
	}
	if args.Job == nil {
		return structs.NewError(structs.CodeInvalid, "%sthe request carries no job", ErrInvalidJobPrefix)
	}
	job := args.Job.Copy()
	switch {
	case job.Namespace == "":
		job.Namespace = args.Namespace
	case args.Namespace != "" && args.Namespace != job.Namespace:
		return structs.NewError(structs.CodeInvalid, "%sjob namespace %q differs from the request's namespace %q", ErrInvalidJobPrefix, job.Namespace, args.Namespace)
	}
	if err := j.srv.checkJobRegion(job); err != nil {
		return err
	}
	job.Canonicalize()
	if err := validateJobForServer(job, j.srv.config.Limits); err != nil {
		return err
	}

	snap := j.srv.state.Snapshot()
	if err := requireNamespace(snap, job.Namespace); err != nil {
		return err
	}
	reply.Warnings = jobWarnings(job, snap.SchedulerConfig())
	existing := snap.JobByID(job.Namespace, job.ID)
	now := time.Now()
	next, err := predictStoredJob(existing, job, snap.LatestIndex()+1, now)
	if err != nil {
		return err
	}
	eval := newJobEval(next, structs.EvalTriggerJobRegister, now.UnixNano())
	eval.JobModifyIndex = next.JobModifyIndex
	eval.AnnotatePlan = true

	planner := &dryRunPlanner{}
	sched, err := scheduler.New(next.Type, scheduler.Config{
		Logger:  j.srv.logger.With("dry_run", true),
		State:   &planState{Snapshot: snap, job: next},
		Planner: planner,
		Now:     now,
		Rand:    rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())),
	})
	if err != nil {
		return fmt.Errorf("job plan: %w", err)
	}
	if err := sched.Process(eval); err != nil {
		return fmt.Errorf("job plan: %w", err)
	}

	if n := len(planner.plans); n > 0 {
		reply.Annotations = planner.plans[n-1].Annotations
		reply.Deployment = planner.plans[n-1].Deployment
	}
	if n := len(planner.updated); n > 0 {
		reply.FailedTGAllocs = planner.updated[n-1].FailedTGAllocs
	}
	reply.CreatedEvals = planner.created
	if existing != nil {
		reply.JobModifyIndex = existing.JobModifyIndex
	}
	if args.Diff {
		diff, err := structs.DiffJobsContextual(existing, job)
		if err != nil {
			return fmt.Errorf("job plan: %w", err)
		}
		annotateDiff(diff, reply.Annotations)
		reply.Diff = diff
	}
	reply.Index = snap.LatestIndex()
	return nil
}

// predictStoredJob returns job as the state store would store it if it were
// registered at index: the same version and job modify index as existing when
// the specification did not change, the next ones when it did.
func predictStoredJob(existing, job *structs.Job, index uint64, now time.Time) (*structs.Job, error) {
	next := job.Copy()
	next.Status, next.StatusDescription = "", ""
	next.SubmitTime = now.UnixNano()
	next.ModifyIndex = index
	if existing == nil {
		next.CreateIndex, next.JobModifyIndex, next.Version = index, index, 0
		return next, nil
	}
	next.CreateIndex = existing.CreateIndex
	next.Version, next.JobModifyIndex = existing.Version, existing.JobModifyIndex
	changed, err := state.SpecChanged(existing, next)
	if err != nil {
		return nil, fmt.Errorf("job plan: %w", err)
	}
	if changed {
		next.Version, next.JobModifyIndex = existing.Version+1, index
	}
	return next, nil
}

// planState is a snapshot in which one job is replaced by the version being
// planned: the scheduler reads the job only through JobByID.
type planState struct {
	*state.Snapshot
	job *structs.Job
}

var _ scheduler.State = (*planState)(nil)

// JobByID implements scheduler.State.
func (s *planState) JobByID(namespace, id string) *structs.Job {
	if id == s.job.ID && namespace == s.job.Namespace {
		return s.job
	}
	return s.Snapshot.JobByID(namespace, id)
}

// dryRunPlanner is the scheduler.Planner of a dry run: it records what the
// scheduler submits and reports every plan fully committed, committing
// nothing. Used from the one goroutine that runs Process.
type dryRunPlanner struct {
	plans   []*structs.Plan
	updated []*structs.Evaluation
	created []*structs.Evaluation
}

var _ scheduler.Planner = (*dryRunPlanner)(nil)

// SubmitPlan implements scheduler.Planner.
func (p *dryRunPlanner) SubmitPlan(plan *structs.Plan) (*structs.PlanResult, scheduler.State, error) {
	p.plans = append(p.plans, plan)
	return &structs.PlanResult{NodeUpdate: plan.NodeUpdate, NodeAllocation: plan.NodeAllocation, NodePreemptions: plan.NodePreemptions}, nil, nil
}

// UpdateEval implements scheduler.Planner.
func (p *dryRunPlanner) UpdateEval(eval *structs.Evaluation) error {
	p.updated = append(p.updated, eval)
	return nil
}

// CreateEval implements scheduler.Planner.
func (p *dryRunPlanner) CreateEval(eval *structs.Evaluation) error {
	p.created = append(p.created, eval)
	return nil
}

// annotateDiff copies the scheduler's counts into the diff's groups
// (Updates) and says what each task change forces. Any change to a task is
// destructive (see scheduler.groupChangedDestructively), so an edited task
// forces a create/destroy update; a count going up forces creates, down
// destroys.
func annotateDiff(diff *structs.JobDiff, ann *structs.PlanAnnotations) {
	for _, g := range diff.TaskGroups {
		if ann != nil {
			if u := ann.DesiredTGUpdates[g.Name]; u != nil {
				g.Updates = desiredUpdatesByName(u)
			}
		}
		for _, f := range g.Fields {
			if f.Name == "Count" && f.Type == structs.DiffTypeEdited {
				if atoiOrZero(f.New) > atoiOrZero(f.Old) {
					f.Annotations = append(f.Annotations, structs.AnnotationForcesCreate)
				} else {
					f.Annotations = append(f.Annotations, structs.AnnotationForcesDestroy)
				}
			}
		}
		for _, t := range g.Tasks {
			switch t.Type {
			case structs.DiffTypeAdded:
				t.Annotations = append(t.Annotations, structs.AnnotationForcesCreate)
			case structs.DiffTypeDeleted:
				t.Annotations = append(t.Annotations, structs.AnnotationForcesDestroy)
			case structs.DiffTypeEdited:
				t.Annotations = append(t.Annotations, structs.AnnotationForcesDestructiveUpdate)
			}
		}
	}
}

// desiredUpdatesByName turns the counts into TaskGroupDiff.Updates, leaving
// out zeros.
func desiredUpdatesByName(u *structs.DesiredUpdates) map[string]uint64 {
	out := map[string]uint64{}
	for name, n := range map[string]uint64{
		structs.UpdateTypeIgnore:            u.Ignore,
		structs.UpdateTypeCreate:            u.Place,
		structs.UpdateTypeDestroy:           u.Stop,
		structs.UpdateTypeMigrate:           u.Migrate,
		structs.UpdateTypeCanary:            u.Canary,
		structs.UpdateTypeInplaceUpdate:     u.InPlaceUpdate,
		structs.UpdateTypeDestructiveUpdate: u.DestructiveUpdate,
	} {
		if n > 0 {
			out[name] = n
		}
	}
	return out
}

// atoiOrZero is the number in s, 0 when s is not one.
func atoiOrZero(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}
