package jobspec

import (
	"errors"
	"testing"
	"time"

	"github.com/orch-io/orch/structs"
)

func TestParseUpdate(t *testing.T) {
	src := `job "j" {
  update {
    max_parallel     = 3
    min_healthy_time = "5s"
    auto_revert      = true
  }
  group "inherits" {
    count = 4
    task "t" { driver = "raw_exec" }
  }
  group "overrides" {
    count = 2
    update {
      canary       = 2
      auto_promote = true
      health_check = "task_states"
    }
    task "t" { driver = "raw_exec" }
  }
}`
	job, err := Parse("job.hcl", []byte(src), Options{})
	if err != nil {
		t.Fatal(err)
	}
	jobBlock := structs.DefaultUpdateStrategy()
	jobBlock.MaxParallel, jobBlock.MinHealthyTime, jobBlock.AutoRevert = 3, 5*time.Second, true
	if got, want := dump(job.Update), dump(jobBlock); got != want {
		t.Errorf("job update %s, want %s", got, want)
	}
	if got, want := dump(job.TaskGroups[0].Update), dump(jobBlock); got != want {
		t.Errorf("inheriting group's update %s, want the job's %s", got, want)
	}
	over := jobBlock.Copy()
	over.Canary, over.AutoPromote, over.HealthCheck = 2, true, structs.UpdateHealthCheckTaskStates
	if got, want := dump(job.TaskGroups[1].Update), dump(over); got != want {
		t.Errorf("overriding group's update %s, want %s", got, want)
	}
}

// TestParseBadUpdate: every broken rule is reported at once, each where it is
// written — a field a group inherits from the job's block is shown at the
// job's line (sorted by position).
func TestParseBadUpdate(t *testing.T) {
	src := `job "j" {
  update {
    min_healthy_time = "10m"
  }
  group "g" {
    count = 1
    update {
      canary       = 2
      max_parallel = -1
    }
    task "t" { driver = "raw_exec" }
  }
  group "h" {
    update { auto_promote = true }
    task "t" { driver = "raw_exec" }
  }
  group "i" {
    task "t" { driver = "raw_exec" }
  }
}`
	_, err := Parse("job.hcl", []byte(src), Options{})
	var perr *Error
	if !errors.As(err, &perr) {
		t.Fatalf("%T is not an *Error: %v", err, err)
	}
	want := `job.hcl:3:5: group "h": update.min_healthy_time = "10m0s": must be less than healthy_deadline (5m0s)
job.hcl:3:5: group "i": update.min_healthy_time = "10m0s": must be less than healthy_deadline (5m0s)
job.hcl:9:7: group "g": update.max_parallel = -1: must be >= 0
job.hcl:14:14: group "h": update.auto_promote = true: needs canary > 0 (there is nothing to promote)`
	if got := err.Error(); got != want {
		t.Fatalf("error:\n%s\nwant:\n%s", got, want)
	}
}
