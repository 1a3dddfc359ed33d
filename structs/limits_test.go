package structs

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

// nestedConfig returns a task config nested depth levels deep (the config
// map itself is level 1): {"a": {"a": ... {"a": "x"}}}.
func nestedConfig(depth int) map[string]any {
	var v any = "x"
	for range depth - 1 {
		v = map[string]any{"a": v}
	}
	return map[string]any{"a": v}
}

// validationMessages returns the messages of Validate's joined errors.
func validationMessages(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	var out []string
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		out = append(out, e.Error())
	}
	return out
}

// wantMessage fails unless one of msgs is want.
func wantMessage(t *testing.T, msgs []string, want string) {
	t.Helper()
	for _, m := range msgs {
		if m == want {
			return
		}
	}
	t.Fatalf("no error %q among:\n  %s", want, strings.Join(msgs, "\n  "))
}

func TestValidateEnforcesLimitsAndSafeNames(t *testing.T) {
	deep := strings.Repeat(".a", 32) // the map at level 33
	for _, tc := range []struct {
		name   string
		mutate func(j *Job)
		want   string
	}{
		{"count of a billion", func(j *Job) { j.TaskGroups[0].Count = 1_000_000_000 },
			`group "web": count = 1000000000: must be at most 10000 (limits.job_max_group_count)`},
		{"allocations of the job", func(j *Job) {
			for i := range 5 {
				j.TaskGroups = append(j.TaskGroups, &TaskGroup{Name: fmt.Sprint("more", i), Count: 10_000,
					RestartPolicy: DefaultRestartPolicy(j.Type), EphemeralDisk: &EphemeralDisk{SizeMB: 300},
					Tasks: []*Task{{Name: "t", Driver: "raw_exec", Resources: &Resources{CPU: 1, MemoryMB: 10}}}})
			}
		}, `group[*].count: the counts of the job's groups sum to 50004: must be at most 50000 (limits.job_max_allocations)`},
		{"config 1015 levels deep", func(j *Job) { j.TaskGroups[0].Tasks[0].Config = nestedConfig(1015) },
			`group "web": task "server": config` + deep + `: is nested more than 32 levels deep (limits.task_config_max_depth)`},
		{"config deep through lists", func(j *Job) {
			j.TaskGroups[0].Tasks[0].Config = map[string]any{"l": []any{1, []any{nestedConfig(40)}}}
		}, `group "web": task "server": config.l[1][0]` + strings.Repeat(".a", 29) + `: is nested more than 32 levels deep (limits.task_config_max_depth)`},
		{"cpu 2^63-1", func(j *Job) { j.TaskGroups[0].Tasks[0].Resources.CPU = math.MaxInt },
			`group "web": task "server": resources.cpu = 9223372036854775807: must be at most 1099511627776 (MHz, 2^40)`},
		{"memory above 2^40", func(j *Job) { j.TaskGroups[0].Tasks[0].Resources.MemoryMB = 1<<40 + 1 },
			`group "web": task "server": resources.memory = 1099511627777: must be at most 1099511627776 (MB, 2^40)`},
		{"disk 2^63-1", func(j *Job) { j.TaskGroups[0].EphemeralDisk.SizeMB = math.MaxInt },
			`group "web": ephemeral_disk.size = 9223372036854775807: must be at most 1099511627776 (MB, 2^40)`},
		{"job id ..", func(j *Job) { j.ID = ".." },
			`id = "..": must not have "", "." or ".." as a segment between slashes (it is used in paths)`},
		{"job id .", func(j *Job) { j.ID = "." },
			`id = ".": must not have "", "." or ".." as a segment between slashes (it is used in paths)`},
		{"job id with a .. segment", func(j *Job) { j.ID = "a/../b" },
			`id = "a/../b": must not have "", "." or ".." as a segment between slashes (it is used in paths)`},
		{"job id with a control character", func(j *Job) { j.ID = "a\x1bb" },
			`id = "a\x1bb": must not contain control characters`},
		{"job id not UTF-8", func(j *Job) { j.ID = "a\xffb" }, `id = "a\xffb": must be valid UTF-8`},
		{"task ../../x", func(j *Job) { j.TaskGroups[0].Tasks[0].Name = "../../x" },
			`group "web": task "../../x": name = "../../x": must not contain "/" (it is used as a directory name)`},
		{"task ..", func(j *Job) { j.TaskGroups[0].Tasks[0].Name = ".." },
			`group "web": task "..": name = "..": must not be "." or ".." (it is used in paths)`},
		{"task with NUL", func(j *Job) { j.TaskGroups[0].Tasks[0].Name = "a\x00b" },
			`group "web": task "a\x00b": name = "a\x00b": must not contain a NUL character`},
		{"group with a slash", func(j *Job) { j.TaskGroups[1].Name = "a/b" },
			`group "a/b": name = "a/b": must not contain "/" (it is used as a directory name)`},
		{"long task name", func(j *Job) { j.TaskGroups[0].Tasks[0].Name = strings.Repeat("t", 129) },
			`group "web": task "` + strings.Repeat("t", 129) + `": name = "` + strings.Repeat("t", 64) +
				`"... (129 bytes): must be at most 128 characters long (has 129; limits.job_max_name_length)`},
		{"meta key with =", func(j *Job) { j.Meta = map[string]string{"a=b": "1"} },
			`meta["a=b"]: the key must not contain "=" (it names an environment variable)`},
		{"env value with NUL", func(j *Job) { j.TaskGroups[1].Tasks[0].Env = map[string]string{"X": "a\x00"} },
			`group "db": task "db": env["X"] = "a\x00": must not contain a NUL character`},
		{"empty meta key", func(j *Job) { j.TaskGroups[1].Meta = map[string]string{"": "v"} },
			`group "db": meta[""]: the key must not be empty`},
		{"long meta value", func(j *Job) { j.Meta = map[string]string{"k": strings.Repeat("v", 64<<10+1)} },
			`meta["k"] = "` + strings.Repeat("v", 64) + `"... (65537 bytes): must be at most 65536 bytes long (has 65537)`},
		{"too many env entries", func(j *Job) {
			j.TaskGroups[0].Tasks[1].Env = map[string]string{}
			for i := range 1001 {
				j.TaskGroups[0].Tasks[1].Env[strings.Repeat("k", 1+i%100)+string(rune('a'+i/100))] = ""
			}
		}, `group "web": task "sidecar": env: has 1001 entries: must have at most 1000 (limits.job_max_map_entries)`},
		{"encoded size", func(j *Job) {
			for i := range 100 {
				j.TaskGroups = append(j.TaskGroups, &TaskGroup{Name: fmt.Sprintf("%s%d", strings.Repeat("g", 100), i),
					RestartPolicy: DefaultRestartPolicy(j.Type), EphemeralDisk: &EphemeralDisk{SizeMB: 300},
					Tasks: []*Task{{Name: "t", Driver: "raw_exec", Resources: &Resources{CPU: 1, MemoryMB: 10},
						Config: map[string]any{"args": []any{strings.Repeat("x", 60<<10)}}}}})
			}
		}, "the job encodes to "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			job := validJob()
			tc.mutate(job)
			msgs := validationMessages(t, job.Validate())
			if strings.HasSuffix(tc.want, " ") { // a prefix: the size varies with the encoding
				if len(msgs) != 1 || !strings.HasPrefix(msgs[0], tc.want) || !strings.HasSuffix(msgs[0], "must be at most 4194304 (limits.job_max_size)") {
					t.Fatalf("got %q, want one error starting %q", msgs, tc.want)
				}
				return
			}
			wantMessage(t, msgs, tc.want)
		})
	}
}

func TestValidateAcceptsWhatIsWithinTheLimits(t *testing.T) {
	job := validJob()
	job.ID = "parent/periodic-1700000000" // Nomad's child job IDs
	job.Name = strings.Repeat("é", 128)   // characters, not bytes
	job.TaskGroups[0].Count = 10_000
	job.TaskGroups[1].Count = 10_000
	job.TaskGroups[0].Tasks[0].Config = nestedConfig(32)
	job.TaskGroups[0].Tasks[0].Resources.MemoryMB = MaxResource
	job.TaskGroups[0].Tasks[1].Name = "..a"
	job.Meta = map[string]string{"rack.name-1": "é"}
	if err := job.Validate(); err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
}

func TestValidateWithLimitsTakesTheConfiguredLimits(t *testing.T) {
	job := validJob()
	job.TaskGroups[0].Tasks[0].Config = nestedConfig(5)
	limits := Limits{JobMaxGroupCount: 3, JobMaxAllocations: 3, TaskConfigMaxDepth: 4, JobMaxNameLength: 5, JobMaxSize: 100}
	job.TaskGroups[1].Count = 1
	msgs := validationMessages(t, job.ValidateWithLimits(limits))
	for _, want := range []string{
		`group[*].count: the counts of the job's groups sum to 4: must be at most 3 (limits.job_max_allocations)`,
		`group "web": task "server": config.a.a.a.a: is nested more than 4 levels deep (limits.task_config_max_depth)`,
		`group "web": task "sidecar": name = "sidecar": must be at most 5 characters long (has 7; limits.job_max_name_length)`,
	} {
		wantMessage(t, msgs, want)
	}
	wantMessage(t, validationMessages(t, job.ValidateWithLimits(Limits{JobMaxGroupCount: 2})),
		`group "web": count = 3: must be at most 2 (limits.job_max_group_count)`)
	// Zero fields are the defaults.
	if err := validJob().ValidateWithLimits(Limits{}); err != nil {
		t.Fatalf("zero limits: %v", err)
	}
	if got := (Limits{}).Resolve(); got != DefaultLimits() {
		t.Fatalf("Resolve of zero limits = %+v, want the defaults", got)
	}
}

func TestLimitsValidateNamesTheSetting(t *testing.T) {
	got := Limits{JobMaxGroupCount: -1, TaskConfigMaxDepth: 1000}.Validate()
	want := []string{
		"limits.job_max_group_count = -1: must be >= 0 (0: the default)",
		"limits.task_config_max_depth = 1000: must be at most 256 (msgpack decoding on the clients fails on deeper structures)",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// jobWithNullEverywhere is what `null` in every list of a JSON job decodes to.
func jobWithNullEverywhere() *Job {
	return &Job{
		ID: "nulls", Datacenters: []string{"dc1"},
		Constraints: []*Constraint{nil}, Affinities: []*Affinity{nil},
		Spreads: []*Spread{nil, {Attribute: "${node.datacenter}", Weight: 50, SpreadTarget: []*SpreadTarget{nil}}},
		TaskGroups: []*TaskGroup{nil, {
			Name: "g", Count: 1, Constraints: []*Constraint{nil}, Affinities: []*Affinity{nil}, Spreads: []*Spread{nil},
			Networks: []*NetworkResource{nil},
			Tasks: []*Task{nil, {Name: "t", Driver: "raw_exec", Constraints: []*Constraint{nil}, Affinities: []*Affinity{nil},
				Config: map[string]any{"args": []any{nil}, "m": map[string]any{"x": nil}}}},
		}},
	}
}

func TestNullInEveryListIsReportedNeverDereferenced(t *testing.T) {
	job := jobWithNullEverywhere()
	c := job.Copy() // the server copies before anything else
	c.Canonicalize()
	msgs := validationMessages(t, c.Validate())
	for _, want := range []string{
		"constraint[0]: must not be null",
		"affinity[0]: must not be null",
		"spread[0]: must not be null",
		"spread[1].target[0]: must not be null",
		"group[0]: must not be null",
		`group "g": constraint[0]: must not be null`,
		`group "g": network: must not be null`,
		`group "g": affinity[0]: must not be null`,
		`group "g": spread[0]: must not be null`,
		`group "g": task[0]: must not be null`,
		`group "g": task "t": constraint[0]: must not be null`,
		`group "g": task "t": affinity[0]: must not be null`,
	} {
		wantMessage(t, msgs, want)
	}
	// Every other kind of object with pointer lists copies nil entries too.
	(&Node{Drivers: map[string]*DriverInfo{"x": nil}}).Copy()
	(&Allocation{AllocatedResources: &AllocatedResources{Tasks: map[string]*Resources{"t": nil}},
		TaskStates: map[string]*TaskState{"t": {Events: []*TaskEvent{nil}}, "u": nil},
		Metrics:    &AllocMetric{ScoreMetaData: []*NodeScoreMeta{nil}}}).Copy()
}

func TestResourceSumsSaturate(t *testing.T) {
	c := ComparableResources{CPU: math.MaxInt, MemoryMB: math.MaxInt, DiskMB: math.MinInt}
	c.Add(ComparableResources{CPU: math.MaxInt, MemoryMB: 1, DiskMB: -1})
	if c.CPU != math.MaxInt || c.MemoryMB != math.MaxInt || c.DiskMB != math.MinInt {
		t.Fatalf("Add wrapped: %+v", c)
	}
	c = ComparableResources{CPU: 5000, MemoryMB: math.MinInt + 1}
	c.Subtract(ComparableResources{CPU: math.MinInt, MemoryMB: 2})
	if c.CPU != math.MaxInt || c.MemoryMB != math.MinInt {
		t.Fatalf("Subtract wrapped: %+v", c)
	}

	// Two allocations asking 2^63-1 each, on a 5 GHz node: the sum must not
	// wrap around to something that fits.
	node := &Node{NodeResources: &NodeResources{CPU: 5000, MemoryMB: 16 << 10, DiskMB: 100 << 10}}
	huge := func(id string) *Allocation {
		return &Allocation{ID: id, AllocatedResources: &AllocatedResources{
			Tasks: map[string]*Resources{"t": {CPU: math.MaxInt, MemoryMB: math.MaxInt}}}}
	}
	fit, dim, used := AllocsFit(node, []*Allocation{huge("a"), huge("b")})
	if fit || dim != "cpu" || used.CPU != math.MaxInt {
		t.Fatalf("AllocsFit = %v, %q, %+v; want no fit on cpu, saturated", fit, dim, used)
	}
}
