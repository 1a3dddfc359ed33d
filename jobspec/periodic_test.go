package jobspec

import (
	"strings"
	"testing"

	"github.com/orch-io/orch/structs"
)

func TestParsePeriodicAndParameterized(t *testing.T) {
	src := `job "report" {
  type = "batch"
  periodic {
    crons            = ["0 */2 * * *", "30 1 * * MON"]
    prohibit_overlap = true
    time_zone        = "Europe/Paris"
  }
  group "g" {
    task "t" {
      driver = "raw_exec"
      dispatch_payload { file = "in.json" }
    }
  }
}`
	job, err := Parse("job.hcl", []byte(src), Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := &structs.PeriodicConfig{Enabled: true, Specs: []string{"0 */2 * * *", "30 1 * * MON"}, SpecType: "cron",
		ProhibitOverlap: true, TimeZone: "Europe/Paris"}
	if got := dump(job.Periodic); got != dump(want) {
		t.Errorf("periodic %s, want %s", got, dump(want))
	}
	if f := job.TaskGroups[0].Tasks[0].DispatchPayload; f == nil || f.File != "in.json" {
		t.Errorf("dispatch_payload %+v", f)
	}

	src = `job "p" {
  type = "batch"
  parameterized {
    payload       = "required"
    meta_required = ["a"]
    meta_optional = ["b"]
  }
  group "g" {
    task "t" { driver = "raw_exec" }
  }
}`
	job, err = Parse("job.hcl", []byte(src), Options{})
	if err != nil {
		t.Fatal(err)
	}
	wantP := &structs.ParameterizedJobConfig{Payload: "required", MetaRequired: []string{"a"}, MetaOptional: []string{"b"}}
	if got := dump(job.ParameterizedJob); got != dump(wantP) {
		t.Errorf("parameterized %s, want %s", got, dump(wantP))
	}
}

func TestParsePeriodicErrorsArePositioned(t *testing.T) {
	src := `job "r" {
  type = "batch"
  periodic {
    crons     = ["* * * * *", "bogus"]
    time_zone = "Mars/Olympus"
  }
  parameterized { payload = "sometimes" }
  group "g" {
    task "t" { driver = "raw_exec" }
  }
}`
	_, err := Parse("job.hcl", []byte(src), Options{})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		`job.hcl:3:3: periodic: a job cannot be both periodic and parameterized`,
		`job.hcl:4:31: periodic.crons[1] = "bogus": must be a cron expression`,
		`job.hcl:5:5: periodic.time_zone = "Mars/Olympus": must be an IANA time zone name`,
		`job.hcl:7:19: parameterized.payload = "sometimes": must be "optional", "required" or "forbidden"`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}
