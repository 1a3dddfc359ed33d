package structs

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Limits checked by Validate.
const (
	MaxJobIDLength     = 128
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

// Validate checks a canonicalized job and returns every problem at once
// (errors.Join of *ValidationError), each naming the field, the value and the
// rule, for example `group "web": count = -1: must be >= 0`. It returns nil
// when the job is valid. It has no side effects and never panics, whatever the
// job holds (nil groups, tasks, policies are reported, not dereferenced).
func (j *Job) Validate() error {
	if j == nil {
		return errors.New("structs: job is nil")
	}
	v := &validator{}
	v.job(j)
	return errors.Join(v.errs...)
}

// validator accumulates problems; group and task are the current position.
type validator struct {
	errs       []error
	groupIndex int
	group      string
	taskIndex  int
	task       string
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

	switch {
	case j.ID == "":
		v.add("id", `""`, "must not be empty")
	case strings.ContainsRune(j.ID, 0):
		v.add("id", strconv.Quote(j.ID), "must not contain a NUL character")
	case strings.ContainsFunc(j.ID, unicode.IsSpace):
		v.add("id", strconv.Quote(j.ID), "must not contain spaces")
	}
	if n := utf8.RuneCountInString(j.ID); n > MaxJobIDLength {
		v.add("id", strconv.Quote(j.ID), fmt.Sprintf("must be at most %d characters long (has %d)", MaxJobIDLength, n))
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

	if len(j.TaskGroups) == 0 {
		v.add("group", "", "a job needs at least one group")
	}
	seen := make(map[string]bool, len(j.TaskGroups))
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
		}
		seen[tg.Name] = true
		v.taskGroup(tg)
		v.updateStrategy(tg.Update, tg.Count, j.Type)
	}
}

func (v *validator) taskGroup(tg *TaskGroup) {
	v.taskIndex, v.task = -1, ""
	if tg.Count < 0 {
		v.add("count", strconv.Itoa(tg.Count), "must be >= 0")
	}
	v.restartPolicy(tg.RestartPolicy)
	switch {
	case tg.EphemeralDisk == nil:
		v.add("ephemeral_disk", "", "must be set")
	case tg.EphemeralDisk.SizeMB < MinEphemeralDiskMB:
		v.add("ephemeral_disk.size", strconv.Itoa(tg.EphemeralDisk.SizeMB), fmt.Sprintf("must be >= %d (MB)", MinEphemeralDiskMB))
	}
	v.constraints(tg.Constraints)
	v.networks(tg.Networks)
	v.affinities(tg.Affinities)
	v.spreads(tg.Spreads)

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
		}
		seen[t.Name] = true
		v.taskFields(t)
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
		if r.CPU < MinTaskCPU {
			v.add("resources.cpu", strconv.Itoa(r.CPU), fmt.Sprintf("must be >= %d (MHz)", MinTaskCPU))
		}
		if r.MemoryMB < MinTaskMemoryMB {
			v.add("resources.memory", strconv.Itoa(r.MemoryMB), fmt.Sprintf("must be >= %d (MB)", MinTaskMemoryMB))
		}
	}
	v.constraints(t.Constraints)
	v.affinities(t.Affinities)
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
