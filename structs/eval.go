package structs

import (
	"maps"
	"time"
)

// EvalStatus is where an evaluation is in its life.
type EvalStatus string

const (
	EvalStatusPending  EvalStatus = "pending"
	EvalStatusComplete EvalStatus = "complete"
	EvalStatusFailed   EvalStatus = "failed"
	EvalStatusBlocked  EvalStatus = "blocked"
	EvalStatusCanceled EvalStatus = "canceled"
)

// Terminal reports whether an evaluation with this status is done.
func (s EvalStatus) Terminal() bool {
	switch s {
	case EvalStatusComplete, EvalStatusFailed, EvalStatusCanceled:
		return true
	}
	return false
}

// Evaluation triggers, as in Nomad.
const (
	EvalTriggerJobRegister   = "job-register"
	EvalTriggerJobDeregister = "job-deregister"
	EvalTriggerPeriodicJob   = "periodic-job"
	EvalTriggerNodeUpdate    = "node-update"
	EvalTriggerQueuedAllocs  = "queued-allocs"
	EvalTriggerAllocStop     = "alloc-stop"
	EvalTriggerRetryFailed   = "failed-eval-retry"
	// EvalTriggerRetryFailedAlloc: a follow-up evaluation that replaces
	// failed allocations once their reschedule policy's delay has passed.
	EvalTriggerRetryFailedAlloc = "alloc-failure"
	// EvalTriggerNodeDrain: the drainer marked allocations of the job for
	// migration off a draining node, or stopped them at its deadline.
	EvalTriggerNodeDrain = "node-drain"
	EvalTriggerMaxPlans  = "max-plan-attempts"
	// EvalTriggerDeploymentWatcher: the deployment watcher asks for the next
	// batch of a deployment, or a promotion was made.
	EvalTriggerDeploymentWatcher = "deployment-watcher"
	// EvalTriggerPreemption: allocations of the job were evicted to make
	// room for a job of higher priority; the job places them again.
	EvalTriggerPreemption = "preemption"
)

// Evaluation asks the scheduler to reconcile one job with the cluster.
type Evaluation struct {
	ID             string
	Namespace      string
	Priority       int
	Type           JobType // selects the scheduler
	TriggeredBy    string
	JobID          string
	JobModifyIndex uint64
	NodeID         string // set when a node update triggered it
	// RequestID is the request ID of the write that created the
	// evaluation (WriteRequest.RequestID), "" for the servers' own: the
	// workers, the plan applier and the clients log it, so that one grep
	// follows a request from the API to its tasks.
	RequestID string
	// TraceParent is the W3C trace context of the span that committed the
	// evaluation (internal/tracing), "" when tracing is off or nothing
	// traced asked for it: the broker, the worker and the plan applier add
	// their spans to that trace.
	TraceParent       string
	Status            EvalStatus
	StatusDescription string

	// FailedTGAllocs holds, per task group, why allocations could not be placed.
	FailedTGAllocs map[string]*AllocMetric
	// QueuedAllocations counts, per task group, allocations not yet placed.
	QueuedAllocations map[string]int

	PreviousEval string // the evaluation this one follows up
	NextEval     string // the evaluation that follows this one up
	// WaitUntil, when set and in the future, holds the evaluation in the eval
	// broker until then (a failed evaluation's follow-up is delayed so).
	WaitUntil   time.Time
	BlockedEval string // the blocked evaluation this one created

	// ClassEligibility, on a blocked evaluation, holds per computed node
	// class whether capacity there could help: false when every group that
	// failed found the class infeasible, true otherwise. Classes not in it
	// were not seen. Capacity appearing on a false class does not unblock it.
	ClassEligibility map[string]bool
	// SnapshotIndex is the state index the scheduler planned against.
	SnapshotIndex uint64

	// AnnotatePlan asks the scheduler to annotate its plan and to submit it
	// even when it changes nothing: set by `job plan`, never stored.
	AnnotatePlan bool

	CreateIndex uint64
	ModifyIndex uint64
	CreateTime  int64 // unix nanoseconds
	ModifyTime  int64
}

// Copy returns a deep copy of the evaluation.
func (e *Evaluation) Copy() *Evaluation {
	if e == nil {
		return nil
	}
	c := *e
	if e.FailedTGAllocs != nil {
		c.FailedTGAllocs = make(map[string]*AllocMetric, len(e.FailedTGAllocs))
		for k, m := range e.FailedTGAllocs {
			c.FailedTGAllocs[k] = m.Copy()
		}
	}
	c.QueuedAllocations = maps.Clone(e.QueuedAllocations)
	c.ClassEligibility = maps.Clone(e.ClassEligibility)
	return &c
}

// TerminalStatus reports whether the evaluation is done.
func (e *Evaluation) TerminalStatus() bool { return e.Status.Terminal() }
