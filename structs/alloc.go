package structs

import (
	"fmt"
	"maps"
	"slices"
)

// AllocDesiredStatus is what the servers want of an allocation.
type AllocDesiredStatus string

const (
	AllocDesiredStatusRun  AllocDesiredStatus = "run"
	AllocDesiredStatusStop AllocDesiredStatus = "stop"
	// AllocDesiredStatusEvict: stopped to make room for an allocation of a
	// job of higher priority (preemption); PreemptedByAllocation says which.
	AllocDesiredStatusEvict AllocDesiredStatus = "evict"
)

// AllocClientStatus is what the client reports of an allocation.
type AllocClientStatus string

const (
	AllocClientStatusPending  AllocClientStatus = "pending"
	AllocClientStatusRunning  AllocClientStatus = "running"
	AllocClientStatusComplete AllocClientStatus = "complete"
	AllocClientStatusFailed   AllocClientStatus = "failed"
	AllocClientStatusLost     AllocClientStatus = "lost"
)

// Allocation is one instance of a task group placed on one node.
type Allocation struct {
	ID        string `codec:",omitempty"`
	Namespace string `codec:",omitempty"`
	EvalID    string `codec:",omitempty"`
	// RequestID is the request ID of the evaluation that placed the
	// allocation (Evaluation.RequestID), for the client's logs.
	RequestID string `codec:",omitempty"`
	// TraceParent is the W3C trace context of the plan apply that placed
	// the allocation (Evaluation.TraceParent's trace), "" when untraced:
	// the client's alloc runner and task starts join that trace.
	TraceParent string `codec:",omitempty"`
	Name        string `codec:",omitempty"` // "<job>.<group>[<index>]"
	NodeID      string `codec:",omitempty"`
	NodeName    string `codec:",omitempty"`
	JobID       string `codec:",omitempty"`
	Job         *Job   `codec:",omitempty"` // the job version the allocation runs; shared, read-only
	TaskGroup   string `codec:",omitempty"`

	AllocatedResources *AllocatedResources `codec:",omitempty"`

	DesiredStatus      AllocDesiredStatus    `codec:",omitempty"`
	DesiredDescription string                `codec:",omitempty"`
	ClientStatus       AllocClientStatus     `codec:",omitempty"`
	ClientDescription  string                `codec:",omitempty"`
	TaskStates         map[string]*TaskState `codec:",omitempty"`

	// PreemptedAllocations lists the allocations this one evicted to make
	// room on its node (preemption); PreemptedByAllocation is the allocation
	// that evicted this one (DesiredStatus evict).
	PreemptedAllocations  []string `codec:",omitempty"`
	PreemptedByAllocation string   `codec:",omitempty"`

	// DesiredTransition asks the scheduler to migrate the allocation
	// (migrate.go).
	DesiredTransition DesiredTransition `codec:",omitempty"`
	// DeploymentID is the deployment the allocation was placed by (""
	// outside deployments); DeploymentStatus its health as its client
	// reports it and its canary flag (alloc_health.go).
	DeploymentID     string                 `codec:",omitempty"`
	DeploymentStatus *AllocDeploymentStatus `codec:",omitempty"`

	// Rescheduling (reschedule.go): PreviousAllocation is the failed (or
	// stopped, or lost) allocation this one replaces, NextAllocation its own
	// replacement; RescheduleTracker the replacements that led here;
	// FollowupEvalID the delayed evaluation that will replace this failed
	// allocation once its policy's delay has passed.
	PreviousAllocation string             `codec:",omitempty"`
	NextAllocation     string             `codec:",omitempty"`
	RescheduleTracker  *RescheduleTracker `codec:",omitempty"`
	FollowupEvalID     string             `codec:",omitempty"`

	// Metrics explains the placement: how many nodes were evaluated and why the
	// others were not chosen.
	Metrics *AllocMetric `codec:",omitempty"`

	CreateIndex      uint64 `codec:",omitempty"`
	ModifyIndex      uint64 `codec:",omitempty"`
	AllocModifyIndex uint64 `codec:",omitempty"` // last change made by the servers (not the client)
	CreateTime       int64  `codec:",omitempty"` // unix nanoseconds
	ModifyTime       int64  `codec:",omitempty"`

	// usage is Comparable() of usageOf, the AllocatedResources it was
	// computed from (CacheComparable). Not encoded.
	usage   ComparableResources
	usageOf *AllocatedResources
}

// AllocatedResources are the resources the scheduler reserved for an allocation.
type AllocatedResources struct {
	Tasks  map[string]*Resources // by task name
	Shared AllocatedSharedResources
}

// AllocatedSharedResources are shared by the group's tasks.
type AllocatedSharedResources struct {
	DiskMB int
	// Ports are the host ports allocated to the group's network block.
	// Invariant: no two non-terminal allocations on a node share a Value, and
	// none is reserved on the node (AllocsFit checks it).
	Ports AllocatedPorts
}

// AllocName is the name of the index-th allocation of a group.
func AllocName(job, group string, index int) string {
	return fmt.Sprintf("%s.%s[%d]", job, group, index)
}

// Index returns the allocation's index within its group, parsed from its Name,
// or -1 when the name has none.
func (a *Allocation) Index() int {
	i := len(a.Name) - 1
	if i < 0 || a.Name[i] != ']' {
		return -1
	}
	j := i - 1
	for j >= 0 && a.Name[j] >= '0' && a.Name[j] <= '9' {
		j--
	}
	if j < 0 || a.Name[j] != '[' || j+1 == i {
		return -1
	}
	n := 0
	for _, c := range a.Name[j+1 : i] {
		n = n*10 + int(c-'0')
	}
	return n
}

// ClientTerminal reports whether the client has finished with the allocation.
func (a *Allocation) ClientTerminal() bool {
	switch a.ClientStatus {
	case AllocClientStatusComplete, AllocClientStatusFailed, AllocClientStatusLost:
		return true
	}
	return false
}

// ServerTerminal reports whether the servers want the allocation stopped
// (stop, or evict by preemption).
func (a *Allocation) ServerTerminal() bool {
	return a.DesiredStatus == AllocDesiredStatusStop || a.DesiredStatus == AllocDesiredStatusEvict
}

// TerminalStatus reports whether the allocation uses no resources any more, or
// will not once the client has acted.
func (a *Allocation) TerminalStatus() bool { return a.ServerTerminal() || a.ClientTerminal() }

// Comparable sums what the allocation asks of its node.
func (a *Allocation) Comparable() ComparableResources {
	if a.usageOf != nil && a.usageOf == a.AllocatedResources {
		return a.usage
	}
	var c ComparableResources
	if a.AllocatedResources == nil {
		return c
	}
	for _, r := range a.AllocatedResources.Tasks {
		c.Add(ComparableResources{CPU: r.CPU, MemoryMB: r.MemoryMB})
	}
	c.DiskMB = a.AllocatedResources.Shared.DiskMB
	return c
}

// HoldsPortsOrCores reports whether the allocation asks for host ports or
// reserved cores: what a sum of resources does not tell.
func (a *Allocation) HoldsPortsOrCores() bool {
	r := a.AllocatedResources
	if r == nil {
		return false
	}
	if len(r.Shared.Ports) > 0 {
		return true
	}
	for _, t := range r.Tasks {
		if t != nil && len(t.ReservedCores) > 0 {
			return true
		}
	}
	return false
}

// CacheComparable records Comparable() in a, for the schedulers' sums over
// every allocation of each candidate node. The state store calls it before
// it shares a; the cache holds only for the AllocatedResources it was
// computed from (a copy has its own and computes again).
func (a *Allocation) CacheComparable() {
	a.usageOf = nil
	a.usage, a.usageOf = a.Comparable(), a.AllocatedResources
}

// Copy returns a deep copy of the allocation, except Job, which is shared.
func (a *Allocation) Copy() *Allocation {
	if a == nil {
		return nil
	}
	c := *a
	if a.AllocatedResources != nil {
		ar := *a.AllocatedResources
		ar.Tasks = make(map[string]*Resources, len(a.AllocatedResources.Tasks))
		for k, r := range a.AllocatedResources.Tasks {
			ar.Tasks[k] = r.Copy()
		}
		ar.Shared.Ports = slices.Clone(a.AllocatedResources.Shared.Ports)
		c.AllocatedResources = &ar
	}
	if a.TaskStates != nil {
		c.TaskStates = make(map[string]*TaskState, len(a.TaskStates))
		for k, ts := range a.TaskStates {
			c.TaskStates[k] = ts.Copy()
		}
	}
	c.PreemptedAllocations = slices.Clone(a.PreemptedAllocations)
	c.Metrics = a.Metrics.Copy()
	c.RescheduleTracker = a.RescheduleTracker.Copy()
	c.DeploymentStatus = a.DeploymentStatus.Copy()
	return &c
}

// TaskStateName is the life-cycle state of a task on its client.
type TaskStateName string

const (
	TaskStatePending TaskStateName = "pending"
	TaskStateRunning TaskStateName = "running"
	TaskStateDead    TaskStateName = "dead"
)

// TaskState is a task's life on its client, with its recent events.
type TaskState struct {
	State       TaskStateName `codec:",omitempty"`
	Failed      bool          `codec:",omitempty"`
	Restarts    uint64        `codec:",omitempty"`
	LastRestart int64         `codec:",omitempty"` // unix nanoseconds
	StartedAt   int64         `codec:",omitempty"`
	FinishedAt  int64         `codec:",omitempty"`
	Events      []*TaskEvent  `codec:",omitempty"` // oldest first, at most MaxTaskEvents
}

// MaxTaskEvents bounds TaskState.Events; older events are dropped.
const MaxTaskEvents = 10

// Task event types, as in Nomad.
const (
	TaskReceived        = "Received"
	TaskSetup           = "Task Setup"
	TaskStarted         = "Started"
	TaskTerminated      = "Terminated"
	TaskRestarting      = "Restarting"
	TaskNotRestarting   = "Not Restarting"
	TaskKilling         = "Killing"
	TaskKilled          = "Killed"
	TaskDriverFailure   = "Driver Failure"
	TaskFailedValidate  = "Failed Validation"
	TaskRestoreFailed   = "Failed Restoring Task"
	TaskSiblingFailed   = "Sibling Task Failed"
	TaskMainDead        = "Main Tasks Dead"
	TaskClientReconnect = "Reconnected"
	TaskRestartSignal   = "Restart Signaled"
	TaskSignaling       = "Signaling"
)

// TaskEvent is one thing that happened to a task.
type TaskEvent struct {
	Type           string `codec:",omitempty"`
	Time           int64  `codec:",omitempty"` // unix nanoseconds
	DisplayMessage string `codec:",omitempty"`
	ExitCode       int    `codec:",omitempty"`
	Signal         int    `codec:",omitempty"`
	FailsTask      bool   `codec:",omitempty"`
	RestartReason  string `codec:",omitempty"`
	KillTimeout    int64  `codec:",omitempty"` // nanoseconds
	DriverError    string `codec:",omitempty"`
}

// AppendEvent adds ev, dropping the oldest events beyond MaxTaskEvents.
func (ts *TaskState) AppendEvent(ev *TaskEvent) {
	ts.Events = append(ts.Events, ev)
	if n := len(ts.Events); n > MaxTaskEvents {
		ts.Events = slices.Clone(ts.Events[n-MaxTaskEvents:])
	}
}

// Copy returns a deep copy of the task state.
func (ts *TaskState) Copy() *TaskState {
	if ts == nil {
		return nil
	}
	c := *ts
	c.Events = make([]*TaskEvent, len(ts.Events))
	for i, e := range ts.Events {
		c.Events[i] = clonePtr(e)
	}
	return &c
}

// AllocListStub is the summary of an allocation returned by list endpoints.
type AllocListStub struct {
	ID                 string
	EvalID             string
	Name               string
	Namespace          string
	NodeID             string
	NodeName           string
	JobID              string
	JobVersion         uint64
	TaskGroup          string
	DesiredStatus      AllocDesiredStatus
	DesiredDescription string
	ClientStatus       AllocClientStatus
	ClientDescription  string
	TaskStates         map[string]*TaskState
	DesiredTransition  DesiredTransition
	DeploymentID       string
	DeploymentStatus   *AllocDeploymentStatus
	// Rescheduling, as on the allocation (see Allocation); as in Nomad,
	// a replacement's PreviousAllocation is not in its list entry (its
	// predecessor's NextAllocation names it).
	NextAllocation    string
	RescheduleTracker *RescheduleTracker
	FollowupEvalID    string
	CreateIndex       uint64
	ModifyIndex       uint64
	CreateTime        int64
	ModifyTime        int64
}

// Stub summarises the allocation for list endpoints.
func (a *Allocation) Stub() *AllocListStub {
	s := &AllocListStub{
		ID: a.ID, EvalID: a.EvalID, Name: a.Name, Namespace: a.Namespace, NodeID: a.NodeID,
		NodeName: a.NodeName, JobID: a.JobID, TaskGroup: a.TaskGroup,
		DesiredStatus: a.DesiredStatus, DesiredDescription: a.DesiredDescription,
		ClientStatus: a.ClientStatus, ClientDescription: a.ClientDescription,
		DesiredTransition: a.DesiredTransition, DeploymentStatus: a.DeploymentStatus.Copy(),
		DeploymentID:      a.DeploymentID,
		NextAllocation:    a.NextAllocation,
		RescheduleTracker: a.RescheduleTracker.Copy(), FollowupEvalID: a.FollowupEvalID,
		CreateIndex: a.CreateIndex, ModifyIndex: a.ModifyIndex, CreateTime: a.CreateTime, ModifyTime: a.ModifyTime,
	}
	if a.Job != nil {
		s.JobVersion = a.Job.Version
	}
	if a.TaskStates != nil {
		s.TaskStates = make(map[string]*TaskState, len(a.TaskStates))
		for k, v := range a.TaskStates {
			s.TaskStates[k] = v.Copy()
		}
	}
	return s
}

// AllocMetric explains a placement decision, or why placement failed.
type AllocMetric struct {
	NodesEvaluated     int            `codec:",omitempty"`
	NodesFiltered      int            `codec:",omitempty"`
	NodesAvailable     map[string]int `codec:",omitempty"` // eligible nodes per datacenter
	ConstraintFiltered map[string]int `codec:",omitempty"` // by constraint, "${attr.kernel.name} = linux"
	NodesExhausted     int            `codec:",omitempty"`
	DimensionExhausted map[string]int `codec:",omitempty"` // "cpu", "memory", "disk"
	// ClassFiltered counts the nodes rejected by the checks cached per computed
	// class (drivers, constraints), by node class (nodes without one are not
	// counted), as in Nomad.
	ClassFiltered map[string]int `codec:",omitempty"`
	// ClassExhausted counts the nodes that passed every check but had no room
	// left, by node class (nodes without one are not counted), as in Nomad.
	ClassExhausted map[string]int `codec:",omitempty"`
	// ClassEligibility records, for a failed placement, the verdict of the
	// class checks per computed class seen in the evaluation: false when the
	// class can never run the group (whatever its free capacity), true when
	// it passed them. Classes not in it were not seen. The blocked evals use
	// it to ignore capacity that appears on infeasible classes.
	ClassEligibility map[string]bool `codec:",omitempty"`
	// ScoreMetaData holds the best scores seen, best first.
	ScoreMetaData     []*NodeScoreMeta `codec:",omitempty"`
	CoalescedFailures int              `codec:",omitempty"` // further identical failures of the same group
	AllocationTime    int64            `codec:",omitempty"`
}

// NodeScoreMeta is the score of one node for one placement.
type NodeScoreMeta struct {
	NodeID    string     `codec:",omitempty"`
	Scores    NodeScores `codec:",omitempty"`
	NormScore float64    `codec:",omitempty"`
}

// Copy returns a deep copy of the metric.
func (m *AllocMetric) Copy() *AllocMetric {
	if m == nil {
		return nil
	}
	c := *m
	c.NodesAvailable = maps.Clone(m.NodesAvailable)
	c.ConstraintFiltered = maps.Clone(m.ConstraintFiltered)
	c.DimensionExhausted = maps.Clone(m.DimensionExhausted)
	c.ClassFiltered = maps.Clone(m.ClassFiltered)
	c.ClassExhausted = maps.Clone(m.ClassExhausted)
	c.ClassEligibility = maps.Clone(m.ClassEligibility)
	c.ScoreMetaData = make([]*NodeScoreMeta, len(m.ScoreMetaData))
	for i, s := range m.ScoreMetaData {
		if sc := clonePtr(s); sc != nil {
			sc.Scores = slices.Clone(s.Scores)
			c.ScoreMetaData[i] = sc
		}
	}
	return &c
}
