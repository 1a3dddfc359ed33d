package structs

import (
	"errors"
	"slices"
	"testing"
	"time"
)

func TestCanonicalizeGivesGroupsTheJobUpdate(t *testing.T) {
	job := validJob()
	job.Update = &UpdateStrategy{MaxParallel: 3, MinHealthyTime: time.Second, HealthyDeadline: time.Minute}
	job.TaskGroups[1].Update = &UpdateStrategy{MaxParallel: 1, Canary: 1, HealthCheck: UpdateHealthCheckManual}
	job.Canonicalize()
	web, db := job.TaskGroups[0].Update, job.TaskGroups[1].Update
	if web == nil || web.MaxParallel != 3 || web.HealthCheck != UpdateHealthCheckChecks {
		t.Fatalf("web's update = %+v, want the job's with health_check checks", web)
	}
	if web == job.Update {
		t.Fatal("the group shares the job's block: a change to one would change the other")
	}
	if db.Canary != 1 || db.HealthCheck != UpdateHealthCheckManual {
		t.Fatalf("db's own block was replaced: %+v", db)
	}

	batch := validJob()
	batch.Type = JobTypeBatch
	batch.Update = DefaultUpdateStrategy()
	batch.Canonicalize()
	if batch.Update != nil || batch.TaskGroups[0].Update != nil {
		t.Fatal("a batch job kept its update block")
	}
}

func TestValidateUpdate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(j *Job)
		want   []string
	}{
		{"defaults", func(j *Job) { j.TaskGroups[0].Update = DefaultUpdateStrategy() }, nil},
		{"no deployment ignores timings", func(j *Job) {
			j.TaskGroups[0].Update = &UpdateStrategy{HealthCheck: UpdateHealthCheckChecks, MinHealthyTime: time.Hour}
		}, nil},
		{"blue-green", func(j *Job) {
			u := DefaultUpdateStrategy()
			u.Canary, u.AutoPromote = 3, true
			j.TaskGroups[0].Update = u
		}, nil},
		{"every rule at once", func(j *Job) {
			j.TaskGroups[0].Update = &UpdateStrategy{MaxParallel: 1, HealthCheck: "http", Canary: 4, AutoPromote: true,
				MinHealthyTime: 6 * time.Minute, HealthyDeadline: 5 * time.Minute, ProgressDeadline: time.Minute}
			j.TaskGroups[1].Update = &UpdateStrategy{MaxParallel: -1, Canary: -1, HealthCheck: UpdateHealthCheckChecks,
				Stagger: -time.Second, ProgressDeadline: -time.Second}
		}, []string{
			`group "web": update.health_check = "http": must be "checks", "task_states" or "manual"`,
			`group "web": update.min_healthy_time = "6m0s": must be less than healthy_deadline (5m0s)`,
			`group "web": update.healthy_deadline = "5m0s": must be less than progress_deadline (1m0s) when it is set`,
			`group "web": update.canary = 4: must be <= the group's count (3)`,
			`group "db": update.max_parallel = -1: must be >= 0`,
			`group "db": update.canary = -1: must be >= 0`,
			`group "db": update.stagger = "-1s": must be >= 0`,
			`group "db": update.progress_deadline = "-1s": must be >= 0`,
		}},
		{"auto_promote without canary", func(j *Job) {
			u := DefaultUpdateStrategy()
			u.AutoPromote = true
			j.TaskGroups[1].Update = u
		}, []string{`group "db": update.auto_promote = true: needs canary > 0 (there is nothing to promote)`}},
		{"system canary", func(j *Job) {
			j.Type = JobTypeSystem
			for _, tg := range j.TaskGroups {
				tg.ReschedulePolicy = nil // a system job has none
			}
			u := DefaultUpdateStrategy()
			u.Canary = 1
			j.TaskGroups[1].Update = u
		}, []string{`group "db": update.canary = 1: must be 0 for a system job (canaries of system jobs are not supported yet)`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			job := validJob()
			tc.mutate(job)
			err := job.Validate()
			var got []string
			if err != nil {
				for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
					var ve *ValidationError
					if !errors.As(e, &ve) {
						t.Fatalf("%T is not a *ValidationError: %v", e, e)
					}
					got = append(got, ve.Error())
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("errors:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}
