package structs

import (
	"maps"
	"slices"
	"time"
)

// JobType selects the scheduler that places a job.
type JobType string

const (
	JobTypeService JobType = "service"
	JobTypeBatch   JobType = "batch"
	JobTypeSystem  JobType = "system"
	// JobTypeSysBatch is a system job that runs to completion: one allocation
	// per node, not run again on a node where it completed.
	JobTypeSysBatch JobType = "sysbatch"
)

// JobStatus is derived by the server from the job's allocations and evaluations.
type JobStatus string

const (
	JobStatusPending JobStatus = "pending" // registered, nothing running yet
	JobStatusRunning JobStatus = "running" // allocations placed or evaluations in flight
	JobStatusDead    JobStatus = "dead"    // stopped, or every allocation terminal
)

const (
	DefaultNamespace   = "default"
	DefaultRegion      = "global"
	DefaultJobPriority = 50
	MinJobPriority     = 1
	MaxJobPriority     = 100
)

// Job is the unit a user submits: one or more task groups, placed together by
// the scheduler named by Type.
type Job struct {
	Region    string
	Namespace string
	ID        string
	Name      string
	Type      JobType
	Priority  int
	// AllAtOnce makes each of the job's plans all or nothing: the plan applier
	// commits every placement or none.
	AllAtOnce   bool
	Datacenters []string // glob patterns; default ["*"]
	// NodePool is the pool of nodes the job may run on: "default" unless set;
	// "all" means any node.
	NodePool    string
	Constraints []*Constraint
	TaskGroups  []*TaskGroup
	Meta        map[string]string
	Affinities  []*Affinity // placement preferences; see affinity.go
	Spreads     []*Spread   // see spread.go
	// Update is the job's update block (update.go): the default of every
	// group's; Canonicalize copies it into the groups that have none.
	Update *UpdateStrategy
	// Periodic makes the job a periodic parent, ParameterizedJob a
	// parameterized one (periodic.go): neither is scheduled itself.
	Periodic         *PeriodicConfig
	ParameterizedJob *ParameterizedJobConfig
	// UI is the job's ui block, Nomad's presentation of the job in its web
	// UI (a description and links); nothing in orch acts on it.
	UI *JobUIConfig
	// ParentID is the periodic or parameterized job this one was launched
	// from ("" for a job registered by a user); Dispatched is set on a
	// dispatched child, which carries the dispatch's Payload (at most
	// DispatchPayloadSizeLimit bytes) and, in Meta, its meta.
	ParentID                 string
	Dispatched               bool
	Payload                  []byte
	DispatchIdempotencyToken string

	// Stop is set by a deregister without purge: the job stays, its allocations stop.
	Stop   bool
	Status JobStatus
	// StatusDescription says why the job has its status, for humans.
	StatusDescription string

	// Version counts the registrations that changed the job's specification.
	Version uint64
	// Stable is set once a deployment of this version succeeded (or by the
	// operator): auto_revert goes back to the latest stable version.
	Stable     bool
	SubmitTime int64 // unix nanoseconds

	CreateIndex    uint64
	ModifyIndex    uint64 // any change, status included
	JobModifyIndex uint64 // changes to the specification only
}

// TaskGroup is a set of tasks always placed together on one node, Count times.
type TaskGroup struct {
	Name          string
	Count         int
	Constraints   []*Constraint
	Tasks         []*Task
	RestartPolicy *RestartPolicy
	// ReschedulePolicy replaces failed allocations (reschedule.go); nil in
	// system and sysbatch jobs.
	ReschedulePolicy *ReschedulePolicy
	// Migrate paces drains (migrate.go); nil outside service jobs.
	Migrate       *MigrateStrategy
	EphemeralDisk *EphemeralDisk
	Meta          map[string]string
	// Networks holds the group's network block (at most one): the host ports
	// its allocations need. See network.go.
	Networks   []*NetworkResource
	Affinities []*Affinity
	Spreads    []*Spread
	// Services are the group's service blocks (services.go).
	Services []*Service
	// Update is the group's effective update block (update.go); nil: no
	// deployment, a new version replaces every allocation at once.
	Update *UpdateStrategy
}

// Task is one process (or container) run by a driver.
type Task struct {
	Name        string
	Driver      string
	User        string
	Config      map[string]any // driver specific; validated by the driver
	Env         map[string]string
	Meta        map[string]string
	Constraints []*Constraint
	Affinities  []*Affinity
	Resources   *Resources
	KillTimeout time.Duration // default 5s
	KillSignal  string        // default SIGINT, as in Nomad
	LogConfig   *LogConfig    // nil: DefaultLogConfig
	// Services are the task's service blocks (services.go).
	Services []*Service
	// Templates are the task's template blocks (templates.go).
	Templates []*Template
	// Lifecycle makes the task a prestart, poststart or poststop task of
	// its group; nil: a main task.
	Lifecycle *TaskLifecycle
	// DispatchPayload writes a dispatched job's payload to local/<File>.
	DispatchPayload *DispatchPayloadConfig
}

// Task lifecycle hooks, Nomad's.
const (
	TaskLifecycleHookPrestart  = "prestart"
	TaskLifecycleHookPoststart = "poststart"
	TaskLifecycleHookPoststop  = "poststop"
)

// TaskLifecycle is a task's lifecycle block. The client starts a group's
// prestart tasks first, its main tasks once every prestart task that is not
// a sidecar has completed successfully and every prestart sidecar runs, its
// poststart tasks once every main task runs, and its poststop tasks once
// every main task has stopped. A task that is not a sidecar runs to
// completion: its successful exit ends it, whatever the job's type. Sidecars
// run (and restart) as long as the main tasks do, and are stopped when
// they have all stopped.
type TaskLifecycle struct {
	Hook    string
	Sidecar bool
}

// Resources asked by one task, or (in AllocatedResources.Tasks) given to it.
type Resources struct {
	CPU int // MHz; with Cores, the MHz of those cores on the node (allocated only)
	// Cores asks for that many whole CPU cores, the task's alone. A task asks
	// for cpu or for cores, not both (Validate).
	Cores    int
	MemoryMB int
	// MemoryMaxMB is the most memory the task may use when memory
	// oversubscription is enabled (SchedulerConfiguration), MemoryMB being
	// what the scheduler reserves; 0 means MemoryMB. In AllocatedResources it
	// is 0 unless oversubscription was enabled when the task was placed.
	MemoryMaxMB int `json:",omitempty"`
	// ReservedCores are the IDs of the cores the scheduler gave the task
	// (AllocatedResources only), sorted; len(ReservedCores) == Cores.
	ReservedCores []int `json:",omitempty"`
}

// Copy returns a deep copy. Safe on nil.
func (r *Resources) Copy() *Resources {
	c := clonePtr(r)
	if c != nil {
		c.ReservedCores = slices.Clone(r.ReservedCores)
	}
	return c
}

// EphemeralDisk is the scratch disk shared by the tasks of a group.
type EphemeralDisk struct {
	SizeMB int
}

// RestartPolicy modes.
const (
	RestartPolicyModeFail  = "fail"  // give up after Attempts in Interval: the task fails
	RestartPolicyModeDelay = "delay" // after Attempts in Interval, wait out the interval and go on
)

// RestartPolicy says how the client restarts a task that exits, in place.
type RestartPolicy struct {
	Attempts int
	Interval time.Duration
	Delay    time.Duration
	Mode     string
}

// Constraint operands supported so far.
const (
	ConstraintEqual    = "="
	ConstraintNotEqual = "!="
)

// Constraint filters nodes: LTarget Operand RTarget, where targets may name node
// attributes as ${attr.kernel.name}, ${node.datacenter}, ${meta.rack}, ...
type Constraint struct {
	LTarget string
	RTarget string
	Operand string
}

// LookupTaskGroup returns the group named name, or nil.
func (j *Job) LookupTaskGroup(name string) *TaskGroup {
	for _, tg := range j.TaskGroups {
		if tg.Name == name {
			return tg
		}
	}
	return nil
}

// LookupTask returns the task named name, or nil.
func (tg *TaskGroup) LookupTask(name string) *Task {
	for _, t := range tg.Tasks {
		if t.Name == name {
			return t
		}
	}
	return nil
}

// Stopped reports whether the job should run nothing: it was stopped, or it
// is a periodic or parameterized parent, whose children run instead (the
// schedulers place nothing for it, and stop what an earlier, plain version
// of it placed).
func (j *Job) Stopped() bool { return j == nil || j.Stop || j.IsParent() }

// Copy returns a deep copy of the job.
func (j *Job) Copy() *Job {
	if j == nil {
		return nil
	}
	c := *j
	// Every list may hold nil entries (a job as decoded from JSON, before
	// Validate rejects it); they are copied as nil, never dereferenced.
	c.Datacenters = slices.Clone(j.Datacenters)
	c.Constraints = clonePtrs(j.Constraints)
	c.Meta = maps.Clone(j.Meta)
	c.Affinities, c.Spreads = copyAffinities(j.Affinities), copySpreads(j.Spreads)
	c.Update = j.Update.Copy()
	c.Periodic, c.ParameterizedJob = j.Periodic.Copy(), j.ParameterizedJob.Copy()
	c.UI = j.UI.Copy()
	c.Payload = slices.Clone(j.Payload)
	if j.TaskGroups != nil {
		c.TaskGroups = make([]*TaskGroup, len(j.TaskGroups))
		for i, tg := range j.TaskGroups {
			c.TaskGroups[i] = tg.Copy()
		}
	}
	return &c
}

// Copy returns a deep copy of the group.
func (tg *TaskGroup) Copy() *TaskGroup {
	if tg == nil {
		return nil
	}
	c := *tg
	c.Constraints = clonePtrs(tg.Constraints)
	c.Meta = maps.Clone(tg.Meta)
	c.Affinities, c.Spreads = copyAffinities(tg.Affinities), copySpreads(tg.Spreads)
	c.RestartPolicy = clonePtr(tg.RestartPolicy)
	c.EphemeralDisk = clonePtr(tg.EphemeralDisk)
	c.ReschedulePolicy = tg.ReschedulePolicy.Copy()
	c.Migrate = tg.Migrate.Copy()
	c.Update = tg.Update.Copy()
	c.Networks = copyNetworks(tg.Networks)
	c.Services = copyServices(tg.Services)
	if tg.Tasks != nil {
		c.Tasks = make([]*Task, len(tg.Tasks))
		for i, t := range tg.Tasks {
			c.Tasks[i] = t.Copy()
		}
	}
	return &c
}

// Copy returns a deep copy of the task. Config values are copied one level deep;
// drivers treat them as read-only.
func (t *Task) Copy() *Task {
	if t == nil {
		return nil
	}
	c := *t
	c.Config = copyConfig(t.Config)
	c.Env = maps.Clone(t.Env)
	c.Meta = maps.Clone(t.Meta)
	c.Constraints = clonePtrs(t.Constraints)
	c.Affinities = copyAffinities(t.Affinities)
	c.Resources = t.Resources.Copy()
	c.LogConfig = clonePtr(t.LogConfig)
	c.Services = copyServices(t.Services)
	c.Templates = copyTemplates(t.Templates)
	c.Lifecycle = clonePtr(t.Lifecycle)
	c.DispatchPayload = clonePtr(t.DispatchPayload)
	return &c
}

// clonePtrs returns a copy of s whose entries are shallow copies of s's,
// nil for nil (a nil entry stays nil: Validate reports it).
func clonePtrs[T any](s []*T) []*T {
	if s == nil {
		return nil
	}
	out := make([]*T, len(s))
	for i, p := range s {
		out[i] = clonePtr(p)
	}
	return out
}

// clonePtr returns a shallow copy of *p in a new variable, nil for nil.
func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	c := *p
	return &c
}

func copyConfig(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		switch v := v.(type) {
		case []any:
			out[k] = slices.Clone(v)
		case []string:
			out[k] = slices.Clone(v)
		case map[string]any:
			out[k] = maps.Clone(v)
		default:
			out[k] = v
		}
	}
	return out
}

// JobListStub is the summary of a job returned by list endpoints.
type JobListStub struct {
	ID                string
	ParentID          string
	Periodic          bool
	Parameterized     bool
	Name              string
	Namespace         string
	Type              JobType
	Priority          int
	Status            JobStatus
	StatusDescription string
	Stop              bool
	Datacenters       []string
	Version           uint64
	SubmitTime        int64
	CreateIndex       uint64
	ModifyIndex       uint64
	JobModifyIndex    uint64
	// JobSummary counts the job's allocations (SummarizeJob); filled by the
	// servers' Job.List.
	JobSummary *JobSummary
	// Meta is the job's meta; the API sends it only with ?meta=true (as
	// Nomad). Shared with the job: read only.
	Meta map[string]string
}

// Stub summarises the job for list endpoints.
func (j *Job) Stub() *JobListStub {
	return &JobListStub{
		ID: j.ID, ParentID: j.ParentID, Periodic: j.IsPeriodic(), Parameterized: j.IsParameterized(),
		Name: j.Name, Namespace: j.Namespace, Type: j.Type, Priority: j.Priority,
		Status: j.Status, StatusDescription: j.StatusDescription, Stop: j.Stop,
		Datacenters: slices.Clone(j.Datacenters), Version: j.Version, SubmitTime: j.SubmitTime,
		CreateIndex: j.CreateIndex, ModifyIndex: j.ModifyIndex, JobModifyIndex: j.JobModifyIndex,
		Meta: j.Meta,
	}
}

// LogConfig is a task's logs block: its stdout and stderr are each kept in at
// most MaxFiles files of at most MaxFileSizeMB, as Nomad's.
type LogConfig struct {
	MaxFiles      int
	MaxFileSizeMB int
	Disabled      bool
}

// Nomad's defaults for a task's logs block.
const (
	DefaultLogMaxFiles      = 10
	DefaultLogMaxFileSizeMB = 10
)

// DefaultLogConfig returns Nomad's defaults.
func DefaultLogConfig() *LogConfig {
	return &LogConfig{MaxFiles: DefaultLogMaxFiles, MaxFileSizeMB: DefaultLogMaxFileSizeMB}
}

// JobUIConfig is a job's ui block, as Nomad's: a description and links the
// web UI shows with the job.
type JobUIConfig struct {
	Description string
	Links       []*JobUILink
}

// JobUILink is one link of a job's ui block.
type JobUILink struct {
	Label string
	URL   string
}

// Copy returns a deep copy of the ui block.
func (u *JobUIConfig) Copy() *JobUIConfig {
	if u == nil {
		return nil
	}
	c := *u
	c.Links = clonePtrs(u.Links)
	return &c
}
