package structs

import (
	"errors"
	"fmt"
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
