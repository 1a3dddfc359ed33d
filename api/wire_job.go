package api

import (
	"time"

	"github.com/orch-io/orch/structs"
)

// The job as Nomad's JSON has it (wire.go says the rules). Pointer fields are
// those Nomad's client leaves nil when unset; JobToStructs gives them orch's
// defaults, for an API body and a `job run -json` file alike.

// Job is a job on the wire.
type Job struct {
	Region           *string
	Namespace        *string
	ID               *string
	Name             *string
	Type             *string
	Priority         *int
	AllAtOnce        *bool
	Datacenters      []string
	NodePool         *string
	Constraints      []*Constraint
	Affinities       []*Affinity
	TaskGroups       []*TaskGroup
	Update           *UpdateStrategy
	Multiregion      Unsupported
	Spreads          []*Spread
	Periodic         *PeriodicConfig
	ParameterizedJob *ParameterizedJobConfig
	Reschedule       *ReschedulePolicy
	Migrate          *MigrateStrategy
	Meta             map[string]string
	UI               *JobUIConfig

	Stop                     *bool
	ParentID                 *string
	Dispatched               bool
	DispatchIdempotencyToken *string
	Payload                  []byte
	ConsulNamespace          Unsupported
	VaultNamespace           Unsupported
	NomadTokenID             Unsupported
	Status                   *string
	StatusDescription        *string
	Stable                   *bool
	Version                  *uint64
	SubmitTime               *int64
	CreateIndex              *uint64
	ModifyIndex              *uint64
	JobModifyIndex           *uint64
	VersionTag               Unsupported
}

// TaskGroup is a task group on the wire.
type TaskGroup struct {
	Name                      *string
	Count                     *int
	Constraints               []*Constraint
	Affinities                []*Affinity
	Tasks                     []*Task
	Spreads                   []*Spread
	Volumes                   Unsupported
	RestartPolicy             *RestartPolicy
	Disconnect                Unsupported
	ReschedulePolicy          *ReschedulePolicy
	EphemeralDisk             *EphemeralDisk
	Update                    *UpdateStrategy
	Migrate                   *MigrateStrategy
	Networks                  []*NetworkResource
	Meta                      map[string]string
	Services                  []*Service
	ShutdownDelay             Unsupported
	MaxRunDuration            Unsupported
	StopAfterClientDisconnect Unsupported
	MaxClientDisconnect       Unsupported
	Scaling                   Unsupported
	Consul                    Unsupported
	PreventRescheduleOnLost   Unsupported
}

// TaskLifecycle is a task's lifecycle block on the wire.
type TaskLifecycle struct {
	Hook    string `json:"Hook"`
	Sidecar bool   `json:"Sidecar"`
}

// Task is a task on the wire.
type Task struct {
	Name            string
	Driver          string
	User            string
	Lifecycle       *TaskLifecycle
	Config          map[string]any
	Constraints     []*Constraint
	Affinities      []*Affinity
	Env             map[string]string
	Services        []*Service
	Resources       *Resources
	RestartPolicy   Unsupported
	Meta            map[string]string
	KillTimeout     *time.Duration
	LogConfig       *LogConfig
	Artifacts       Unsupported
	Vault           Unsupported
	Consul          Unsupported
	Templates       []*Template
	DispatchPayload *DispatchPayloadConfig
	VolumeMounts    Unsupported
	CSIPluginConfig Unsupported
	Leader          Unsupported
	ShutdownDelay   Unsupported
	KillSignal      string
	Kind            Unsupported
	ScalingPolicies Unsupported
	Secrets         Unsupported
	Identity        Unsupported
	Identities      Unsupported
	Actions         Unsupported
	Schedule        Unsupported
}

// Resources are a task's resources on the wire.
type Resources struct {
	CPU         *int
	Cores       *int
	MemoryMB    *int
	MemoryMaxMB *int
	DiskMB      Unsupported
	Networks    Unsupported
	Devices     Unsupported
	NUMA        Unsupported
	SecretsMB   Unsupported
	IOPS        Unsupported
}

// RestartPolicy is a group's restart block on the wire.
type RestartPolicy struct {
	Interval        *time.Duration
	Attempts        *int
	Delay           *time.Duration
	Mode            *string
	RenderTemplates Unsupported
}

// ReschedulePolicy is a reschedule block on the wire: a group's, or the
// job's (which every group starts from).
type ReschedulePolicy struct {
	Attempts      *int
	Interval      *time.Duration
	Delay         *time.Duration
	DelayFunction *string
	MaxDelay      *time.Duration
	Unlimited     *bool
}

// MigrateStrategy is a migrate block on the wire: a group's, or the job's
// (which every group starts from).
type MigrateStrategy struct {
	MaxParallel     *int
	HealthCheck     *string
	MinHealthyTime  *time.Duration
	HealthyDeadline *time.Duration
}

// UpdateStrategy is an update block on the wire (Nomad's UpdateStrategy:
// durations in nanoseconds).
type UpdateStrategy struct {
	Stagger          *time.Duration
	MaxParallel      *int
	HealthCheck      *string
	MinHealthyTime   *time.Duration
	HealthyDeadline  *time.Duration
	ProgressDeadline *time.Duration
	Canary           *int
	AutoRevert       *bool
	AutoPromote      *bool
}

// EphemeralDisk is a group's ephemeral_disk block on the wire.
type EphemeralDisk struct {
	Sticky  Unsupported
	Migrate Unsupported
	SizeMB  *int
}

// NetworkResource is a group's network block on the wire.
type NetworkResource struct {
	Mode          string
	Device        Unsupported
	CIDR          Unsupported
	IP            Unsupported
	DNS           Unsupported
	ReservedPorts []Port
	DynamicPorts  []Port
	Hostname      Unsupported
	MBits         Unsupported
	CNI           Unsupported
}

// Port is a port of a network block on the wire.
type Port struct {
	Label           string
	Value           int
	To              int
	HostNetwork     Unsupported
	IgnoreCollision Unsupported
}

// Constraint is a constraint on the wire.
type Constraint struct {
	LTarget string
	RTarget string
	Operand string
}

// Affinity is an affinity on the wire; a nil Weight is the default weight.
type Affinity struct {
	LTarget string
	RTarget string
	Operand string
	Weight  *int8
}

// Spread is a spread on the wire; a nil Weight is the default weight.
type Spread struct {
	Attribute    string
	Weight       *int8
	SpreadTarget []*SpreadTarget
}

// SpreadTarget is a spread's target on the wire.
type SpreadTarget struct {
	Value   string
	Percent uint8
}

// JobListStub is an entry of GET /v1/jobs.
type JobListStub struct {
	ID                string
	ParentID          string
	Name              string
	Namespace         string
	Datacenters       []string
	Type              string
	Priority          int
	Periodic          bool
	ParameterizedJob  bool
	Stop              bool
	Status            string
	StatusDescription string
	JobSummary        *JobSummary
	CreateIndex       uint64
	ModifyIndex       uint64
	JobModifyIndex    uint64
	SubmitTime        int64
	// Meta is sent only with ?meta=true, as Nomad's.
	Meta map[string]string `json:",omitempty"`
}

// JobSummary counts a job's allocations per group and client status: the
// body of GET /v1/job/:id/summary and JobListStub.JobSummary.
type JobSummary struct {
	JobID       string
	Namespace   string
	Summary     map[string]TaskGroupSummary
	Children    *JobChildrenSummary
	CreateIndex uint64
	ModifyIndex uint64
}

// TaskGroupSummary counts one group's allocations by client status; Queued
// are those the scheduler could not place yet.
type TaskGroupSummary struct {
	Queued   int
	Complete int
	Failed   int
	Running  int
	Starting int
	Lost     int
	Unknown  int
}

// JobChildrenSummary counts the children of a periodic or parameterized job
// by status (zero for other jobs).
type JobChildrenSummary struct {
	Pending int64
	Running int64
	Dead    int64
}

// JobRegisterRequest is the body of PUT /v1/jobs and PUT /v1/job/:id.
// Region, Namespace and SecretID are Nomad's WriteRequest; SecretID (an ACL
// token) is read and ignored: orch has no ACLs, and a token is not part of
// the job.
type JobRegisterRequest struct {
	// Submission is the job file as Nomad's CLI (1.6 and later) sends it
	// with every `job run`. orch accepts it, checked for its shape, and does
	// not keep it (README "Nomad's tools"): refusing it would break Nomad's
	// CLI, and orch's job versions keep the job itself.
	Submission        *JobSubmission `json:",omitempty"`
	Job               *Job
	EnforceIndex      bool   `json:",omitempty"`
	JobModifyIndex    uint64 `json:",omitempty"`
	PolicyOverride    Unsupported
	PreserveCounts    Unsupported
	PreserveResources Unsupported
	EvalPriority      Unsupported
	Region            string `json:",omitempty"`
	Namespace         string `json:",omitempty"`
	SecretID          string `json:",omitempty"`
}

// JobPlanRequest is the body of PUT /v1/job/:id/plan.
type JobPlanRequest struct {
	Job            *Job
	Diff           bool
	PolicyOverride Unsupported
	Region         string `json:",omitempty"`
	Namespace      string `json:",omitempty"`
	SecretID       string `json:",omitempty"`
}

// JobRegisterResponse answers a registration.
type JobRegisterResponse struct {
	EvalID          string
	EvalCreateIndex uint64
	JobModifyIndex  uint64
	Warnings        string
	// Index is the write's Raft index, in the body as Nomad's server sends
	// it (Nomad's client type reads it from the X-Nomad-Index header).
	Index uint64
}

// JobDeregisterResponse answers a deregistration.
type JobDeregisterResponse struct {
	EvalID          string
	EvalCreateIndex uint64
	JobModifyIndex  uint64
	Index           uint64
}

// JobPlanResponse answers a plan. The diff types are Nomad's shape already.
type JobPlanResponse struct {
	JobModifyIndex uint64
	CreatedEvals   []*Evaluation
	Diff           *structs.JobDiff
	Annotations    *PlanAnnotations
	FailedTGAllocs map[string]*AllocationMetric
	// Deployment is orch's: the deployment the change would create.
	Deployment *Deployment `json:",omitempty"`
	Warnings   string
}

// PlanAnnotations explain a plan.
type PlanAnnotations struct {
	DesiredTGUpdates map[string]*structs.DesiredUpdates
	PreemptedAllocs  []*AllocationListStub
}

// LogConfig is a task's logs block, as Nomad's JSON has it (Enabled is
// Nomad's older spelling of !Disabled, still accepted).
type LogConfig struct {
	MaxFiles      *int  `json:",omitempty"`
	MaxFileSizeMB *int  `json:",omitempty"`
	Enabled       *bool `json:",omitempty"`
	Disabled      *bool `json:",omitempty"`
}

// JobValidateRequest is the body of PUT/POST /v1/validate/job (Nomad's).
type JobValidateRequest struct {
	Job              *Job
	Region           string `json:",omitempty"`
	Namespace        string `json:",omitempty"`
	SecretID         string `json:",omitempty"`
	IdempotencyToken string `json:",omitempty"`
}

// JobValidateResponse is the answer of /v1/validate/job: a job that fails
// validation is a 200 whose ValidationErrors list every problem (Error joins
// them), as Nomad answers; a body that is not a job is a 400.
type JobValidateResponse struct {
	DriverConfigValidated bool
	ValidationErrors      []string
	Error                 string
	Warnings              string
}

// JobsParseRequest is the body of PUT/POST /v1/jobs/parse: an HCL job file
// (and, optionally, the text of a variable file) that the agent parses into
// the JSON of a Job. HCLv1 is refused: orch reads HCL2 only.
type JobsParseRequest struct {
	JobHCL       string
	HCLv1        bool `json:"hclv1,omitempty"`
	Variables    string
	Canonicalize bool
}

// JobSubmission is the source of a job as submitted (Nomad's): its file's
// text, format ("hcl2" or "json") and the variables given with -var and
// -var-file.
type JobSubmission struct {
	Source        string
	Format        string
	VariableFlags map[string]string `json:",omitempty"`
	Variables     string            `json:",omitempty"`
}

// JobUIConfig is a job's ui block in Nomad's JSON.
type JobUIConfig struct {
	Description string
	Links       []*JobUILink
}

// JobUILink is one link of a job's ui block.
type JobUILink struct {
	Label string
	URL   string
}

// PeriodicConfig is a job's periodic block on the wire (Nomad's).
type PeriodicConfig struct {
	Enabled         *bool
	Spec            *string
	Specs           []string
	SpecType        *string
	ProhibitOverlap *bool
	TimeZone        *string
}

// ParameterizedJobConfig is a job's parameterized block on the wire.
type ParameterizedJobConfig struct {
	Payload      string
	MetaRequired []string
	MetaOptional []string
}

// DispatchPayloadConfig is a task's dispatch_payload block on the wire.
type DispatchPayloadConfig struct {
	File string
}

// JobDispatchRequest is the body of PUT/POST /v1/job/:id/dispatch
// (Nomad's; Payload is base64 in JSON). The idempotency token comes in the
// query (?idempotency_token=), as Nomad's client sends it.
type JobDispatchRequest struct {
	JobID            string
	Payload          []byte
	Meta             map[string]string
	IdPrefixTemplate Unsupported
	Priority         Unsupported
	Region           string `json:",omitempty"`
	Namespace        string `json:",omitempty"`
	SecretID         string `json:",omitempty"`
}

// JobDispatchResponse answers a dispatch.
type JobDispatchResponse struct {
	DispatchedJobID string
	EvalID          string
	EvalCreateIndex uint64
	JobCreateIndex  uint64
	Index           uint64
}

// PeriodicForceResponse answers PUT /v1/job/:id/periodic/force.
type PeriodicForceResponse struct {
	EvalID          string
	EvalCreateIndex uint64
	Index           uint64
}
