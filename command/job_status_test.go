package command

import (
	"strings"
	"testing"
	"time"

	"github.com/orch-io/orch/internal/structstest"
	"github.com/orch-io/orch/structs"
)

func TestJobStatusList(t *testing.T) {
	a := startClientAgent(t)
	if r := runCLI(t, "job", "status", "-address", a.addr); r.code != 0 || r.stdout != "No running jobs\n" {
		t.Errorf("no jobs: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
	a.register(t, structstest.Job("web"))
	batch := structstest.Job("report")
	batch.Type, batch.Priority = structs.JobTypeBatch, 70
	a.register(t, batch)
	if _, err := a.API.Jobs().Deregister("report", false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "web running and report dead", func() bool {
		return a.job(t, "web").Status == structs.JobStatusRunning && a.job(t, "report").Status == structs.JobStatusDead
	})
	web := a.job(t, "web")

	r := runCLI(t, "job", "status", "-address", a.addr)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 3 {
		t.Fatalf("want a header and two jobs:\n%s", r.stdout)
	}
	if f := strings.Fields(lines[0]); strings.Join(f, " ") != "ID Type Priority Status Submit Date" {
		t.Errorf("header %q", lines[0])
	}
	if f := strings.Fields(lines[1]); f[0] != "report" || f[1] != "batch" || f[2] != "70" || f[3] != "dead" || f[4] != "(stopped)" {
		t.Errorf("report row %q", lines[1])
	}
	wantDate := formatTime(time.Unix(0, web.SubmitTime))
	if f := strings.Fields(lines[2]); f[0] != "web" || f[1] != "service" || f[2] != "50" || f[3] != "running" || f[4] != wantDate {
		t.Errorf("web row %q (want date %s)", lines[2], wantDate)
	}
	// Columns are aligned: every row's Type starts where the header's does.
	col := strings.Index(lines[0], "Type")
	for _, l := range lines[1:] {
		if l[col-2:col] != "  " || l[col] == ' ' {
			t.Errorf("row %q not aligned under %q", l, lines[0])
		}
	}
}

func TestJobStatusDetailCLI(t *testing.T) {
	a := startClientAgent(t)
	evalID := a.register(t, structstest.Job("web"))
	var allocs []*structs.AllocListStub
	waitFor(t, "web running", func() bool {
		allocs, _, _ = a.API.Jobs().Allocations("web", nil)
		return a.job(t, "web").Status == structs.JobStatusRunning && len(allocs) == 1 &&
			allocs[0].ClientStatus == structs.AllocClientStatusRunning
	})
	r := runCLI(t, "job", "status", "-address", a.addr, "web")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	mustContain(t, "job status", r.stdout, append(runningWebHead,
		"\nAllocations\nID        Node ID   Task Group  Version  Desired  Status   Created",
	)...)
	if f := strings.Fields(lineAfter(r.stdout, "Task Group  Queued")); strings.Join(f, " ") != "web 0 0 1 0 0 0" {
		t.Errorf("summary row %q, want web 0 0 1 0 0 0", strings.Join(f, " "))
	}
	if f := strings.Fields(lineAfter(r.stdout, "ID        Node ID")); len(f) < 6 || f[0] != allocs[0].ID[:8] || f[1] != a.NodeID[:8] || f[4] != "run" || f[5] != "running" {
		t.Errorf("allocation row %q", lineAfter(r.stdout, "ID        Node ID"))
	}
	if strings.Contains(r.stdout, "Placement Failure") {
		t.Errorf("placement failures of a job that was placed:\n%s", r.stdout)
	}
	r = runCLI(t, "job", "status", "-verbose", "-address", a.addr, "web")
	mustContain(t, "job status -verbose", r.stdout, "\nEvaluations\n", evalID, allocs[0].ID)
}

// runningWebHead is how job status starts for a running structstest.Job("web").
var runningWebHead = []string{
	"ID          = web\n",
	"Type        = service\n",
	"Priority    = 50\n",
	"Datacenters = dc1\n",
	"Status      = running\n",
	"\nSummary\nTask Group  Queued  Starting  Running  Failed  Complete  Lost\n",
}

func TestFormatJobStatus(t *testing.T) {
	job := structstest.Job("web")
	job.TaskGroups[0].Count = 3
	job.Status = structs.JobStatusRunning
	node := structstest.Node("f840a518-1111-0000-0000-000000000000", "node-1")

	old := structstest.Eval("e0000000-0000-0000-0000-000000000000", job)
	old.CreateIndex, old.ModifyIndex = 10, 10
	latest := structstest.Eval("e1111111-0000-0000-0000-000000000000", job)
	latest.QueuedAllocations = map[string]int{"web": 2}
	latest.FailedTGAllocs = map[string]*structs.AllocMetric{"web": {
		NodesEvaluated: 1, NodesExhausted: 1, DimensionExhausted: map[string]int{"memory": 1}, CoalescedFailures: 1,
	}}
	latest.CreateIndex, latest.ModifyIndex = 11, 11
	// The blocked eval the latest one left behind has no results of its own:
	// the failures shown must still be the latest evaluated one's.
	blocked := structstest.Eval("e2222222-0000-0000-0000-000000000000", job)
	blocked.Status = structs.EvalStatusBlocked
	blocked.PreviousEval = latest.ID
	blocked.CreateIndex, blocked.ModifyIndex = 12, 12

	running := structstest.Alloc("a1111111-0000-0000-0000-000000000000", latest.ID, job, node, "web", 0)
	running.CreateTime = time.Now().Add(-2 * time.Minute).UnixNano()
	running.CreateIndex = 13
	failed := structstest.Alloc("a2222222-0000-0000-0000-000000000000", old.ID, job, node, "web", 1)
	failed.ClientStatus = structs.AllocClientStatusFailed
	failed.DesiredStatus = structs.AllocDesiredStatusStop
	failed.CreateIndex = 14
	allocs := []*structs.AllocListStub{running.Stub(), failed.Stub()}
	evals := []*structs.Evaluation{old, latest, blocked}

	out := formatJobStatus(job, allocs, evals, time.Now(), false)
	mustContain(t, "job status", out, append(runningWebHead,
		"\nPlacement Failure\ncould not place 2 of 3 allocations of group web: memory exhausted on 1 node\n"+
			"  * Resources exhausted on 1 nodes\n"+
			`  * Dimension "memory" exhausted on 1 nodes`+"\n",
		"\nAllocations\nID        Node ID   Task Group  Version  Desired  Status   Created",
	)...)
	summary := lineAfter(out, "Task Group  Queued")
	if f := strings.Fields(summary); strings.Join(f, " ") != "web 2 0 1 1 0 0" {
		t.Errorf("summary row %q, want web 2 0 1 1 0 0", summary)
	}
	// Allocations newest first, with short IDs and relative times.
	allocRows := strings.Split(out[strings.Index(out, "\nAllocations\n"):], "\n")[3:5]
	if f := strings.Fields(allocRows[0]); f[0] != "a2222222" || f[1] != "f840a518" || f[4] != "stop" || f[5] != "failed" {
		t.Errorf("first allocation row %q", allocRows[0])
	}
	if f := strings.Fields(allocRows[1]); f[0] != "a1111111" || f[5] != "running" || f[6] != "2m" || f[7] != "ago" {
		t.Errorf("second allocation row %q", allocRows[1])
	}
	if strings.Contains(out, "\nEvaluations\n") {
		t.Error("evaluations shown without -verbose")
	}

	mustContain(t, "job status -verbose", formatJobStatus(job, allocs, evals, time.Now(), true),
		"\nEvaluations\n", latest.ID, "a1111111-0000-0000-0000-000000000000")
}

// lineAfter returns the line that follows the line containing marker.
func lineAfter(s, marker string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if strings.Contains(l, marker) && i+1 < len(lines) {
			return lines[i+1]
		}
	}
	return ""
}

func TestJobStatusPrefix(t *testing.T) {
	a := startAgent(t)
	for _, id := range []string{"web", "web-api", "worker"} {
		a.register(t, structstest.Job(id))
	}
	tests := []struct {
		arg      string
		code     int
		want     string
		inStderr bool
	}{
		{"web", 0, "ID          = web\n", false}, // exact match wins over the prefix
		{"wor", 0, "ID          = worker\n", false},
		{"web-", 0, "ID          = web-api\n", false},
		{"w", 1, `Error: prefix "w" matches 3 jobs: web, web-api, worker; use more characters`, true},
		{"zzz", 1, `Error: no job matches prefix "zzz"`, true},
	}
	for _, tt := range tests {
		r := runCLI(t, "job", "status", "-address", a.addr, tt.arg)
		got := r.stdout
		if tt.inStderr {
			got = r.stderr
		}
		if r.code != tt.code || !strings.Contains(got, tt.want) {
			t.Errorf("job status %s: exit %d\nstdout %q\nstderr %q\nwant exit %d and %q", tt.arg, r.code, r.stdout, r.stderr, tt.code, tt.want)
		}
	}
}
