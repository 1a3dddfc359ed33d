package command

import (
	"strings"
	"testing"

	"github.com/orch-io/orch/api/apitest"
	"github.com/orch-io/orch/structs"
)

// storeEvals stores a complete evaluation of web, then a blocked one with
// placement failures, then a complete one of api, in that order.
func storeEvals(a *testAgent) (done, blocked, other *structs.Evaluation) {
	web := apitest.Job("web")
	done = apitest.Eval("e1000000-0000-0000-0000-000000000000", web)
	done.FailedTGAllocs = map[string]*structs.AllocMetric{"web": {
		NodesEvaluated: 2, NodesExhausted: 2, DimensionExhausted: map[string]int{"memory": 2},
		NodesAvailable: map[string]int{"dc1": 2}, CoalescedFailures: 2,
	}}
	done.QueuedAllocations = map[string]int{"web": 3}
	done.BlockedEval = "b2000000-0000-0000-0000-000000000000"
	a.backend.UpsertEval(done)
	blocked = apitest.Eval(done.BlockedEval, web)
	blocked.Status = structs.EvalStatusBlocked
	blocked.TriggeredBy = structs.EvalTriggerQueuedAllocs
	blocked.PreviousEval = done.ID
	a.backend.UpsertEval(blocked)
	other = apitest.Eval("a3000000-0000-0000-0000-000000000000", apitest.Job("api"))
	other.Priority = 70
	a.backend.UpsertEval(other)
	return done, blocked, other
}

func TestEvalList(t *testing.T) {
	a := startAgent(t)
	if r := runCLI(t, "eval", "list", "-address", a.addr); r.code != 0 || r.stdout != "No evaluations found\n" {
		t.Errorf("no evals: exit %d, %q", r.code, r.stdout)
	}
	storeEvals(a)
	r := runCLI(t, "eval", "list", "-address", a.addr)
	want := `ID        Priority  Triggered By   Job ID  Status    Placement Failures
a3000000  70        job-register   api     complete  false
b2000000  50        queued-allocs  web     blocked   false
e1000000  50        job-register   web     complete  true
`
	if r.code != 0 || r.stdout != want {
		t.Errorf("exit %d\n%s\nwant:\n%s", r.code, r.stdout, want)
	}
	r = runCLI(t, "eval", "list", "-job", "web", "-status", "blocked", "-verbose", "-address", a.addr)
	if lines := strings.Split(strings.TrimSpace(r.stdout), "\n"); len(lines) != 2 ||
		!strings.HasPrefix(lines[1], "b2000000-0000-0000-0000-000000000000  50") {
		t.Errorf("filtered, verbose:\n%s", r.stdout)
	}
}

func TestEvalStatus(t *testing.T) {
	a := startAgent(t)
	storeEvals(a)
	r := runCLI(t, "eval", "status", "-address", a.addr, "e1")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	mustContain(t, "eval status", r.stdout,
		"ID                 = e1000000\n",
		"Create Time        = ",
		"Status             = complete\n",
		"Status Description = <none>\n",
		"Type               = service\n",
		"TriggeredBy        = job-register\n",
		"Job ID             = web\n",
		"Priority           = 50\n",
		"Placement Failures = true\n",
		`
Failed Placements
Task Group "web" (failed to place 3 allocations):
  * Resources exhausted on 2 nodes
  * Dimension "memory" exhausted on 2 nodes

Evaluation "b2000000" waiting for additional capacity to place remainder
`)
	if strings.Contains(r.stdout, "Previous Eval") {
		t.Errorf("links without -verbose:\n%s", r.stdout)
	}

	r = runCLI(t, "eval", "status", "-verbose", "-address", a.addr, "b2")
	mustContain(t, "eval status -verbose", r.stdout,
		"ID                 = b2000000-0000-0000-0000-000000000000\n",
		"Status             = blocked\n",
		"Placement Failures = false\n",
		"Previous Eval      = e1000000-0000-0000-0000-000000000000\n",
	)
	r = runCLI(t, "eval", "status", "-verbose", "-address", a.addr, "e1")
	mustContain(t, "eval status -verbose", r.stdout, "Queued Allocations\nTask Group  Queued\nweb         3\n")

	if r := runCLI(t, "eval", "status", "-address", a.addr, "ff"); r.code != 1 || r.stderr != "Error: no evaluation matches prefix \"ff\"\n" {
		t.Errorf("unknown prefix: exit %d, %q", r.code, r.stderr)
	}
	if r := runCLI(t, "eval", "status", "-address", a.addr); r.code != 2 {
		t.Errorf("no argument: exit %d, want 2", r.code)
	}
}
