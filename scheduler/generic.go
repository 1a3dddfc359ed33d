package scheduler

import (
	"fmt"
	"log/slog"
	"maps"
	"slices"

	"github.com/orch-io/orch/structs"
)

// maxPlanAttempts bounds the plans submitted in a row that commit nothing: a
// plan the applier rejects in part is planned again from fresher state, but
// not forever. A plan that commits something (progress) resets the count;
// maxPlanSubmissions bounds the total anyway, in case a Planner reports
// progress that never shows in its state.
const (
	maxPlanAttempts    = 5
	maxPlanSubmissions = 50
)

// Descriptions of evaluations the scheduler ends or creates.
const (
	blockedEvalDesc        = "created to place remaining allocations"
	blockedEvalMaxPlanDesc = "created due to placement conflicts"
)

// genericScheduler places service and batch jobs: a fixed number of
// allocations per group, each on the best node of a sample.
type genericScheduler struct {
	jobType structs.JobType
	batch   bool
	cfg     Config
}

var _ Scheduler = (*genericScheduler)(nil)

func newGenericScheduler(jobType structs.JobType, cfg Config) *genericScheduler {
	return &genericScheduler{jobType: jobType, batch: jobType == structs.JobTypeBatch, cfg: cfg}
}

// Process implements Scheduler.
func (s *genericScheduler) Process(eval *structs.Evaluation) error {
	return s.process(eval, s.computePlan, true)
}

// process is the loop every scheduler runs: compute a plan from the state,
// submit it, and when the plan applier committed only part of it, plan again
// from the fresher state it returns, until the plan commits whole or plans
// keep conflicting. With blocks, groups that cannot be placed leave one
// blocked evaluation (created at most once per call).
func (s *genericScheduler) process(eval *structs.Evaluation, computePlan func(*structs.Evaluation, State) *attempt, blocks bool) error {
	logger := s.cfg.Logger.With("eval_id", eval.ID, "job_id", eval.JobID)
	state := s.cfg.State
	var blocked *structs.Evaluation
	withoutProgress := 0
	for submissions := 1; ; submissions++ {
		a := computePlan(eval, state)
		for _, f := range a.followups {
			if err := s.cfg.Planner.CreateEval(f.Eval); err != nil {
				return fmt.Errorf("scheduler: creating follow-up eval for eval %s: %w", eval.ID, err)
			}
		}
		if blocks && len(a.failed) > 0 && blocked == nil {
			blocked = s.newBlockedEval(eval, a.snapshotIndex, structs.EvalTriggerQueuedAllocs, blockedEvalDesc)
			blocked.ClassEligibility = blockedClassEligibility(a.failed)
			if err := s.cfg.Planner.CreateEval(blocked); err != nil {
				return fmt.Errorf("scheduler: creating blocked eval for eval %s: %w", eval.ID, err)
			}
		}
		if a.plan.IsNoOp() && !eval.AnnotatePlan {
			logger.Debug("nothing to change", "failed_groups", len(a.failed))
			return s.finish(eval, a, structs.EvalStatusComplete, "", blocked)
		}

		result, newState, err := s.cfg.Planner.SubmitPlan(a.plan)
		if err != nil {
			return fmt.Errorf("scheduler: submitting plan of eval %s: %w", eval.ID, err)
		}
		if result.RefreshIndex == 0 {
			logger.Debug("plan committed", "placed", len(a.placements), "stopped", a.stopped, "in_place", a.inPlace,
				"failed_groups", len(a.failed), "alloc_index", result.AllocIndex)
			return s.finish(eval, a, structs.EvalStatusComplete, "", blocked)
		}

		// Part of the plan was rejected: another scheduler got there first.
		if progressMade(result) {
			withoutProgress = 0
		} else {
			withoutProgress++
		}
		logger.Debug("plan committed in part; refreshing", "refresh_index", result.RefreshIndex,
			"attempts_without_progress", withoutProgress)
		if withoutProgress >= maxPlanAttempts || submissions >= maxPlanSubmissions {
			desc := fmt.Sprintf("maximum attempts reached (%d)", maxPlanAttempts)
			if blocks && blocked == nil {
				blocked = s.newBlockedEval(eval, a.snapshotIndex, structs.EvalTriggerMaxPlans, blockedEvalMaxPlanDesc)
				if err := s.cfg.Planner.CreateEval(blocked); err != nil {
					return fmt.Errorf("scheduler: creating blocked eval for eval %s: %w", eval.ID, err)
				}
			}
			a.requeueRejected(result)
			logger.Warn("giving up on eval: plans keep conflicting", "attempts", submissions)
			return s.finish(eval, a, structs.EvalStatusFailed, desc, blocked)
		}
		if newState == nil {
			return fmt.Errorf("%w (eval %s, refresh index %d)", ErrNoRefreshState, eval.ID, result.RefreshIndex)
		}
		state = newState
	}
}

// progressMade reports whether a plan result committed anything.
func progressMade(r *structs.PlanResult) bool {
	for _, allocs := range r.NodeAllocation {
		if len(allocs) > 0 {
			return true
		}
	}
	for _, allocs := range r.NodeUpdate {
		if len(allocs) > 0 {
			return true
		}
	}
	return false
}

// attempt is one plan computed from one state.
type attempt struct {
	job           *structs.Job // nil when purged
	plan          *structs.Plan
	snapshotIndex uint64
	// failed holds, per group, the metric of the first placement that failed.
	failed map[string]*structs.AllocMetric
	// queued counts, per group, the allocations not placed.
	queued map[string]int
	// placements are the new allocations in plan.
	placements       []*structs.Allocation
	stopped, inPlace int
	// followups are the evaluations to create before submitting plan, which
	// points failed allocations at them.
	followups []followup
}

// computePlan reconciles the job with state and places what is missing. It
// does not submit anything.
func (s *genericScheduler) computePlan(eval *structs.Evaluation, state State) *attempt {
	ns := structs.NamespaceOr(eval.Namespace)
	job := state.JobByID(ns, eval.JobID)
	allocs := state.AllocsByJob(ns, eval.JobID)
	rec := reconcile(reconcileInput{
		Job:          job,
		Batch:        s.batch,
		Allocs:       allocs,
		TaintedNodes: taintedNodes(state, allocs),
		Deployment:   state.LatestDeploymentByJobID(ns, eval.JobID),
		DeploymentID: s.deploymentID(job),
		Now:          s.cfg.Now,
		EvalID:       eval.ID,
	})

	a := &attempt{
		job: job,
		plan: &structs.Plan{
			EvalID:        eval.ID,
			Priority:      eval.Priority,
			Job:           job,
			AllAtOnce:     job != nil && job.AllAtOnce,
			SnapshotIndex: state.LatestIndex(),
		},
		failed: map[string]*structs.AllocMetric{},
		queued: map[string]int{},
	}
	a.plan.Deployment, a.plan.DeploymentUpdates = rec.Deployment, rec.DeploymentUpdates
	a.snapshotIndex = a.plan.SnapshotIndex
	if eval.AnnotatePlan {
		a.plan.Annotations = annotate(rec)
	}
	if !job.Stopped() {
		for _, tg := range job.TaskGroups {
			a.queued[tg.Name] = 0
		}
	}

	usage := newPlanUsage(state, allocs)
	for _, st := range rec.Stop {
		a.plan.AppendStoppedAlloc(st.Alloc, st.Description)
		usage.stop(st.Alloc)
		a.stopped++
	}
	for _, old := range rec.InPlace {
		a.plan.AppendAlloc(s.inPlaceUpdate(eval, job, old))
		a.inPlace++
	}
	if len(rec.Place) > 0 {
		s.computePlacements(eval, job, state, usage, rec.Place, a)
	}
	a.followups = batchFollowups(eval, s.jobType, rec.RescheduleLater, s.cfg.Now, s.cfg.Rand)
	appendFollowups(a.plan, a.followups)
	return a
}

// deploymentID mints the ID of the deployment a plan of job may create:
// only for a job with a rolling update block, so that the others draw
// nothing more from Rand.
func (s *genericScheduler) deploymentID(job *structs.Job) string {
	if job.Stopped() {
		return ""
	}
	for _, tg := range job.TaskGroups {
		if tg.Update.Rolling() {
			return newID(s.cfg.Rand)
		}
	}
	return ""
}

// computePlacements finds a node for each placement, in order. Once one
// placement of a group fails, the others of that group are not tried: the plan
// only ever takes capacity away, so they would fail the same way; they are
// counted as CoalescedFailures of the first.
func (s *genericScheduler) computePlacements(eval *structs.Evaluation, job *structs.Job, state State,
	usage *planUsage, places []placement, a *attempt) {
	source := newNodeSource(state, job.Datacenters, job.NodePool, s.cfg.Rand, usage)
	stack := newStack(s.jobType, job, source, usage)
	stack.configure(state.SchedulerConfig())
	if preemptionEnabled(state.SchedulerConfig(), s.jobType) {
		stack.enablePreemption(state)
	}
	for _, p := range places {
		group := p.TaskGroup.Name
		if m, ok := a.failed[group]; ok {
			m.CoalescedFailures++
			a.queued[group]++
			continue
		}
		// A replacement may take the place its predecessor frees.
		if p.StopPrevious != "" {
			usage.stop(p.Previous)
		}
		stack.avoid = penaltyNodes(p.Previous)
		nu, metric := stack.selectNode(p.TaskGroup)
		if nu == nil {
			if p.StopPrevious != "" {
				usage.unstop(p.Previous)
			}
			a.failed[group] = metric
			a.queued[group]++
			continue
		}
		alloc := s.newAlloc(eval, job, p, nu.node, metric)
		if ask := stack.pipeline(p.TaskGroup).fit.ports; ask != nil {
			ports, ok := ask.assign(nu, s.cfg.Rand, nu.node.HostIP())
			if !ok {
				panic(fmt.Sprintf("scheduler: node %s passed the ports fit for group %s but cannot give its ports", nu.id, group))
			}
			alloc.AllocatedResources.Shared.Ports = ports
		}
		stack.finishResources(nu, p.TaskGroup, alloc)
		if stack.preempt != nil {
			recordPreemptions(a.plan, alloc, stack.preempt.victims)
		}
		a.plan.AppendAlloc(alloc)
		usage.place(nu, alloc)
		a.placements = append(a.placements, alloc)
		if p.StopPrevious != "" {
			a.plan.AppendStoppedAlloc(p.Previous, p.StopPrevious)
			a.stopped++
		}
	}
}

// requeueRejected counts as queued the placements the applier did not commit.
func (a *attempt) requeueRejected(result *structs.PlanResult) {
	committed := map[string]bool{}
	for _, allocs := range result.NodeAllocation {
		for _, c := range allocs {
			committed[c.ID] = true
		}
	}
	for _, alloc := range a.placements {
		if !committed[alloc.ID] {
			a.queued[alloc.TaskGroup]++
		}
	}
}

// newAlloc builds the allocation for a placement on node.
func (s *genericScheduler) newAlloc(eval *structs.Evaluation, job *structs.Job, p placement,
	node *structs.Node, metric *structs.AllocMetric) *structs.Allocation {
	now := s.cfg.Now.UnixNano()
	alloc := &structs.Allocation{
		ID:                 newID(s.cfg.Rand),
		Namespace:          job.Namespace,
		EvalID:             eval.ID,
		Name:               p.Name,
		NodeID:             node.ID,
		NodeName:           node.Name,
		JobID:              job.ID,
		Job:                job,
		TaskGroup:          p.TaskGroup.Name,
		AllocatedResources: allocatedResources(p.TaskGroup),
		DesiredStatus:      structs.AllocDesiredStatusRun,
		ClientStatus:       structs.AllocClientStatusPending,
		Metrics:            metric,
		CreateTime:         now,
		ModifyTime:         now,
		DeploymentID:       p.DeploymentID,
		DeploymentStatus:   canaryStatus(p.Canary),
	}
	if p.Previous != nil {
		alloc.PreviousAllocation = p.Previous.ID
	}
	if p.Reschedule {
		alloc.RescheduleTracker = structs.NextTracker(p.Previous, p.TaskGroup.ReschedulePolicy, s.cfg.Now, p.Delay)
	}
	return alloc
}

// canaryStatus is the deployment status a new allocation starts with: nil,
// or for a canary one that says so.
func canaryStatus(canary bool) *structs.AllocDeploymentStatus {
	if !canary {
		return nil
	}
	return &structs.AllocDeploymentStatus{Canary: true}
}

// inPlaceUpdate moves an existing allocation to the current version of the
// job. Only server-owned fields matter to the state store; the client's are
// dropped to keep the plan small.
func (s *genericScheduler) inPlaceUpdate(eval *structs.Evaluation, job *structs.Job, old *structs.Allocation) *structs.Allocation {
	u := old.Copy()
	u.EvalID = eval.ID
	u.Job = job
	u.TaskStates = nil
	u.ModifyTime = s.cfg.Now.UnixNano()
	return u
}

// allocatedResources is what an allocation of tg reserves: each task's
// resources and the group's ephemeral disk. It matches groupAsk(tg).
func allocatedResources(tg *structs.TaskGroup) *structs.AllocatedResources {
	ar := &structs.AllocatedResources{Tasks: make(map[string]*structs.Resources, len(tg.Tasks))}
	for _, t := range tg.Tasks {
		r := &structs.Resources{}
		if t.Resources != nil {
			*r = *t.Resources
		}
		ar.Tasks[t.Name] = r
	}
	if tg.EphemeralDisk != nil {
		ar.Shared.DiskMB = tg.EphemeralDisk.SizeMB
	}
	return ar
}

// taintedNodes returns the nodes, among those the job's live allocations sit
// on, that can no longer run them: down, or gone from the state.
func taintedNodes(state State, allocs []*structs.Allocation) map[string]bool {
	tainted := map[string]bool{}
	seen := map[string]bool{}
	for _, a := range allocs {
		// Stopped allocations their client has not stopped yet count too
		// (paceRetirements does not wait for a node that is down).
		if a.ClientTerminal() || seen[a.NodeID] {
			continue
		}
		seen[a.NodeID] = true
		if n := state.NodeByID(a.NodeID); n == nil || n.Status == structs.NodeStatusDown {
			tainted[a.NodeID] = true
		}
	}
	return tainted
}

// newBlockedEval builds the evaluation that waits for capacity to place what
// this one could not.
func (s *genericScheduler) newBlockedEval(eval *structs.Evaluation, snapshotIndex uint64, triggeredBy, desc string) *structs.Evaluation {
	now := s.cfg.Now.UnixNano()
	typ := eval.Type
	if typ == "" {
		typ = s.jobType
	}
	return &structs.Evaluation{
		ID:                newID(s.cfg.Rand),
		Namespace:         eval.Namespace,
		Priority:          eval.Priority,
		Type:              typ,
		TriggeredBy:       triggeredBy,
		JobID:             eval.JobID,
		JobModifyIndex:    eval.JobModifyIndex,
		Status:            structs.EvalStatusBlocked,
		StatusDescription: desc,
		PreviousEval:      eval.ID,
		SnapshotIndex:     snapshotIndex,
		CreateTime:        now,
		ModifyTime:        now,
	}
}

// finish records the evaluation's final status.
func (s *genericScheduler) finish(eval *structs.Evaluation, a *attempt, status structs.EvalStatus, desc string,
	blocked *structs.Evaluation) error {
	e := eval.Copy()
	e.Status = status
	e.StatusDescription = desc
	e.SnapshotIndex = a.snapshotIndex
	e.FailedTGAllocs = nil
	if len(a.failed) > 0 {
		e.FailedTGAllocs = a.failed
	}
	e.QueuedAllocations = a.queued
	if blocked != nil {
		e.BlockedEval = blocked.ID
	}
	e.ModifyTime = s.cfg.Now.UnixNano()
	if err := s.cfg.Planner.UpdateEval(e); err != nil {
		return fmt.Errorf("scheduler: updating eval %s: %w", eval.ID, err)
	}
	logger := s.cfg.Logger.With(slog.String("eval_id", eval.ID), slog.String("job_id", eval.JobID))
	for _, group := range slices.Sorted(maps.Keys(a.failed)) {
		m := a.failed[group]
		count := 0
		if tg := a.job.LookupTaskGroup(group); tg != nil {
			count = tg.Count
		}
		logger.Info("allocations not placed", slog.String("group", group),
			slog.String("reason", FailureSummary(group, count, m.CoalescedFailures+1, m)))
	}
	logger.Debug("eval done", slog.String("status", string(status)), slog.String("description", desc))
	return nil
}
