package command

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestJSONAndTemplateOutput: job inspect, job allocs and the status
// commands' -json and -t print the API's objects.
func TestJSONAndTemplateOutput(t *testing.T) {
	a := startAgent(t)
	done, _ := registerUnplaceable(t, a)

	r := runCLI(t, "job", "inspect", "-address", a.addr, "web")
	var body struct {
		Job struct {
			ID         string
			TaskGroups []struct{ Count *int }
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &body); r.code != 0 || err != nil || body.Job.ID != "web" || len(body.Job.TaskGroups) != 1 || body.Job.TaskGroups[0].Count == nil {
		t.Errorf("job inspect: exit %d %v\n%s%s", r.code, err, r.stdout, r.stderr)
	}
	if r := runCLI(t, "job", "inspect", "-address", a.addr, "-t", "{{.Job.ID}}/{{.Job.Priority}}", "web"); r.code != 0 || r.stdout != "web/50" {
		t.Errorf("job inspect -t: exit %d %q %s", r.code, r.stdout, r.stderr)
	}
	if r := runCLI(t, "job", "allocs", "-address", a.addr, "web"); r.code != 0 || r.stdout != "No allocations placed\n" {
		t.Errorf("job allocs: exit %d %q %s", r.code, r.stdout, r.stderr)
	}
	if r := runCLI(t, "job", "allocs", "-address", a.addr, "-json", "web"); r.code != 0 || strings.TrimSpace(r.stdout) != "[]" {
		t.Errorf("job allocs -json: exit %d %q %s", r.code, r.stdout, r.stderr)
	}
	if r := runCLI(t, "job", "status", "-address", a.addr, "-t", `{{range .}}{{.ID}} {{end}}`); r.code != 0 || r.stdout != "api web " {
		t.Errorf("job status -t: exit %d %q %s", r.code, r.stdout, r.stderr)
	}
	r = runCLI(t, "job", "status", "-address", a.addr, "-json", "web")
	var status []struct {
		Job         struct{ ID string }
		Evaluations []struct{ ID string }
	}
	if err := json.Unmarshal([]byte(r.stdout), &status); r.code != 0 || err != nil || len(status) != 1 || status[0].Job.ID != "web" || len(status[0].Evaluations) == 0 {
		t.Errorf("job status -json web: exit %d %v\n%s%s", r.code, err, r.stdout, r.stderr)
	}
	if r := runCLI(t, "eval", "status", "-address", a.addr, "-t", "{{.Status}} {{.JobID}}", done.ID); r.code != 0 || r.stdout != "complete web" {
		t.Errorf("eval status -t: exit %d %q %s", r.code, r.stdout, r.stderr)
	}
	if r := runCLI(t, "node", "status", "-address", a.addr, "-json"); r.code != 0 || strings.TrimSpace(r.stdout) != "[]" {
		t.Errorf("node status -json: exit %d %q %s", r.code, r.stdout, r.stderr)
	}
	if r := runCLI(t, "job", "status", "-address", a.addr, "-json", "-t", "x"); r.code != 1 || !strings.Contains(r.stderr, "exclude") {
		t.Errorf("-json with -t: exit %d %q", r.code, r.stderr)
	}
	if r := runCLI(t, "job", "status", "-address", a.addr, "-t", "{{.Nope"); r.code != 1 || !strings.Contains(r.stderr, "template") {
		t.Errorf("a bad template: exit %d %q", r.code, r.stderr)
	}
}
