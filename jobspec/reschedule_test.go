package jobspec

import (
	"testing"
	"time"

	"github.com/orch-io/orch/structs"
)

func TestParseReschedule(t *testing.T) {
	src := `job "j" {
  type = "batch"
  reschedule {
    delay_function = "fibonacci"
    max_delay      = "2m"
  }
  group "a" {
    reschedule {
      attempts = 2
      interval = "1m"
      delay    = "1s"
    }
    task "t" { driver = "raw_exec" }
  }
  group "b" {
    task "t" { driver = "raw_exec" }
  }
}`
	job, err := Parse("job.hcl", []byte(src), Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Group a: the job block over the batch default, then its own block.
	wantA := &structs.ReschedulePolicy{Attempts: 2, Interval: time.Minute, Delay: time.Second,
		DelayFunction: structs.DelayFibonacci, MaxDelay: 2 * time.Minute}
	if got := job.TaskGroups[0].ReschedulePolicy; *got != *wantA {
		t.Errorf("group a: %+v, want %+v", got, wantA)
	}
	wantB := &structs.ReschedulePolicy{Attempts: 1, Interval: 24 * time.Hour, Delay: 5 * time.Second,
		DelayFunction: structs.DelayFibonacci, MaxDelay: 2 * time.Minute}
	if got := job.TaskGroups[1].ReschedulePolicy; *got != *wantB {
		t.Errorf("group b: %+v, want %+v", got, wantB)
	}
}

func TestParseRescheduleAttemptsMakeAServicePolicyLimited(t *testing.T) {
	src := `job "j" {
  group "a" {
    reschedule {
      attempts = 2
      interval = "1m"
      delay    = "1s"
    }
    task "t" { driver = "raw_exec" }
  }
  group "b" {
    reschedule { delay = "1m" }
    task "t" { driver = "raw_exec" }
  }
}`
	job, err := Parse("job.hcl", []byte(src), Options{})
	if err != nil {
		t.Fatal(err)
	}
	wantA := &structs.ReschedulePolicy{Attempts: 2, Interval: time.Minute, Delay: time.Second,
		DelayFunction: structs.DelayExponential, MaxDelay: time.Hour}
	if got := job.TaskGroups[0].ReschedulePolicy; *got != *wantA {
		t.Errorf("group a: %+v, want %+v", got, wantA)
	}
	if got := job.TaskGroups[1].ReschedulePolicy; !got.Unlimited || got.Delay != time.Minute {
		t.Errorf("group b: %+v, want the unlimited default with a 1m delay", got)
	}
}

func TestParseRescheduleErrors(t *testing.T) {
	for _, tc := range []struct{ name, src, want string }{
		{"system job", `job "j" {
  type = "system"
  group "g" {
    reschedule { attempts = 1 }
    task "t" { driver = "raw_exec" }
  }
}`, `job.hcl:4:5: group "g": reschedule: must not be set in a system job: its allocations restart in place and are never rescheduled`},
		{"bad values", `job "j" {
  group "g" {
    reschedule {
      delay_function = "linear"
      unlimited      = "maybe"
    }
    task "t" { driver = "raw_exec" }
  }
}`, `job.hcl:5:24: invalid value for "unlimited"; a bool is required`},
		{"bad delay function", `job "j" {
  group "g" {
    reschedule { delay_function = "linear" }
    task "t" { driver = "raw_exec" }
  }
}`, `job.hcl:3:18: group "g": reschedule.delay_function = "linear": must be "constant", "exponential" or "fibonacci"`},
		{"not supported yet", `job "j" {
  group "g" {
    prevent_reschedule_on_lost = true
    disconnect { lost_after = "1h" }
    task "t" { driver = "raw_exec" }
  }
}`, `job.hcl:3:5: argument "prevent_reschedule_on_lost" is not supported yet
job.hcl:4:5: block "disconnect" is not supported yet`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("job.hcl", []byte(tc.src), Options{})
			if err == nil || err.Error() != tc.want {
				t.Fatalf("error:\n%v\nwant:\n%s", err, tc.want)
			}
		})
	}
}
