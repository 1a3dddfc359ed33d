package command

import (
	"strings"
	"testing"
	"time"

	"github.com/orch-io/orch/internal/structstest"
	"github.com/orch-io/orch/structs"
)

// fixtureEvals returns a complete evaluation of web with placement failures,
// the blocked one it left, and a complete one of api, oldest first.
func fixtureEvals() (done, blocked, other *structs.Evaluation) {
	web := structstest.Job("web")
	done = structstest.Eval("e1000000-0000-0000-0000-000000000000", web)
	done.FailedTGAllocs = map[string]*structs.AllocMetric{"web": {
		NodesEvaluated: 2, NodesExhausted: 2, DimensionExhausted: map[string]int{"memory": 2},
		NodesAvailable: map[string]int{"dc1": 2}, CoalescedFailures: 2,
	}}
	done.QueuedAllocations = map[string]int{"web": 3}
	done.BlockedEval = "b2000000-0000-0000-0000-000000000000"
	done.CreateIndex, done.ModifyIndex = 10, 10
	blocked = structstest.Eval(done.BlockedEval, web)
	blocked.Status = structs.EvalStatusBlocked
	blocked.TriggeredBy = structs.EvalTriggerQueuedAllocs
	blocked.PreviousEval = done.ID
	blocked.CreateIndex, blocked.ModifyIndex = 11, 11
	other = structstest.Eval("a3000000-0000-0000-0000-000000000000", structstest.Job("api"))
	other.Priority = 70
	other.CreateIndex, other.ModifyIndex = 12, 12
	return done, blocked, other
}

// registerUnplaceable registers web, which no node can take (a server-only
// agent has none), and api, which asks for nothing; it returns web's
// evaluation once the scheduler has finished it, and the blocked one it left.
func registerUnplaceable(t *testing.T, a *testAgent) (done, blocked *structs.Evaluation) {
	t.Helper()
	evalID := a.register(t, structstest.Job("web"))
	api := structstest.Job("api")
	api.Priority = 70
	api.TaskGroups[0].Count = 0
	a.register(t, api)
	waitFor(t, "web's evaluation to finish", func() bool {
		done, _, _ = a.API.Evaluations().Info(evalID, nil)
		return done != nil && done.Status == structs.EvalStatusComplete && done.BlockedEval != ""
	})
	if done == nil || done.BlockedEval == "" {
		t.FailNow()
	}
	blocked, _, err := a.API.Evaluations().Info(done.BlockedEval, nil)
	if err != nil {
		t.Fatal(err)
	}
	return done, blocked
}

func TestEvalListCLI(t *testing.T) {
	a := startAgent(t)
	if r := runCLI(t, "eval", "list", "-address", a.addr); r.code != 0 || r.stdout != "No evaluations found\n" {
		t.Errorf("no evals: exit %d, %q", r.code, r.stdout)
	}
	done, blocked := registerUnplaceable(t, a)
	evals, _, err := a.API.Evaluations().List(nil)
	if err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, "eval", "list", "-address", a.addr)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if r.code != 0 || len(lines) != len(evals)+1 || strings.Join(strings.Fields(lines[0]), " ") != "ID Priority Triggered By Job ID Status Placement Failures" {
		t.Fatalf("exit %d: a header and %d evaluations wanted:\n%s", r.code, len(evals), r.stdout)
	}
	row := func(id string) string {
		for _, l := range lines[1:] {
			if strings.HasPrefix(l, id[:8]+" ") {
				return strings.Join(strings.Fields(l), " ")
			}
		}
		return ""
	}
	if got := row(done.ID); got != done.ID[:8]+" 50 job-register web complete true" {
		t.Errorf("row of web's evaluation: %q", got)
	}
	if got := row(blocked.ID); got != blocked.ID[:8]+" 50 queued-allocs web blocked false" {
		t.Errorf("row of the blocked evaluation: %q", got)
	}
	r = runCLI(t, "eval", "list", "-job", "web", "-status", "blocked", "-verbose", "-address", a.addr)
	if lines := strings.Split(strings.TrimSpace(r.stdout), "\n"); len(lines) != 2 ||
		!strings.HasPrefix(lines[1], blocked.ID+"  50") {
		t.Errorf("filtered, verbose:\n%s", r.stdout)
	}
}

func TestFormatEvalList(t *testing.T) {
	done, blocked, other := fixtureEvals()
	want := `ID        Priority  Triggered By   Job ID  Status    Placement Failures
a3000000  70        job-register   api     complete  false
b2000000  50        queued-allocs  web     blocked   false
e1000000  50        job-register   web     complete  true
`
	if got := formatEvalList([]*structs.Evaluation{done, blocked, other}, false); got != want {
		t.Errorf("got\n%s\nwant:\n%s", got, want)
	}
}

func TestEvalStatusCLI(t *testing.T) {
	a := startAgent(t)
	done, blocked := registerUnplaceable(t, a)
	r := runCLI(t, "eval", "status", "-address", a.addr, done.ID[:6])
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	mustContain(t, "eval status", r.stdout,
		"ID                 = "+done.ID[:8]+"\n",
		"Status             = complete\n",
		"TriggeredBy        = job-register\n",
		"Job ID             = web\n",
		"Placement Failures = true\n",
		"\nFailed Placements\nTask Group \"web\" (failed to place 1 allocation):\n",
		"Evaluation \""+blocked.ID[:8]+"\" waiting for additional capacity to place remainder\n")

	r = runCLI(t, "eval", "status", "-verbose", "-address", a.addr, blocked.ID[:6])
	mustContain(t, "eval status -verbose", r.stdout,
		"ID                 = "+blocked.ID+"\n",
		"Status             = blocked\n",
		"Previous Eval      = "+done.ID+"\n",
	)
	if r := runCLI(t, "eval", "status", "-address", a.addr, "zz"); r.code != 1 || r.stderr != "Error: no evaluation matches prefix \"zz\"\n" {
		t.Errorf("unknown prefix: exit %d, %q", r.code, r.stderr)
	}
	if r := runCLI(t, "eval", "status", "-address", a.addr); r.code != 2 {
		t.Errorf("no argument: exit %d, want 2", r.code)
	}
}

func TestFormatEvalStatus(t *testing.T) {
	done, blocked, _ := fixtureEvals()
	out := formatEvalStatus(done, time.Now(), false)
	mustContain(t, "eval status", out,
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
	if strings.Contains(out, "Previous Eval") {
		t.Errorf("links without -verbose:\n%s", out)
	}
	mustContain(t, "eval status -verbose", formatEvalStatus(blocked, time.Now(), true),
		"ID                 = b2000000-0000-0000-0000-000000000000\n",
		"Status             = blocked\n",
		"Placement Failures = false\n",
		"Previous Eval      = e1000000-0000-0000-0000-000000000000\n",
	)
	mustContain(t, "eval status -verbose", formatEvalStatus(done, time.Now(), true), "Queued Allocations\nTask Group  Queued\nweb         3\n")
}
