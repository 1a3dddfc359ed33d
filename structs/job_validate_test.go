package structs

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// validJob returns a canonicalized job that passes Validate: two groups, the
// first with two tasks, constraints at every level.
func validJob() *Job {
	c := func() []*Constraint {
		return []*Constraint{{LTarget: "${attr.kernel.name}", Operand: "=", RTarget: "linux"}}
	}
	task := func(name string) *Task {
		return &Task{Name: name, Driver: "raw_exec", Config: map[string]any{"command": "/bin/true"}, Constraints: c()}
	}
	job := &Job{
		ID: "web", Type: JobTypeService, Datacenters: []string{"dc1"}, Constraints: c(),
		TaskGroups: []*TaskGroup{
			{Name: "web", Count: 3, Constraints: c(), Tasks: []*Task{task("server"), task("sidecar")}},
			{Name: "db", Count: 1, Tasks: []*Task{task("db")}},
		},
	}
	job.Canonicalize()
	return job
}

func TestValidateAcceptsValidJobs(t *testing.T) {
	for name, mutate := range map[string]func(j *Job){
		"as built":                   func(j *Job) {},
		"count zero":                 func(j *Job) { j.TaskGroups[0].Count = 0 },
		"batch":                      func(j *Job) { j.Type = JobTypeBatch },
		"priority bounds":            func(j *Job) { j.Priority = 1 },
		"priority max":               func(j *Job) { j.Priority = 100 },
		"id of 128 characters":       func(j *Job) { j.ID = strings.Repeat("é", 128) },
		"restart attempts zero":      func(j *Job) { *j.TaskGroups[0].RestartPolicy = RestartPolicy{Mode: "delay"} },
		"interval less than delay":   func(j *Job) { j.TaskGroups[0].RestartPolicy.Interval = time.Second },
		"smallest resources":         func(j *Job) { *j.TaskGroups[0].Tasks[0].Resources = Resources{CPU: 1, MemoryMB: 10} },
		"smallest disk":              func(j *Job) { j.TaskGroups[0].EphemeralDisk.SizeMB = 10 },
		"not-equal constraint":       func(j *Job) { j.Constraints[0].Operand = "!=" },
		"same task name in 2 groups": func(j *Job) { j.TaskGroups[1].Tasks[0].Name = "server" },
		"ports": func(j *Job) {
			j.TaskGroups[0].Networks = []*NetworkResource{{Mode: "host",
				ReservedPorts: []Port{{Label: "db", Value: 5432}, {Label: "ssh", Value: 65535}},
				DynamicPorts:  []Port{{Label: "http"}, {Label: "x_2", To: 8080}}}}
			j.TaskGroups[1].Networks = []*NetworkResource{{Mode: "host", ReservedPorts: []Port{{Label: "db", Value: 5432}}}}
		},
	} {
		job := validJob()
		mutate(job)
		if err := job.Validate(); err != nil {
			t.Errorf("%s: unexpected error: %v", name, err)
		}
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(j *Job)
		want   []string
	}{
		{"empty id", func(j *Job) { j.ID = "" }, []string{`id = "": must not be empty`}},
		{"id with space", func(j *Job) { j.ID = "my job" }, []string{`id = "my job": must not contain spaces`}},
		{"id with NUL", func(j *Job) { j.ID = "a\x00b" }, []string{`id = "a\x00b": must not contain a NUL character`}},
		{"id too long", func(j *Job) { j.ID = strings.Repeat("a", 129) },
			[]string{`id = "` + strings.Repeat("a", 64) + `"... (129 bytes): must be at most 128 characters long (has 129; limits.job_max_name_length)`}},
		{"region and namespace", func(j *Job) { j.Region, j.Namespace = "", "" },
			[]string{`region = "": must not be empty`, `namespace = "": must not be empty`}},
		{"unknown type", func(j *Job) { j.Type = "daemon" }, []string{`type = "daemon": must be "service", "batch", "system" or "sysbatch"`}},
		{"priority low", func(j *Job) { j.Priority = 0 }, []string{`priority = 0: must be between 1 and 100`}},
		{"priority high", func(j *Job) { j.Priority = 101 }, []string{`priority = 101: must be between 1 and 100`}},
		{"no datacenters", func(j *Job) { j.Datacenters = nil }, []string{`datacenters = []: must list at least one datacenter`}},
		{"empty datacenter", func(j *Job) { j.Datacenters = []string{"dc1", ""} }, []string{`datacenters[1] = "": must not be empty`}},
		{"no groups", func(j *Job) { j.TaskGroups = nil }, []string{`group: a job needs at least one group`}},
		{"nil group", func(j *Job) { j.TaskGroups[1] = nil }, []string{`group[1]: must not be null`}},
		{"unnamed group", func(j *Job) { j.TaskGroups[1].Name = "" }, []string{`group[1]: name = "": must not be empty`}},
		{"duplicate group", func(j *Job) { j.TaskGroups[1].Name = "web" },
			[]string{`group "web": another group of the job has the same name`}},
		{"negative count", func(j *Job) { j.TaskGroups[0].Count = -1 }, []string{`group "web": count = -1: must be >= 0`}},
		{"no tasks", func(j *Job) { j.TaskGroups[1].Tasks = nil }, []string{`group "db": task: a group needs at least one task`}},
		{"nil task", func(j *Job) { j.TaskGroups[0].Tasks[1] = nil }, []string{`group "web": task[1]: must not be null`}},
		{"unnamed task", func(j *Job) { j.TaskGroups[0].Tasks[0].Name = "" },
			[]string{`group "web": task[0]: name = "": must not be empty`}},
		{"duplicate task", func(j *Job) { j.TaskGroups[0].Tasks[1].Name = "server" },
			[]string{`group "web": task "server": another task of the group has the same name`}},
		{"no driver", func(j *Job) { j.TaskGroups[0].Tasks[0].Driver = "" },
			[]string{`group "web": task "server": driver = "": must not be empty`}},
		{"small resources", func(j *Job) { *j.TaskGroups[0].Tasks[0].Resources = Resources{CPU: 0, MemoryMB: 9} },
			[]string{`group "web": task "server": resources.cpu = 0: must be >= 1 (MHz)`, `group "web": task "server": resources.memory = 9: must be >= 10 (MB)`}},
		{"cores and cpu", func(j *Job) { *j.TaskGroups[0].Tasks[0].Resources = Resources{CPU: 500, Cores: 2, MemoryMB: 64} },
			[]string{`group "web": task "server": resources.cores = 2: cannot be used with resources.cpu (= 500): a task asks for cpu (MHz) or for cores, not both`}},
		{"negative cores", func(j *Job) { *j.TaskGroups[0].Tasks[0].Resources = Resources{Cores: -1, MemoryMB: 64} },
			[]string{`group "web": task "server": resources.cores = -1: must be >= 1 (cores)`}},
		{"memory_max below memory", func(j *Job) { *j.TaskGroups[0].Tasks[0].Resources = Resources{CPU: 100, MemoryMB: 64, MemoryMaxMB: 32} },
			[]string{`group "web": task "server": resources.memory_max = 32: must be >= resources.memory (64 MB): it is the most the task may use, memory what it is guaranteed`}},
		{"nil resources", func(j *Job) { j.TaskGroups[0].Tasks[0].Resources = nil },
			[]string{`group "web": task "server": resources: must be set`}},
		{"negative kill timeout", func(j *Job) { j.TaskGroups[1].Tasks[0].KillTimeout = -time.Second },
			[]string{`group "db": task "db": kill_timeout = "-1s": must be >= 0`}},
		{"small disk", func(j *Job) { j.TaskGroups[0].EphemeralDisk.SizeMB = 9 },
			[]string{`group "web": ephemeral_disk.size = 9: must be >= 10 (MB)`}},
		{"nil disk and restart", func(j *Job) { j.TaskGroups[0].EphemeralDisk, j.TaskGroups[0].RestartPolicy = nil, nil },
			[]string{`group "web": restart: must be set`, `group "web": ephemeral_disk: must be set`}},
		{"bad restart", func(j *Job) {
			*j.TaskGroups[0].RestartPolicy = RestartPolicy{Attempts: -1, Interval: -time.Minute, Delay: -time.Second, Mode: "never"}
		}, []string{
			`group "web": restart.mode = "never": must be "fail" or "delay"`,
			`group "web": restart.attempts = -1: must be >= 0`,
			`group "web": restart.interval = "-1m0s": must be > 0 when attempts > 0`,
			`group "web": restart.delay = "-1s": must be >= 0`,
		}},
		{"attempts without interval", func(j *Job) { j.TaskGroups[0].RestartPolicy.Interval = 0 },
			[]string{`group "web": restart.interval = "0s": must be > 0 when attempts > 0`}},
		{"bad constraints at every level", func(j *Job) {
			j.Constraints = append(j.Constraints, nil)
			j.TaskGroups[0].Constraints[0].LTarget = ""
			j.TaskGroups[0].Tasks[1].Constraints[0].Operand = "~="
		}, []string{
			`constraint[1]: must not be null`,
			`group "web": constraint[0].attribute = "": must not be empty`,
			`group "web": task "sidecar": constraint[0].operator = "~=": must be one of "=", "==", "is", "!=", "not", "<", "<=", ">", ">=", "regexp", "version", "semver", "set_contains", "set_contains_all", "set_contains_any", "is_set", "is_not_set", "distinct_hosts", "distinct_property"`,
		}},
		{"bad ports", func(j *Job) {
			j.TaskGroups[0].Networks = []*NetworkResource{{Mode: "bridge",
				ReservedPorts: []Port{{Label: "db", Value: 5432}, {Label: "db2", Value: 5432}, {Label: "big", Value: 65536}, {Label: "zero"}},
				DynamicPorts:  []Port{{Label: "db"}, {Label: "1x"}, {Label: "y", Value: 3, To: -2}, {Label: "z-1", To: -1}, {Label: "-z"}}}}
		}, []string{
			`group "web": network.mode = "bridge": must be "host" (other modes are not supported yet)`,
			`group "web": network.port["db2"].static = 5432: port "db" of the group has the same static port`,
			`group "web": network.port["big"].static = 65536: must be between 1 and 65535`,
			`group "web": network.port["zero"].static = 0: must be between 1 and 65535`,
			`group "web": network.port["db"]: another port of the group has the same label`,
			`group "web": network.port["1x"]: label must be letters, digits, underscores and dashes, starting with a letter or underscore`,
			`group "web": network.port["y"].static = 3: must not be set on a dynamic port`,
			`group "web": network.port["y"].to = -2: must be between -1 (the host port) and 65535`,
			`group "web": network.port["-z"]: label must be letters, digits, underscores and dashes, starting with a letter or underscore`,
		}},
		{"two networks", func(j *Job) {
			j.TaskGroups[1].Networks = []*NetworkResource{{Mode: "host"}, nil}
		}, []string{
			`group "db": network: a group may have only one network block (has 2)`,
			`group "db": network[1]: must not be null`,
		}},
		{"many at once", func(j *Job) {
			j.Priority = -5
			j.TaskGroups[0].Count = -2
			j.TaskGroups[1].Tasks[0].Driver = ""
		}, []string{
			`priority = -5: must be between 1 and 100`,
			`group "web": count = -2: must be >= 0`,
			`group "db": task "db": driver = "": must not be empty`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			job := validJob()
			tc.mutate(job)
			err := job.Validate()
			if err == nil {
				t.Fatal("Validate returned nil")
			}
			var got []string
			for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
				var ve *ValidationError
				if !errors.As(e, &ve) {
					t.Fatalf("%T is not a *ValidationError: %v", e, e)
				}
				got = append(got, ve.Error())
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("errors:\n got %q\nwant %q", got, tc.want)
			}
			if err.Error() != strings.Join(tc.want, "\n") {
				t.Fatalf("joined text %q", err.Error())
			}
		})
	}
}

func TestValidationErrorLocatesProblem(t *testing.T) {
	job := validJob()
	job.TaskGroups[1].Tasks[0].Resources.CPU = -1
	var ve *ValidationError
	if !errors.As(job.Validate(), &ve) {
		t.Fatal("no *ValidationError")
	}
	want := ValidationError{GroupIndex: 1, Group: "db", TaskIndex: 0, Task: "db", Field: "resources.cpu", Value: "-1", Rule: "must be >= 1 (MHz)"}
	if *ve != want {
		t.Fatalf("got %+v, want %+v", *ve, want)
	}
}

func TestValidateDoesNotModifyTheJob(t *testing.T) {
	job := &Job{ID: "j", TaskGroups: []*TaskGroup{{Name: "g", Tasks: []*Task{{Name: "t"}}}}}
	before := dumpJob(job)
	if err := job.Validate(); err == nil {
		t.Fatal("an uncanonicalized job without driver must be invalid")
	}
	if after := dumpJob(job); after != before {
		t.Fatalf("Validate changed the job:\n%s\n%s", before, after)
	}
	var nilJob *Job
	if nilJob.Validate() == nil {
		t.Fatal("a nil job must be invalid")
	}
}
