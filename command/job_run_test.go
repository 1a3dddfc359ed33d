package command

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/orch-io/orch/api/apitest"
	"github.com/orch-io/orch/structs"
)

// writeJSONJob writes job as a JSON job file, wrapped in {"Job": ...} when wrap.
func writeJSONJob(t *testing.T, job *structs.Job, wrap bool) string {
	t.Helper()
	var v any = job
	if wrap {
		v = map[string]any{"Job": job}
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "job.json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) bool {
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Errorf("timed out waiting for %s", what)
			return false
		}
		time.Sleep(5 * time.Millisecond) // poll with a deadline
	}
	return true
}

// placeAfterFirstPoll plays the scheduler for each new evaluation: once the
// monitor has seen the evaluation pending and is blocked on it (a query with
// an index at or past its creation), it places one allocation per count on
// node, with failures for failed (by group), and completes the evaluation.
func placeAfterFirstPoll(t *testing.T, a *testAgent, node *structs.Node, failed map[string]*structs.AllocMetric) {
	a.backend.OnEval(func(job *structs.Job, eval *structs.Evaluation) {
		go func() {
			if !waitFor(t, "the monitor's blocking query", func() bool {
				q, ok := a.backend.LastQuery("Eval.GetEval")
				return ok && q.MinQueryIndex >= eval.CreateIndex
			}) {
				return
			}
			if eval.TriggeredBy == structs.EvalTriggerJobRegister {
				for _, tg := range job.TaskGroups {
					for i := range tg.Count - failedCount(failed[tg.Name]) {
						a.backend.UpsertAlloc(apitest.Alloc(structs.GenerateUUID(), eval.ID, job, node, tg.Name, i))
					}
				}
			}
			done := eval.Copy()
			done.Status = structs.EvalStatusComplete
			done.FailedTGAllocs = failed
			if len(failed) > 0 {
				done.BlockedEval = structs.GenerateUUID()
			}
			a.backend.UpsertEval(done)
		}()
	})
}

var timestamp = `\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)`

func TestJobRunMonitorsTheEvaluation(t *testing.T) {
	a := startAgent(t)
	node := apitest.Node("f840a518-0000-0000-0000-000000000000", "node-1")
	a.backend.UpsertNode(node)
	placeAfterFirstPoll(t, a, node, nil)
	job := apitest.Job("web")
	job.TaskGroups[0].Count = 2

	r := runCLI(t, "job", "run", "-json", "-address", a.addr, writeJSONJob(t, job, true))
	if r.code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	stored := a.backend.Job("web")
	if stored == nil || stored.TaskGroups[0].Count != 2 {
		t.Fatalf("job not registered as written: %+v", stored)
	}
	evals, _ := jobEvals(a, "web")
	if len(evals) != 1 {
		t.Fatalf("evaluations: %v", evals)
	}
	evalShort := evals[0].ID[:8]
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	want := []string{
		`^==> ` + timestamp + `: Monitoring evaluation "` + evalShort + `"$`,
		`^    ` + timestamp + `: Evaluation triggered by job "web"$`,
		`^    ` + timestamp + `: Allocation "[0-9a-f]{8}" created: node "f840a518", group "web"$`,
		`^    ` + timestamp + `: Allocation "[0-9a-f]{8}" created: node "f840a518", group "web"$`,
		`^    ` + timestamp + `: Evaluation status changed: "pending" -> "complete"$`,
		`^==> ` + timestamp + `: Evaluation "` + evalShort + `" finished with status "complete"$`,
	}
	if len(lines) != len(want) {
		t.Fatalf("monitor output has %d lines, want %d:\n%s", len(lines), len(want), r.stdout)
	}
	for i, w := range want {
		if !regexp.MustCompile(w).MatchString(lines[i]) {
			t.Errorf("line %d = %q, want /%s/", i+1, lines[i], w)
		}
	}
}

func jobEvals(a *testAgent, jobID string) ([]*structs.Evaluation, error) {
	var reply structs.JobEvaluationsResponse
	err := a.backend.RPC("Job.Evaluations", &structs.JobSpecificRequest{JobID: jobID}, &reply)
	return reply.Evaluations, err
}

func TestJobRunPlacementFailureExitsTwo(t *testing.T) {
	a := startAgent(t)
	node := apitest.Node("f840a518-0000-0000-0000-000000000000", "node-1")
	a.backend.UpsertNode(node)
	placeAfterFirstPoll(t, a, node, map[string]*structs.AllocMetric{"web": {
		NodesEvaluated: 1, NodesExhausted: 1, DimensionExhausted: map[string]int{"memory": 1},
		NodesAvailable: map[string]int{"dc1": 1}, CoalescedFailures: 1,
	}})
	job := apitest.Job("web")
	job.TaskGroups[0].Count = 3

	r := runCLI(t, "job", "run", "-json", "-address", a.addr, writeJSONJob(t, job, false))
	if r.code != 2 {
		t.Fatalf("exit %d, want 2\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	mustContain(t, "monitor output", r.stdout,
		`finished with status "complete" but failed to place all allocations:`,
		`: Task Group "web" (failed to place 2 allocations):`+"\n"+
			"      * Resources exhausted on 1 nodes\n"+
			`      * Dimension "memory" exhausted on 1 nodes`+"\n",
		"waiting for additional capacity to place remainder",
	)
	if n := strings.Count(r.stdout, "Allocation \""); n != 1 {
		t.Errorf("%d allocations printed, want 1:\n%s", n, r.stdout)
	}
}

func TestJobRunFailedEvaluationExitsTwo(t *testing.T) {
	a := startAgent(t)
	a.backend.OnEval(func(job *structs.Job, eval *structs.Evaluation) {
		failed := eval.Copy()
		failed.Status = structs.EvalStatusFailed
		failed.StatusDescription = "maximum attempts reached (5)"
		a.backend.UpsertEval(failed)
	})
	r := runCLI(t, "job", "run", "-json", "-address", a.addr, writeJSONJob(t, apitest.Job("web"), true))
	if r.code != 2 {
		t.Fatalf("exit %d, want 2\n%s%s", r.code, r.stdout, r.stderr)
	}
	mustContain(t, "monitor output", r.stdout, `finished with status "failed"`, "Evaluation failed: maximum attempts reached (5)")
}

func TestJobRunDetach(t *testing.T) {
	a := startAgent(t)
	r := runCLI(t, "job", "run", "-detach", "-json", "-address", a.addr, writeJSONJob(t, apitest.Job("web"), true))
	evals, _ := jobEvals(a, "web")
	if r.code != 0 || len(evals) != 1 || r.stdout != evals[0].ID+"\n" {
		t.Errorf("exit %d, stdout %q, evals %v", r.code, r.stdout, evals)
	}
}

func TestJobRunErrors(t *testing.T) {
	a := startAgent(t)

	// The agent's message is shown as is.
	msg := `invalid job: group "web": count = -1: must be >= 0`
	a.backend.FailRPC("Job.Register", errors.New(msg))
	r := runCLI(t, "job", "run", "-json", "-address", a.addr, writeJSONJob(t, apitest.Job("web"), true))
	if r.code != 1 || r.stderr != "Error submitting job: "+msg+"\n" {
		t.Errorf("rejected job: exit %d, stderr %q", r.code, r.stderr)
	}
	a.backend.FailRPC("Job.Register", nil)

	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct{ name, content, want string }{
		{"syntax.json", "{\n  \"ID\": \"web\",\n  }\n", "syntax.json:3:3: invalid character '}'"},
		{"type.json", "{\"Job\": {\n  \"ID\": \"web\",\n  \"Priority\": \"high\"}}", `type.json:3:15: Job.Priority = "high": must be an integer, not a string`},
		{"unknown.json", "{\"ID\": \"web\", \"TaskGroups\": [{\"Name\": \"g\", \"Tasks\": [{\"Name\": \"t\", \"Resoruces\": {}}]}]}",
			`unknown.json:1:68: TaskGroups[0].Tasks[0].Resoruces: unknown field`},
		{"array.json", "[1]", `the file must hold a JSON object`},
		{"noid.json", `{"Name": "web"}`, `noid.json: the job has no "ID"`},
	}
	for _, tt := range tests {
		path := write(tt.name, tt.content)
		r := runCLI(t, "job", "run", "-json", "-address", a.addr, path)
		if r.code != 1 || !strings.HasPrefix(r.stderr, "Error parsing job file "+path+":\n  ") || !strings.Contains(r.stderr, tt.want) {
			t.Errorf("%s: exit %d, stderr %q, want 1 and %q", tt.name, r.code, r.stderr, tt.want)
		}
	}
	// null in every list is reported, not dereferenced (it crashed the CLI).
	nulls := write("nulls.json", `{"ID": "web", "Constraints": [null], "TaskGroups": [null, {"Name": "g", "Tasks": [null]}]}`)
	if r := runCLI(t, "job", "run", "-json", "-address", a.addr, nulls); r.code != 1 ||
		r.stderr != "Error: Job validation errors:\n  * constraint[0]: must not be null\n  * group[0]: must not be null\n  * group \"g\": task[0]: must not be null\n" {
		t.Errorf("nulls: exit %d, stderr %q", r.code, r.stderr)
	}
	missing := filepath.Join(dir, "missing.json")
	if r := runCLI(t, "job", "run", "-json", "-address", a.addr, missing); r.code != 1 || !strings.Contains(r.stderr, "no such file") {
		t.Errorf("missing file: exit %d, stderr %q", r.code, r.stderr)
	}
	if a.backend.Job("web") != nil {
		t.Error("a job was registered although every attempt failed")
	}
}

func TestJobRunAndValidateHCL(t *testing.T) {
	a := startAgent(t)
	placeAfterFirstPoll(t, a, apitest.Node("f840a518-0000-0000-0000-000000000000", "node-1"), nil)
	dir := t.TempDir()
	path := filepath.Join(dir, "web.hcl")
	src := `variable "count" {
  type    = number
  default = 1
}

job "web" {
  datacenters = ["dc1"]
  group "web" {
    count = var.count
    task "server" {
      driver = "raw_exec"
      config {
        command = "/bin/sleep"
        args    = ["3600"]
      }
      resources {
        cpu    = 100
        memory = 128
      }
    }
  }
}
`
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, "job", "validate", path)
	if strings.Contains(r.stderr, "(stub)") {
		t.Skip("jobspec is still the cli branch's stub: HCL parsing lands with the jobspec branch")
	}
	if r.code != 0 || r.stdout != "Job validation successful\n" {
		t.Fatalf("validate: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = runCLI(t, "job", "run", "-var", "count=2", "-address", a.addr, path)
	if r.code != 0 {
		t.Fatalf("run: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if j := a.backend.Job("web"); j == nil || j.TaskGroups[0].Count != 2 {
		t.Errorf("registered job: %+v", j)
	}

	// Errors are positioned.
	bad := filepath.Join(dir, "bad.hcl")
	if err := os.WriteFile(bad, []byte("job \"web\" {\n  group \"web\" {\n    count = \n  }\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r = runCLI(t, "job", "validate", bad)
	if r.code != 1 || !regexp.MustCompile(regexp.QuoteMeta(bad)+`:\d+:\d+`).MatchString(r.stderr) {
		t.Errorf("bad HCL: exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestJobValidateJSON(t *testing.T) {
	r := runCLI(t, "job", "validate", "-json", writeJSONJob(t, apitest.Job("web"), true))
	if r.code != 0 || r.stdout != "Job validation successful\n" {
		t.Errorf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

func TestJobStop(t *testing.T) {
	a := startAgent(t)
	node := apitest.Node("f840a518-0000-0000-0000-000000000000", "node-1")
	placeAfterFirstPoll(t, a, node, nil)
	a.backend.UpsertJob(apitest.Job("web"))
	a.backend.UpsertJob(apitest.Job("worker"))

	r := runCLI(t, "job", "stop", "-address", a.addr, "we")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	mustContain(t, "stop output", r.stdout, "Monitoring evaluation", `Evaluation triggered by job "web"`, `finished with status "complete"`)
	if j := a.backend.Job("web"); j == nil || !j.Stop {
		t.Errorf("job after stop: %+v", j)
	}

	r = runCLI(t, "job", "stop", "-purge", "-detach", "-address", a.addr, "worker")
	if r.code != 0 || a.backend.Job("worker") != nil || a.backend.Eval(strings.TrimSpace(r.stdout)) == nil {
		t.Errorf("stop -purge -detach: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}

	if r := runCLI(t, "job", "stop", "-address", a.addr, "nope"); r.code != 1 || r.stderr != "Error: no job matches prefix \"nope\"\n" {
		t.Errorf("unknown job: exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestJobRunCheckIndex(t *testing.T) {
	a := startAgent(t)
	path := writeJSONJob(t, apitest.Job("web"), true)

	// A wrong index for a job that does not exist registers nothing.
	r := runCLI(t, "job", "run", "-detach", "-check-index", "7", "-json", "-address", a.addr, path)
	if r.code != 1 || !strings.Contains(r.stderr, `enforcing job modify index 7: job "web" does not exist`) {
		t.Errorf("index 7 on a new job: exit %d, stderr %q", r.code, r.stderr)
	}
	if a.backend.Job("web") != nil {
		t.Fatal("a failed -check-index registered the job")
	}
	// 0 means "must not exist yet".
	r = runCLI(t, "job", "run", "-detach", "-check-index", "0", "-json", "-address", a.addr, path)
	if r.code != 0 {
		t.Fatalf("index 0 on a new job: exit %d, stderr %q", r.code, r.stderr)
	}
	stored := a.backend.Job("web")
	r = runCLI(t, "job", "run", "-detach", "-check-index", "0", "-json", "-address", a.addr, path)
	want := fmt.Sprintf(`enforcing job modify index 0: job "web" exists with index %d`, stored.JobModifyIndex)
	if r.code != 1 || !strings.Contains(r.stderr, want) {
		t.Errorf("index 0 on an existing job: exit %d, stderr %q, want %q", r.code, r.stderr, want)
	}
	// The current index succeeds.
	r = runCLI(t, "job", "run", "-detach", "-check-index", fmt.Sprint(stored.JobModifyIndex), "-json", "-address", a.addr, path)
	if r.code != 0 {
		t.Errorf("current index: exit %d, stderr %q", r.code, r.stderr)
	}
	if got := a.backend.Job("web"); got.JobModifyIndex == stored.JobModifyIndex {
		t.Errorf("registration with the current index did not update the job")
	}
}
