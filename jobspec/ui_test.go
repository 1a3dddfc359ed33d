package jobspec

import (
	"strings"
	"testing"

	"github.com/orch-io/orch/structs"
)

// The ui block of Nomad's job files (as `nomad job init` writes it) is kept
// in the job; what it may not hold is refused where it is.
func TestParseUI(t *testing.T) {
	src := `job "example" {
  ui {
    description = "A job that shows the **ui** block"
    link {
      label = "Learn more about Nomad"
      url   = "https://developer.hashicorp.com/nomad"
    }
    link {
      label = "Runbook"
      url   = "https://wiki.example.com/example"
    }
  }
  group "g" {
    task "t" { driver = "raw_exec" }
  }
}`
	job, err := Parse("job.hcl", []byte(src), Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := &structs.JobUIConfig{Description: "A job that shows the **ui** block", Links: []*structs.JobUILink{
		{Label: "Learn more about Nomad", URL: "https://developer.hashicorp.com/nomad"},
		{Label: "Runbook", URL: "https://wiki.example.com/example"},
	}}
	if got := dump(job.UI); got != dump(want) {
		t.Errorf("ui %s, want %s", got, dump(want))
	}
	if c := job.Copy(); dump(c.UI) != dump(want) || c.UI == job.UI || c.UI.Links[0] == job.UI.Links[0] {
		t.Errorf("Copy shares or changes the ui block: %s", dump(c.UI))
	}

	bad := `job "example" {
  ui {
    colour = "blue"
    link { target = "_blank" }
  }
  ui {}
  group "g" {
    task "t" { driver = "raw_exec" }
  }
}`
	_, err = Parse("job.hcl", []byte(bad), Options{})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{`job.hcl:3:5`, `"colour"`, `job.hcl:4:12`, `"target"`, `job.hcl:6:3`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}
