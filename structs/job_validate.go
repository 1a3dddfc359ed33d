package structs

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Limits checked by Validate. The configurable ones are in Limits (limits.go).
const (
	MinTaskCPU         = 1  // MHz
	MinTaskMemoryMB    = 10 // MB
	MinEphemeralDiskMB = 10 // MB
)

// ValidationError is one problem Validate found. Validate returns them joined
// (errors.Join); callers that want to place a problem (jobspec points at the
// block or attribute in the job file) get each one with errors.As on the
// joined error's Unwrap() []error.
//
// Field names are the job file's (HCL) names, so the same message reads right
// to a user of the CLI and of the HTTP API.
type ValidationError struct {
	// GroupIndex is the index in Job.TaskGroups of the group the problem is in,
	// or -1 when it is about the job itself.
	GroupIndex int
	Group      string // the group's name; "" when GroupIndex is -1
	// TaskIndex is the index in the group's Tasks of the task the problem is in,
	// or -1 when it is about the job or the group itself.
	TaskIndex int
	Task      string // the task's name; "" when TaskIndex is -1
	// Field is the job file name of the field, dotted and indexed below the
	// object: "count", "resources.cpu", "restart.mode", "constraint[0].operator".
	// "" when the problem is the object itself (a nil group, a duplicate name).
	Field string
	// Value is the offending value written as in a job file: -1, "my job", "30s".
	// "" when there is no single value to show.
	Value string
	Rule  string // what must hold, e.g. "must be >= 0"
}

// Error formats the problem as `group "web": task "srv": resources.cpu = 0: must be >= 1 (MHz)`.
func (e *ValidationError) Error() string {
	var b strings.Builder
	sep := func() {
		if b.Len() > 0 {
			b.WriteString(": ")
		}
	}
	if e.GroupIndex >= 0 {
		b.WriteString(objectRef("group", e.Group, e.GroupIndex))
	}
	if e.TaskIndex >= 0 {
		sep()
		b.WriteString(objectRef("task", e.Task, e.TaskIndex))
	}
	if e.Field != "" {
		sep()
		b.WriteString(e.Field)
		if e.Value != "" {
			b.WriteString(" = ")
			b.WriteString(e.Value)
		}
	}
	sep()
	b.WriteString(e.Rule)
	return b.String()
}

// objectRef names a group or task by its name, or by its index when it has none.
func objectRef(kind, name string, index int) string {
	if name == "" {
		return fmt.Sprintf("%s[%d]", kind, index)
	}
	return fmt.Sprintf("%s %q", kind, name)
}

// Validate is ValidateWithLimits with DefaultLimits.
func (j *Job) Validate() error { return j.ValidateWithLimits(DefaultLimits()) }

// ValidateWithLimits checks a canonicalized job and returns every problem at
// once (errors.Join of *ValidationError), each naming the field, the value
// and the rule, for example `group "web": count = -1: must be >= 0`. It
// returns nil when the job is valid. Besides the rules of each field it
// enforces limits (zero fields: their defaults): counts, sizes, the depth of
// task configs and the length of names, and it requires IDs and names to be
// usable as path segments. It has no side effects and never panics, whatever
// the job holds (nil groups, tasks, policies are reported, not dereferenced).
func (j *Job) ValidateWithLimits(limits Limits) error {
	if j == nil {
		return errors.New("structs: job is nil")
	}
	v := &validator{limits: limits.Resolve()}
	v.job(j)
	if len(v.errs) == 0 {
		// Only a job that passed every other check is encoded: a too-deep
		// config is reported as such, not as an encoding failure.
		v.groupIndex, v.taskIndex = -1, -1
		v.encodedSize(j)
	}
	return errors.Join(v.errs...)
}

// validator accumulates problems; group and task are the current position.
type validator struct {
	limits     Limits
	errs       []error
	groupIndex int
	group      string
	taskIndex  int
	task       string
	jobName    string // for the services' names
}

func (v *validator) add(field, value, rule string) {
	v.errs = append(v.errs, &ValidationError{
		GroupIndex: v.groupIndex, Group: v.group,
		TaskIndex: v.taskIndex, Task: v.task,
		Field: field, Value: value, Rule: rule,
	})
}

func (v *validator) job(j *Job) {
	v.groupIndex, v.taskIndex = -1, -1
	v.jobName = j.Name

	switch {
	case j.ID == "":
		v.add("id", `""`, "must not be empty")
	case strings.ContainsFunc(j.ID, unicode.IsSpace) && !strings.ContainsFunc(j.ID, unicode.IsControl):
		v.add("id", strconv.Quote(j.ID), "must not contain spaces")
	default:
		// A job ID may hold "/" (Nomad's child jobs are parent/child; the
		// API escapes it), but each of its segments must be a safe one.
		for seg := range strings.SplitSeq(j.ID, "/") {
			if rule := v.nameRule(seg, true); rule != "" {
				v.add("id", strconv.Quote(j.ID), rule)
				break
			}
		}
	}
	v.nameLength("id", j.ID)
	v.nameLength("name", j.Name) // the ID's, unless set
	if strings.ContainsRune(j.Name, 0) {
		v.add("name", strconv.Quote(j.Name), "must not contain a NUL character")
	}
	if j.Region == "" {
		v.add("region", `""`, "must not be empty")
	}
	if j.Namespace == "" {
		v.add("namespace", `""`, "must not be empty")
	}
	switch j.Type {
	case JobTypeService, JobTypeBatch, JobTypeSystem, JobTypeSysBatch:
	default:
		v.add("type", strconv.Quote(string(j.Type)), `must be "service", "batch", "system" or "sysbatch"`)
	}
	if j.Priority < MinJobPriority || j.Priority > MaxJobPriority {
		v.add("priority", strconv.Itoa(j.Priority), fmt.Sprintf("must be between %d and %d", MinJobPriority, MaxJobPriority))
	}
	if len(j.Datacenters) == 0 {
		v.add("datacenters", "[]", "must list at least one datacenter")
	}
	for i, dc := range j.Datacenters {
		if dc == "" {
			v.add(fmt.Sprintf("datacenters[%d]", i), `""`, "must not be empty")
		}
	}
	v.constraints(j.Constraints)
	v.affinities(j.Affinities)
	v.spreads(j.Spreads)
	v.stringMap("meta", j.Meta)
	v.interpolatedMap("meta", j.Meta)
	v.periodic(j)
	v.parameterized(j)
	if j.UI != nil {
		for i, l := range j.UI.Links {
			if l == nil {
				v.add(fmt.Sprintf("ui.link[%d]", i), "", "must not be null")
			}
		}
	}

	if len(j.TaskGroups) == 0 {
		v.add("group", "", "a job needs at least one group")
	}
	seen := make(map[string]bool, len(j.TaskGroups))
	allocs := 0
	for i, tg := range j.TaskGroups {
		v.groupIndex, v.group = i, ""
		if tg == nil {
			v.add("", "", "must not be null")
			continue
		}
		v.group = tg.Name
		if tg.Name == "" {
			v.add("name", `""`, "must not be empty")
		} else if seen[tg.Name] {
			v.add("", "", "another group of the job has the same name")
		} else {
			v.segmentName(tg.Name)
		}
		seen[tg.Name] = true
		if tg.Count > 0 && tg.Count <= v.limits.JobMaxGroupCount { // a count beyond is reported by itself
			allocs = addSaturating(allocs, tg.Count)
		}
		v.taskGroup(tg)
		v.reschedulePolicy(j.Type, tg.ReschedulePolicy)
		v.migrateStrategy(tg.Migrate)
		v.updateStrategy(tg.Update, tg.Count, j.Type)
	}
	v.groupIndex, v.group, v.taskIndex, v.task = -1, "", -1, ""
	if allocs > v.limits.JobMaxAllocations {
		v.add("group[*].count", "", fmt.Sprintf("the counts of the job's groups sum to %d: must be at most %d (limits.job_max_allocations)",
			allocs, v.limits.JobMaxAllocations))
	}
}

func (v *validator) taskGroup(tg *TaskGroup) {
	v.taskIndex, v.task = -1, ""
	if tg.Count < 0 {
		v.add("count", strconv.Itoa(tg.Count), "must be >= 0")
	} else if tg.Count > v.limits.JobMaxGroupCount {
		v.add("count", strconv.Itoa(tg.Count), fmt.Sprintf("must be at most %d (limits.job_max_group_count)", v.limits.JobMaxGroupCount))
	}
	v.restartPolicy(tg.RestartPolicy)
	switch {
	case tg.EphemeralDisk == nil:
		v.add("ephemeral_disk", "", "must be set")
	default:
		v.resource("ephemeral_disk.size", tg.EphemeralDisk.SizeMB, MinEphemeralDiskMB, "MB")
	}
	v.stringMap("meta", tg.Meta)
	v.interpolatedMap("meta", tg.Meta)
	v.constraints(tg.Constraints)
	v.networks(tg.Networks)
	v.affinities(tg.Affinities)
	v.spreads(tg.Spreads)
	v.services(tg.Services, v.jobName, tg, nil)

	if len(tg.Tasks) == 0 {
		v.add("task", "", "a group needs at least one task")
	}
	seen := make(map[string]bool, len(tg.Tasks))
	for i, t := range tg.Tasks {
		v.taskIndex, v.task = i, ""
		if t == nil {
			v.add("", "", "must not be null")
			continue
		}
		v.task = t.Name
		if t.Name == "" {
			v.add("name", `""`, "must not be empty")
		} else if seen[t.Name] {
			v.add("", "", "another task of the group has the same name")
		} else {
			v.segmentName(t.Name)
		}
		seen[t.Name] = true
		v.taskFields(t)
		v.dispatchPayload(t.DispatchPayload)
		v.services(t.Services, v.jobName, tg, t)
		v.templates(t.Templates)
	}
	v.taskIndex, v.task = -1, ""
}

func (v *validator) restartPolicy(rp *RestartPolicy) {
	if rp == nil {
		v.add("restart", "", "must be set")
		return
	}
	switch rp.Mode {
	case RestartPolicyModeFail, RestartPolicyModeDelay:
	default:
		v.add("restart.mode", strconv.Quote(rp.Mode), fmt.Sprintf("must be %q or %q", RestartPolicyModeFail, RestartPolicyModeDelay))
	}
	if rp.Attempts < 0 {
		v.add("restart.attempts", strconv.Itoa(rp.Attempts), "must be >= 0")
	}
	if rp.Interval < 0 || (rp.Attempts > 0 && rp.Interval == 0) {
		v.add("restart.interval", quoteDuration(rp.Interval), "must be > 0 when attempts > 0")
	}
	if rp.Delay < 0 {
		v.add("restart.delay", quoteDuration(rp.Delay), "must be >= 0")
	}
}

func (v *validator) taskFields(t *Task) {
	if t.Driver == "" {
		v.add("driver", `""`, "must not be empty")
	}
	if t.KillTimeout < 0 {
		v.add("kill_timeout", quoteDuration(t.KillTimeout), "must be >= 0")
	}
	if r := t.Resources; r == nil {
		v.add("resources", "", "must be set")
	} else {
		switch {
		case r.Cores != 0 && r.CPU != 0:
			v.add("resources.cores", strconv.Itoa(r.Cores), fmt.Sprintf("cannot be used with resources.cpu (= %d): a task asks for cpu (MHz) or for cores, not both", r.CPU))
		case r.Cores != 0:
			v.resource("resources.cores", r.Cores, 1, "cores")
		default:
			v.resource("resources.cpu", r.CPU, MinTaskCPU, "MHz")
		}
		v.resource("resources.memory", r.MemoryMB, MinTaskMemoryMB, "MB")
		if r.MemoryMaxMB != 0 && r.MemoryMaxMB < r.MemoryMB {
			v.add("resources.memory_max", strconv.Itoa(r.MemoryMaxMB), fmt.Sprintf("must be >= resources.memory (%d MB): it is the most the task may use, memory what it is guaranteed", r.MemoryMB))
		} else if r.MemoryMaxMB > MaxResource {
			v.resource("resources.memory_max", r.MemoryMaxMB, 0, "MB")
		}
		if len(r.ReservedCores) > 0 {
			v.add("resources.ReservedCores", fmt.Sprint(r.ReservedCores), "is the scheduler's to set, not the job's")
		}
	}
	v.stringMap("env", t.Env)
	v.stringMap("meta", t.Meta)
	v.taskConfig(t.Config)
	v.interpolatedMap("env", t.Env)
	v.interpolatedMap("meta", t.Meta)
	v.interpolatedConfig("config", t.Config, 0)
	if l := t.LogConfig; l != nil {
		if l.MaxFiles < 1 {
			v.add("logs.max_files", strconv.Itoa(l.MaxFiles), "must be >= 1")
		}
		if l.MaxFileSizeMB < 1 {
			v.add("logs.max_file_size", strconv.Itoa(l.MaxFileSizeMB), "must be >= 1 (MB)")
		}
	}
	v.constraints(t.Constraints)
	v.affinities(t.Affinities)
	if l := t.Lifecycle; l != nil {
		switch l.Hook {
		case TaskLifecycleHookPrestart, TaskLifecycleHookPoststart, TaskLifecycleHookPoststop:
		default:
			v.add("lifecycle.hook", strconv.Quote(l.Hook), fmt.Sprintf("must be %q, %q or %q",
				TaskLifecycleHookPrestart, TaskLifecycleHookPoststart, TaskLifecycleHookPoststop))
		}
		if l.Sidecar && l.Hook == TaskLifecycleHookPoststop {
			v.add("lifecycle.sidecar", "true", "a poststop task cannot be a sidecar")
		}
	}
}

// resource checks an amount of a resource against its minimum and MaxResource.
func (v *validator) resource(field string, value, least int, unit string) {
	switch {
	case value < least:
		v.add(field, strconv.Itoa(value), fmt.Sprintf("must be >= %d (%s)", least, unit))
	case value > MaxResource:
		v.add(field, strconv.Itoa(value), fmt.Sprintf("must be at most %d (%s, 2^40)", MaxResource, unit))
	}
}

func (v *validator) constraints(cs []*Constraint) {
	for i, c := range cs {
		field := fmt.Sprintf("constraint[%d]", i)
		if c == nil {
			v.add(field, "", "must not be null")
			continue
		}
		for _, p := range c.problems() { // structs/constraint.go
			v.add(field+"."+p.field, p.value, p.rule)
		}
	}
}

func quoteDuration(d time.Duration) string { return strconv.Quote(d.String()) }
