package api

import "time"

// Allocation is an allocation on the wire (GET /v1/allocation/:id).
type Allocation struct {
	ID                    string
	Namespace             string
	EvalID                string
	Name                  string
	NodeID                string
	NodeName              string
	JobID                 string
	Job                   *Job
	TaskGroup             string
	AllocatedResources    *AllocatedResources
	Metrics               *AllocationMetric
	DesiredStatus         string
	DesiredDescription    string
	DesiredTransition     DesiredTransition
	ClientStatus          string
	ClientDescription     string
	TaskStates            map[string]*TaskState
	DeploymentID          string
	DeploymentStatus      *AllocDeploymentStatus
	FollowupEvalID        string
	PreviousAllocation    string
	NextAllocation        string
	RescheduleTracker     *RescheduleTracker
	PreemptedAllocations  []string
	PreemptedByAllocation string
	CreateIndex           uint64
	ModifyIndex           uint64
	AllocModifyIndex      uint64
	CreateTime            int64 // unix nanoseconds
	ModifyTime            int64
}

// AllocationListStub is an entry of the allocation lists.
type AllocationListStub struct {
	ID                 string
	EvalID             string
	Name               string
	Namespace          string
	NodeID             string
	NodeName           string
	JobID              string
	JobType            string
	JobVersion         uint64
	TaskGroup          string
	AllocatedResources *AllocatedResources `json:",omitempty"`
	DesiredStatus      string
	DesiredDescription string
	ClientStatus       string
	ClientDescription  string
	// DesiredTransition is in the list entries Nomad's servers send, though
	// not in its Go client's type.
	DesiredTransition     DesiredTransition
	TaskStates            map[string]*TaskState
	DeploymentStatus      *AllocDeploymentStatus
	FollowupEvalID        string
	NextAllocation        string
	RescheduleTracker     *RescheduleTracker
	PreemptedAllocations  []string
	PreemptedByAllocation string
	CreateIndex           uint64
	ModifyIndex           uint64
	CreateTime            int64
	ModifyTime            int64
}

// DesiredTransition is what the servers want of a running allocation beyond
// its desired status; Migrate is null until set, as Nomad sends it.
type DesiredTransition struct {
	Migrate *bool
}

// AllocDeploymentStatus is an allocation's health as its client reports it;
// Healthy is null until the client decides.
type AllocDeploymentStatus struct {
	Healthy     *bool
	Timestamp   time.Time
	Canary      bool
	ModifyIndex uint64
}

// RescheduleTracker lists the replacements of failed allocations that led
// to an allocation, oldest first.
type RescheduleTracker struct {
	Events []*RescheduleEvent
}

// RescheduleEvent is one replacement. Delay, the wait the policy imposed
// before it, is in the events Nomad's servers send, though not in its Go
// client's type.
type RescheduleEvent struct {
	RescheduleTime int64 // unix nanoseconds
	PrevAllocID    string
	PrevNodeID     string
	Delay          time.Duration
}

// AllocatedResources are what the scheduler reserved for an allocation,
// nested as Nomad's.
type AllocatedResources struct {
	Tasks  map[string]*AllocatedTaskResources
	Shared AllocatedSharedResources
}

// AllocatedTaskResources are one task's reserved resources.
type AllocatedTaskResources struct {
	Cpu    AllocatedCpuResources
	Memory AllocatedMemoryResources
}

// AllocatedCpuResources is a task's CPU, in MHz, and the cores it holds.
type AllocatedCpuResources struct {
	CpuShares     int64
	ReservedCores []uint16
}

// AllocatedMemoryResources is a task's memory; MemoryMaxMB is its hard
// limit under memory oversubscription, 0 without.
type AllocatedMemoryResources struct {
	MemoryMB    int64
	MemoryMaxMB int64
}

// AllocatedSharedResources are shared by a group's tasks.
type AllocatedSharedResources struct {
	DiskMB int64
	Ports  []PortMapping
}

// PortMapping is a host port allocated to a group.
type PortMapping struct {
	Label  string
	Value  int
	To     int
	HostIP string
}

// TaskState is a task's life on its client.
type TaskState struct {
	State       string
	Failed      bool
	Restarts    uint64
	LastRestart time.Time
	StartedAt   time.Time
	FinishedAt  time.Time
	Events      []*TaskEvent
}

// TaskEvent is one thing that happened to a task.
type TaskEvent struct {
	Type           string
	Time           int64 // unix nanoseconds
	DisplayMessage string
	FailsTask      bool
	RestartReason  string
	DriverError    string
	ExitCode       int
	Signal         int
	KillTimeout    time.Duration
}

// AllocationMetric explains a placement, or why it failed.
type AllocationMetric struct {
	NodesEvaluated     int
	NodesFiltered      int
	NodesAvailable     map[string]int
	ClassFiltered      map[string]int
	ConstraintFiltered map[string]int
	NodesExhausted     int
	ClassExhausted     map[string]int
	DimensionExhausted map[string]int
	AllocationTime     time.Duration
	CoalescedFailures  int
	ScoreMetaData      []*NodeScoreMeta
}

// NodeScoreMeta is the score of one node for one placement.
type NodeScoreMeta struct {
	NodeID    string
	Scores    map[string]float64
	NormScore float64
}

// Evaluation is an evaluation on the wire.
type Evaluation struct {
	ID                string
	Priority          int
	Type              string
	TriggeredBy       string
	Namespace         string
	JobID             string
	JobModifyIndex    uint64
	NodeID            string
	Status            string
	StatusDescription string
	WaitUntil         time.Time
	NextEval          string
	PreviousEval      string
	BlockedEval       string
	FailedTGAllocs    map[string]*AllocationMetric
	ClassEligibility  map[string]bool
	AnnotatePlan      bool
	QueuedAllocations map[string]int
	SnapshotIndex     uint64
	CreateIndex       uint64
	ModifyIndex       uint64
	CreateTime        int64
	ModifyTime        int64
	// RelatedEvals are the evaluations linked to this one by NextEval,
	// PreviousEval and BlockedEval, transitively: sent on
	// GET /v1/evaluation/:id?related=true (as Nomad's client asks).
	RelatedEvals []*EvaluationStub `json:",omitempty"`
}

// EvaluationStub is an evaluation in RelatedEvals.
type EvaluationStub struct {
	ID                string
	Priority          int
	Type              string
	TriggeredBy       string
	Namespace         string
	JobID             string
	NodeID            string
	DeploymentID      string
	Status            string
	StatusDescription string
	WaitUntil         time.Time
	NextEval          string
	PreviousEval      string
	BlockedEval       string
	CreateIndex       uint64
	ModifyIndex       uint64
	CreateTime        int64
	ModifyTime        int64
}

// EvalStubFromWire is e as a RelatedEvals entry.
func EvalStubFromWire(e *Evaluation) *EvaluationStub {
	return &EvaluationStub{ID: e.ID, Priority: e.Priority, Type: e.Type, TriggeredBy: e.TriggeredBy, Namespace: e.Namespace,
		JobID: e.JobID, NodeID: e.NodeID, Status: e.Status, StatusDescription: e.StatusDescription, WaitUntil: e.WaitUntil,
		NextEval: e.NextEval, PreviousEval: e.PreviousEval, BlockedEval: e.BlockedEval, CreateIndex: e.CreateIndex,
		ModifyIndex: e.ModifyIndex, CreateTime: e.CreateTime, ModifyTime: e.ModifyTime}
}
