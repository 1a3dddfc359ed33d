package structs

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// renderDiff prints a diff one line per change, indented by depth, for tests
// that read as text.
func renderDiff(d *JobDiff) string {
	var b strings.Builder
	fields := func(indent string, fs []*FieldDiff) {
		for _, f := range fs {
			fmt.Fprintf(&b, "%s%s %s: %q => %q\n", indent, f.Type, f.Name, f.Old, f.New)
		}
	}
	var objects func(indent string, os []*ObjectDiff)
	objects = func(indent string, os []*ObjectDiff) {
		for _, o := range os {
			fmt.Fprintf(&b, "%s%s object %s\n", indent, o.Type, o.Name)
			fields(indent+"  ", o.Fields)
			objects(indent+"  ", o.Objects)
		}
	}
	fmt.Fprintf(&b, "%s job %s\n", d.Type, d.ID)
	fields("  ", d.Fields)
	objects("  ", d.Objects)
	for _, g := range d.TaskGroups {
		fmt.Fprintf(&b, "  %s group %s\n", g.Type, g.Name)
		fields("    ", g.Fields)
		objects("    ", g.Objects)
		for _, t := range g.Tasks {
			fmt.Fprintf(&b, "    %s task %s\n", t.Type, t.Name)
			fields("      ", t.Fields)
			objects("      ", t.Objects)
		}
	}
	return b.String()
}

func TestDiffJobs(t *testing.T) {
	tests := []struct {
		name   string
		change func(j *Job)
		want   string
	}{
		{"nothing", func(*Job) {}, `
None job web
  None group db
    None task db
  None group web
    None task server
    None task sidecar
`},
		{"job fields and meta", func(j *Job) {
			j.Priority = 70
			j.Stop = true
			j.Meta = map[string]string{"owner": "ops"}
		}, `
Edited job web
  Added Meta[owner]: "" => "ops"
  Edited Priority: "50" => "70"
  Edited Stop: "false" => "true"
  None group db
    None task db
  None group web
    None task server
    None task sidecar
`},
		{"datacenters and job constraints", func(j *Job) {
			j.Datacenters = []string{"dc2", "dc3"}
			j.Constraints = append(j.Constraints, &Constraint{LTarget: "${meta.rack}", Operand: "!=", RTarget: "r1"})
			j.Constraints = j.Constraints[1:]
		}, `
Edited job web
  Added object Constraint
    Added LTarget: "" => "${meta.rack}"
    Added Operand: "" => "!="
    Added RTarget: "" => "r1"
  Deleted object Constraint
    Deleted LTarget: "${attr.kernel.name}" => ""
    Deleted Operand: "=" => ""
    Deleted RTarget: "linux" => ""
  Edited object Datacenters
    Deleted Datacenters: "dc1" => ""
    Added Datacenters: "" => "dc2"
    Added Datacenters: "" => "dc3"
  None group db
    None task db
  None group web
    None task server
    None task sidecar
`},
		{"group count, meta, restart, disk", func(j *Job) {
			g := j.TaskGroups[1]
			g.Count = 5
			g.Meta = map[string]string{"tier": "db"}
			g.RestartPolicy.Attempts = 9
			g.RestartPolicy.Delay = 30 * time.Second
			g.EphemeralDisk.SizeMB = 500
		}, `
Edited job web
  Edited group db
    Edited Count: "1" => "5"
    Added Meta[tier]: "" => "db"
    Edited object EphemeralDisk
      Edited SizeMB: "300" => "500"
    Edited object RestartPolicy
      Edited Attempts: "2" => "9"
      Edited Delay: "15s" => "30s"
    None task db
  None group web
    None task server
    None task sidecar
`},
		{"task driver, config, env, meta, resources, kill", func(j *Job) {
			// groups are listed by name: db first
			task := j.TaskGroups[0].Tasks[0]
			task.Driver = "exec"
			task.Config = map[string]any{"command": "/bin/sleep", "args": []any{"10", 3}, "mounts": map[string]any{"a": "b"}}
			task.Env = map[string]string{"PORT": "80"}
			task.Meta = map[string]string{"x": "y"}
			task.Resources.CPU = 500
			task.KillTimeout = 10 * time.Second
			task.KillSignal = "SIGTERM"
			task.Constraints = nil
		}, `
Edited job web
  None group db
    None task db
  Edited group web
    Edited task server
      Edited Driver: "raw_exec" => "exec"
      Added Env[PORT]: "" => "80"
      Edited KillSignal: "SIGINT" => "SIGTERM"
      Edited KillTimeout: "5s" => "10s"
      Added Meta[x]: "" => "y"
      Edited object Config
        Added args[0]: "" => "10"
        Added args[1]: "" => "3"
        Edited command: "/bin/true" => "/bin/sleep"
        Added mounts[a]: "" => "b"
      Deleted object Constraint
        Deleted LTarget: "${attr.kernel.name}" => ""
        Deleted Operand: "=" => ""
        Deleted RTarget: "linux" => ""
      Edited object Resources
        Edited CPU: "100" => "500"
    None task sidecar
`},
		{"groups and tasks added and removed", func(j *Job) {
			j.TaskGroups[0].Tasks = j.TaskGroups[0].Tasks[:1]
			j.TaskGroups[1] = &TaskGroup{Name: "cache", Count: 1, Tasks: []*Task{{Name: "redis", Driver: "raw_exec"}}}
		}, `
Edited job web
  Added group cache
    Added Count: "" => "1"
    Added task redis
      Added Driver: "" => "raw_exec"
      Added KillTimeout: "" => "0s"
  Deleted group db
    Deleted Count: "1" => ""
    Deleted object EphemeralDisk
      Deleted SizeMB: "300" => ""
    Deleted object Migrate
      Deleted HealthCheck: "checks" => ""
      Deleted HealthyDeadline: "5m0s" => ""
      Deleted MaxParallel: "1" => ""
      Deleted MinHealthyTime: "10s" => ""
    Deleted object ReschedulePolicy
      Deleted Attempts: "0" => ""
      Deleted Delay: "30s" => ""
      Deleted DelayFunction: "exponential" => ""
      Deleted Interval: "0s" => ""
      Deleted MaxDelay: "1h0m0s" => ""
      Deleted Unlimited: "true" => ""
    Deleted object RestartPolicy
      Deleted Attempts: "2" => ""
      Deleted Delay: "15s" => ""
      Deleted Interval: "30m0s" => ""
      Deleted Mode: "fail" => ""
    Deleted task db
      Deleted Driver: "raw_exec" => ""
      Deleted KillSignal: "SIGINT" => ""
      Deleted KillTimeout: "5s" => ""
      Deleted object Config
        Deleted command: "/bin/true" => ""
      Deleted object Constraint
        Deleted LTarget: "${attr.kernel.name}" => ""
        Deleted Operand: "=" => ""
        Deleted RTarget: "linux" => ""
      Deleted object Resources
        Deleted CPU: "100" => ""
        Deleted MemoryMB: "300" => ""
  Edited group web
    None task server
    Deleted task sidecar
      Deleted Driver: "raw_exec" => ""
      Deleted KillSignal: "SIGINT" => ""
      Deleted KillTimeout: "5s" => ""
      Deleted object Config
        Deleted command: "/bin/true" => ""
      Deleted object Constraint
        Deleted LTarget: "${attr.kernel.name}" => ""
        Deleted Operand: "=" => ""
        Deleted RTarget: "linux" => ""
      Deleted object Resources
        Deleted CPU: "100" => ""
        Deleted MemoryMB: "300" => ""
`},
		{"constraint order does not matter", func(j *Job) {
			j.Constraints = append([]*Constraint{{LTarget: "a", Operand: "=", RTarget: "b"}}, j.Constraints...)
			j.Datacenters = []string{"dc1"}
		}, `
Edited job web
  Added object Constraint
    Added LTarget: "" => "a"
    Added Operand: "" => "="
    Added RTarget: "" => "b"
  None group db
    None task db
  None group web
    None task server
    None task sidecar
`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := validJob()
			next := validJob()
			tt.change(next)
			d, err := DiffJobs(old, next)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := renderDiff(d), strings.TrimPrefix(tt.want, "\n"); got != want {
				t.Errorf("diff:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

func TestDiffJobsContextualListsWhatDidNotChange(t *testing.T) {
	old, next := validJob(), validJob()
	next.TaskGroups[1].Count = 2
	next.TaskGroups[1].RestartPolicy.Attempts = 5
	next.TaskGroups[1].Tasks[0].Constraints = nil
	next.TaskGroups = next.TaskGroups[1:]
	d, err := DiffJobsContextual(old, next)
	if err != nil {
		t.Fatal(err)
	}
	// Only group db, edited, is shown in full.
	d.TaskGroups = slices.DeleteFunc(d.TaskGroups, func(g *TaskGroupDiff) bool { return g.Name != "db" })
	d.Fields, d.Objects = nil, nil
	want := `Edited job web
  Edited group db
    Edited Count: "1" => "2"
    None object EphemeralDisk
      None SizeMB: "300" => "300"
    None object Migrate
      None HealthCheck: "checks" => "checks"
      None HealthyDeadline: "5m0s" => "5m0s"
      None MaxParallel: "1" => "1"
      None MinHealthyTime: "10s" => "10s"
    None object ReschedulePolicy
      None Attempts: "0" => "0"
      None Delay: "30s" => "30s"
      None DelayFunction: "exponential" => "exponential"
      None Interval: "0s" => "0s"
      None MaxDelay: "1h0m0s" => "1h0m0s"
      None Unlimited: "true" => "true"
    Edited object RestartPolicy
      Edited Attempts: "2" => "5"
      None Delay: "15s" => "15s"
      None Interval: "30m0s" => "30m0s"
      None Mode: "fail" => "fail"
    Edited task db
      None Driver: "raw_exec" => "raw_exec"
      None KillSignal: "SIGINT" => "SIGINT"
      None KillTimeout: "5s" => "5s"
      None object Config
        None command: "/bin/true" => "/bin/true"
      Deleted object Constraint
        Deleted LTarget: "${attr.kernel.name}" => ""
        Deleted Operand: "=" => ""
        Deleted RTarget: "linux" => ""
      None object Resources
        None CPU: "100" => "100"
        None MemoryMB: "300" => "300"
`
	if got := renderDiff(d); got != want {
		t.Errorf("contextual diff:\n%s\nwant:\n%s", got, want)
	}
}

func TestDiffJobsNewAndRemovedJob(t *testing.T) {
	job := validJob()
	d, err := DiffJobs(nil, job)
	if err != nil {
		t.Fatal(err)
	}
	if d.Type != DiffTypeAdded || d.ID != "web" || len(d.TaskGroups) != 2 {
		t.Fatalf("new job: %s", renderDiff(d))
	}
	for _, g := range d.TaskGroups {
		if g.Type != DiffTypeAdded {
			t.Errorf("group %s of a new job is %s", g.Name, g.Type)
		}
		for _, task := range g.Tasks {
			if task.Type != DiffTypeAdded {
				t.Errorf("task %s of a new job is %s", task.Name, task.Type)
			}
		}
	}
	if d, _ := DiffJobs(job, nil); d.Type != DiffTypeDeleted {
		t.Errorf("removed job: %s", renderDiff(d))
	}
	if d, _ := DiffJobs(nil, nil); d.Type != DiffTypeNone {
		t.Errorf("no job: %s", renderDiff(d))
	}
}

func TestDiffJobsRejectsDifferentIDs(t *testing.T) {
	other := validJob()
	other.ID = "api"
	if _, err := DiffJobs(validJob(), other); !errors.Is(err, ErrDiffIDs) {
		t.Errorf("DiffJobs(web, api) = %v, want ErrDiffIDs", err)
	}
}

func TestDiffJobsDoesNotModifyItsInputs(t *testing.T) {
	old, next := validJob(), validJob()
	next.TaskGroups[0].Count = 9
	before := dumpJob(old) + dumpJob(next)
	if _, err := DiffJobs(old, next); err != nil {
		t.Fatal(err)
	}
	if dumpJob(old)+dumpJob(next) != before {
		t.Error("DiffJobs modified a job")
	}
}

// serverOwnedJobFields are the fields of Job the servers set; a diff of two
// specifications leaves them out. (ID is not server-owned, but two versions
// of one job share it: DiffJobs refuses different IDs.)
var serverOwnedJobFields = map[string]bool{
	"ID":     true,
	"Status": true, "StatusDescription": true, "Version": true, "Stable": true, "SubmitTime": true,
	"CreateIndex": true, "ModifyIndex": true, "JobModifyIndex": true,
	// A child job's: set by the launcher or a dispatch, never by a user.
	"ParentID": true, "Dispatched": true, "Payload": true, "DispatchIdempotencyToken": true,
}

// TestDiffJobsSeesEveryField changes, one at a time, every field of a job and
// of everything it holds (groups, tasks, constraints, resources, ...), and
// checks that DiffJobs reports a change. A field added to Job, TaskGroup,
// Task or their blocks without a line in diff.go's flatteners fails here,
// naming the field: `job plan` must never say "no change" for a change that
// the scheduler acts on.
func TestDiffJobsSeesEveryField(t *testing.T) {
	var paths [][]string
	var walk func(prefix []string, typ reflect.Type)
	walk = func(prefix []string, typ reflect.Type) {
		for i := range typ.NumField() {
			f := typ.Field(i)
			if !f.IsExported() || (len(prefix) == 0 && serverOwnedJobFields[f.Name]) {
				continue
			}
			path := append(slices.Clone(prefix), f.Name)
			paths = append(paths, path)
			ft := f.Type
			if ft.Kind() == reflect.Slice {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Pointer && ft.Elem().Kind() == reflect.Struct {
				walk(path, ft.Elem())
			}
		}
	}
	walk(nil, reflect.TypeFor[Job]())

	for _, path := range paths {
		name := strings.Join(path, ".")
		t.Run(name, func(t *testing.T) {
			old, next := validJob(), validJob()
			for _, j := range []*Job{old, next} { // so that the update blocks' fields are walked too
				j.Update = DefaultUpdateStrategy()
				j.TaskGroups[0].Update = DefaultUpdateStrategy()
			}
			if !mutateField(reflect.ValueOf(next).Elem(), path) {
				t.Skipf("%s: nothing to change (an empty list or a nil block on the way)", name)
			}
			d, err := DiffJobs(old, next)
			if err != nil {
				t.Fatal(err)
			}
			if d.Type == DiffTypeNone {
				t.Errorf("changing %s is not in the diff: add it to its struct's flattener in diff.go", name)
			}
		})
	}
}

// mutateField changes the field at path below v (a struct), following the
// first element of lists and allocating nil blocks. It reports whether it
// found the field.
func mutateField(v reflect.Value, path []string) bool {
	f := v.FieldByName(path[0])
	if len(path) == 1 {
		mutateValue(f)
		return true
	}
	if f.Kind() == reflect.Slice {
		if f.Len() == 0 {
			return false
		}
		f = f.Index(0)
	}
	if f.IsNil() {
		f.Set(reflect.New(f.Type().Elem()))
	}
	return mutateField(f.Elem(), path[1:])
}

// mutateValue gives v a different value, whatever its kind.
func mutateValue(v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		v.SetString(v.String() + "-changed")
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(v.Int() + 7)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(v.Uint() + 7)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(v.Float() + 0.5)
	case reflect.Bool:
		v.SetBool(!v.Bool())
	case reflect.Slice:
		e := reflect.New(v.Type().Elem()).Elem()
		fill(e)
		v.Set(reflect.Append(v, e))
	case reflect.Map:
		if v.IsNil() {
			v.Set(reflect.MakeMap(v.Type()))
		}
		k := reflect.New(v.Type().Key()).Elem()
		fill(k)
		e := reflect.New(v.Type().Elem()).Elem()
		fill(e)
		v.SetMapIndex(k, e)
	case reflect.Pointer:
		if v.IsNil() {
			p := reflect.New(v.Type().Elem())
			fill(p.Elem())
			v.Set(p)
		} else {
			v.Set(reflect.Zero(v.Type()))
		}
	case reflect.Interface:
		v.Set(reflect.ValueOf("changed"))
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				mutateValue(v.Field(i))
			}
		}
	default:
		panic("mutateValue: no way to change a " + v.Kind().String())
	}
}

// fill gives every field of a new value a non-zero value, so that an added
// element is not an empty one.
func fill(v reflect.Value) {
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i))
			}
		}
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		fill(p.Elem())
		v.Set(p)
	case reflect.Slice, reflect.Map:
		// Left empty: one level of content is enough to be noticed.
	default:
		mutateValue(v)
	}
}
