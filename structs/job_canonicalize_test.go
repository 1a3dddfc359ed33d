package structs

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

func TestCanonicalizeFillsNomadDefaults(t *testing.T) {
	job := &Job{
		ID: "web",
		TaskGroups: []*TaskGroup{{
			Name:  "web",
			Count: 0, // explicit zero stays zero
			Tasks: []*Task{{Name: "srv", Driver: "raw_exec"}},
		}},
	}
	job.Canonicalize()
	want := &Job{
		ID: "web", Name: "web", Namespace: "default", Region: "global",
		Type: JobTypeService, Priority: 50, Datacenters: []string{"*"}, NodePool: "default",
		TaskGroups: []*TaskGroup{{
			Name:          "web",
			Count:         0,
			RestartPolicy: &RestartPolicy{Attempts: 2, Interval: 30 * time.Minute, Delay: 15 * time.Second, Mode: "fail"},
			ReschedulePolicy: &ReschedulePolicy{Delay: 30 * time.Second, DelayFunction: "exponential",
				MaxDelay: time.Hour, Unlimited: true},
			Migrate: &MigrateStrategy{MaxParallel: 1, HealthCheck: "checks", MinHealthyTime: 10 * time.Second,
				HealthyDeadline: 5 * time.Minute},
			EphemeralDisk: &EphemeralDisk{SizeMB: 300},
			Tasks: []*Task{{
				Name: "srv", Driver: "raw_exec",
				KillTimeout: 5 * time.Second, KillSignal: "SIGINT",
				Resources: &Resources{CPU: 100, MemoryMB: 300},
			}},
		}},
	}
	if !reflect.DeepEqual(job, want) {
		t.Fatalf("canonicalized job:\n got %+v\nwant %+v", dumpJob(job), dumpJob(want))
	}
	if err := job.Validate(); err != nil {
		t.Fatalf("a canonicalized minimal job must be valid: %v", err)
	}
}

func TestCanonicalizeKeepsWhatIsSet(t *testing.T) {
	rp := &RestartPolicy{Attempts: 0, Interval: time.Minute, Delay: 0, Mode: "delay"}
	job := &Job{
		ID: "j", Name: "other", Namespace: "ns", Region: "eu", Type: JobTypeBatch, Priority: 70,
		Datacenters: []string{"dc1"}, NodePool: "gpu",
		Constraints: []*Constraint{{LTarget: "${attr.kernel.name}", Operand: "==", RTarget: "linux"}},
		TaskGroups: []*TaskGroup{{
			Name: "g", Count: 4, RestartPolicy: rp, EphemeralDisk: &EphemeralDisk{SizeMB: 50},
			Constraints: []*Constraint{{LTarget: "a", Operand: "not", RTarget: "b"}, {LTarget: "a", Operand: "regexp", RTarget: "b"}},
			Tasks: []*Task{{
				Name: "t", Driver: "raw_exec", KillTimeout: time.Second, KillSignal: "SIGTERM",
				Resources:   &Resources{CPU: 0, MemoryMB: 64},
				Constraints: []*Constraint{{LTarget: "a", Operand: "", RTarget: "b"}, {LTarget: "a", Operand: "is", RTarget: "b"}},
			}},
		}},
	}
	job.Canonicalize()
	if job.Name != "other" || job.Namespace != "ns" || job.Region != "eu" || job.Type != JobTypeBatch || job.Priority != 70 || !reflect.DeepEqual(job.Datacenters, []string{"dc1"}) || job.NodePool != "gpu" {
		t.Fatalf("job fields overwritten: %+v", job)
	}
	tg := job.TaskGroups[0]
	if tg.Count != 4 || tg.RestartPolicy != rp || *rp != (RestartPolicy{Interval: time.Minute, Mode: "delay"}) || tg.EphemeralDisk.SizeMB != 50 {
		t.Fatalf("group fields overwritten: %+v rp=%+v", tg, tg.RestartPolicy)
	}
	task := tg.Tasks[0]
	if task.KillTimeout != time.Second || task.KillSignal != "SIGTERM" || !reflect.DeepEqual(*task.Resources, Resources{CPU: 100, MemoryMB: 64}) {
		t.Fatalf("task fields: %+v resources %+v", task, task.Resources)
	}
	ops := []string{job.Constraints[0].Operand, tg.Constraints[0].Operand, tg.Constraints[1].Operand, task.Constraints[0].Operand, task.Constraints[1].Operand}
	if want := []string{"=", "!=", "regexp", "=", "="}; !reflect.DeepEqual(ops, want) {
		t.Fatalf("operands = %q, want %q", ops, want)
	}
}

func TestCanonicalizeRestartPolicyPerJobType(t *testing.T) {
	for _, tc := range []struct {
		typ  JobType
		want RestartPolicy
	}{
		{JobTypeService, RestartPolicy{Attempts: 2, Interval: 30 * time.Minute, Delay: 15 * time.Second, Mode: "fail"}},
		{"", RestartPolicy{Attempts: 2, Interval: 30 * time.Minute, Delay: 15 * time.Second, Mode: "fail"}},
		{JobTypeBatch, RestartPolicy{Attempts: 3, Interval: 24 * time.Hour, Delay: 15 * time.Second, Mode: "fail"}},
		{JobTypeSystem, RestartPolicy{Attempts: 2, Interval: 30 * time.Minute, Delay: 15 * time.Second, Mode: "fail"}},
		{JobTypeSysBatch, RestartPolicy{Attempts: 3, Interval: 24 * time.Hour, Delay: 15 * time.Second, Mode: "fail"}},
	} {
		job := &Job{ID: "j", Type: tc.typ, TaskGroups: []*TaskGroup{{Name: "g"}}}
		job.Canonicalize()
		if got := *job.TaskGroups[0].RestartPolicy; got != tc.want {
			t.Errorf("type %q: restart policy %+v, want %+v", tc.typ, got, tc.want)
		}
	}
	// DefaultRestartPolicy hands out fresh values: changing one must not change the next.
	DefaultRestartPolicy(JobTypeBatch).Attempts = 99
	if DefaultRestartPolicy(JobTypeBatch).Attempts != 3 {
		t.Fatal("DefaultRestartPolicy returned a shared value")
	}
}

func TestCanonicalizeToleratesNils(t *testing.T) {
	var nilJob *Job
	nilJob.Canonicalize()
	job := &Job{ID: "j", Constraints: []*Constraint{nil}, TaskGroups: []*TaskGroup{nil, {Name: "g", Tasks: []*Task{nil}}}}
	job.Canonicalize() // must not panic
	if job.TaskGroups[1].RestartPolicy == nil {
		t.Fatal("the non-nil group after a nil one was skipped")
	}
}

// dumpJob renders a job readably for failure messages (pointers followed).
func dumpJob(j *Job) string {
	b, err := json.MarshalIndent(j, "", "  ")
	if err != nil {
		return err.Error()
	}
	return string(b)
}
