package e2e

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/orch-io/orch/structs"
)

// TestDevAgentPlanThenRunWithCheckIndex walks the dry run end to end: plan a
// new job (changes, nothing registered), run it with the index the plan gave,
// plan it unchanged (no changes) and changed (counts per kind), refuse a run
// with a stale index, and explain the evaluation and the placement.
func TestDevAgentPlanThenRunWithCheckIndex(t *testing.T) {
	a := startDevAgent(t, t.TempDir(), freePorts(t))

	out, stderr, code := a.orch("job", "plan", "examples/web.hcl")
	if code != 1 {
		t.Fatalf("plan of a new job: exit %d, want 1\n%s%s", code, out, stderr)
	}
	mustContain(t, "plan of a new job", out, `+ Job: "web"`, `+ Task Group: "web" (3 create)`,
		"- All tasks successfully allocated.", "orch job run -check-index 0 examples/web.hcl")
	var jobs []*structs.JobListStub
	if err := a.get("/v1/jobs", &jobs); err != nil || len(jobs) != 0 {
		t.Fatalf("plan registered something: %v %v", jobs, err)
	}

	if out, stderr, code := a.orch("job", "run", "-check-index", "0", "examples/web.hcl"); code != 0 {
		t.Fatalf("run -check-index 0: exit %d\n%s%s", code, out, stderr)
	}
	waitWebRunning(t, a)

	out, _, code = a.orch("job", "plan", "examples/web.hcl")
	if code != 0 {
		t.Fatalf("plan of the running job: exit %d, want 0\n%s", code, out)
	}
	mustContain(t, "plan of the running job", out, `Task Group: "web" (3 ignore)`)
	index := regexp.MustCompile(`Job Modify Index: (\d+)`).FindStringSubmatch(out)
	if index == nil || index[1] == "0" {
		t.Fatalf("no job modify index in:\n%s", out)
	}

	out, _, code = a.orch("job", "plan", "-var", "count=5", "-var", "message=hi", "examples/web.hcl")
	if code != 1 {
		t.Fatalf("plan of a change: exit %d, want 1\n%s", code, out)
	}
	mustContain(t, "plan of a change", out, `+/- Task Group: "web" (2 create, 3 create/destroy update)`,
		`+/- Count: "3" => "5"`, `+/- Env[MESSAGE]: "still serving" => "hi"`)

	// Someone else changes the job: the planned index is stale.
	if out, stderr, code := a.orch("job", "run", "-detach", "-var", "count=4", "examples/web.hcl"); code != 0 {
		t.Fatalf("run count=4: exit %d\n%s%s", code, out, stderr)
	}
	_, stderr, code = a.orch("job", "run", "-check-index", index[1], "examples/web.hcl")
	if code != 1 || !strings.Contains(stderr, "enforcing job modify index "+index[1]) {
		t.Errorf("run with a stale index: exit %d, stderr %q", code, stderr)
	}

	out, _, code = a.orch("eval", "list", "-job", "web")
	if code != 0 || strings.Count(out, "job-register") != 2 {
		t.Errorf("eval list: exit %d\n%s", code, out)
	}
	evalID := strings.Fields(strings.Split(out, "\n")[1])[0]
	out, _, code = a.orch("eval", "status", evalID)
	if code != 0 {
		t.Errorf("eval status %s: exit %d\n%s", evalID, code, out)
	}
	mustContain(t, "eval status", out, "TriggeredBy        = job-register", "Job ID             = web")

	var allocs []*structs.AllocListStub
	a.waitFor("a fourth allocation of web", 30*time.Second, func() (bool, error) {
		err := a.get("/v1/job/web/allocations", &allocs)
		return len(runningAllocs(allocs)) == 4, err
	})
	out, _, _ = a.orch("alloc", "status", "-verbose", runningAllocs(allocs)[0].ID)
	mustContain(t, "alloc status -verbose", out, "Placement Metrics", "Nodes Evaluated = 1", "binpack", "final score")

	if out, stderr, code := a.orch("job", "stop", "web"); code != 0 {
		t.Fatalf("job stop: exit %d\n%s%s", code, out, stderr)
	}
	a.stop()
}
