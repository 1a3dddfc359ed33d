package command

import (
	"strings"
	"testing"
	"time"

	"github.com/orch-io/orch/api/apitest"
	"github.com/orch-io/orch/structs"
)

func TestJobStatusList(t *testing.T) {
	a := startAgent(t)
	if r := runCLI(t, "job", "status", "-address", a.addr); r.code != 0 || r.stdout != "No running jobs\n" {
		t.Errorf("no jobs: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
	web := apitest.Job("web")
	web.Status = structs.JobStatusRunning
	web.SubmitTime = time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC).UnixNano()
	a.backend.UpsertJob(web)
	batch := apitest.Job("report")
	batch.Type, batch.Priority, batch.Status, batch.Stop = structs.JobTypeBatch, 70, structs.JobStatusDead, true
	a.backend.UpsertJob(batch)

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

func TestJobStatusDetail(t *testing.T) {
	a := startAgent(t)
	job := apitest.Job("web")
	job.TaskGroups[0].Count = 3
	job.Status = structs.JobStatusRunning
	a.backend.UpsertJob(job)
	node := apitest.Node("f840a518-1111-0000-0000-000000000000", "node-1")
	a.backend.UpsertNode(node)

	old := apitest.Eval("e0000000-0000-0000-0000-000000000000", job)
	a.backend.UpsertEval(old)
	latest := apitest.Eval("e1111111-0000-0000-0000-000000000000", job)
	latest.QueuedAllocations = map[string]int{"web": 2}
	latest.FailedTGAllocs = map[string]*structs.AllocMetric{"web": {
		NodesEvaluated: 1, NodesExhausted: 1, DimensionExhausted: map[string]int{"memory": 1}, CoalescedFailures: 1,
	}}
	a.backend.UpsertEval(latest)
	// The blocked eval the latest one left behind has no results of its own:
	// the failures shown must still be the latest evaluated one's.
	blocked := apitest.Eval("e2222222-0000-0000-0000-000000000000", job)
	blocked.Status = structs.EvalStatusBlocked
	blocked.PreviousEval = latest.ID
	a.backend.UpsertEval(blocked)

	running := apitest.Alloc("a1111111-0000-0000-0000-000000000000", latest.ID, job, node, "web", 0)
	running.CreateTime = time.Now().Add(-2 * time.Minute).UnixNano()
	a.backend.UpsertAlloc(running)
	failed := apitest.Alloc("a2222222-0000-0000-0000-000000000000", old.ID, job, node, "web", 1)
	failed.ClientStatus = structs.AllocClientStatusFailed
	failed.DesiredStatus = structs.AllocDesiredStatusStop
	a.backend.UpsertAlloc(failed)

	r := runCLI(t, "job", "status", "-address", a.addr, "web")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	out := r.stdout
	mustContain(t, "job status", out,
		"ID          = web\n",
		"Type        = service\n",
		"Priority    = 50\n",
		"Datacenters = dc1\n",
		"Status      = running\n",
		"\nSummary\nTask Group  Queued  Starting  Running  Failed  Complete  Lost\n",
		"\nPlacement Failure\ncould not place 2 of 3 allocations of group web: memory exhausted on 1 node\n"+
			"  * Resources exhausted on 1 nodes\n"+
			`  * Dimension "memory" exhausted on 1 nodes`+"\n",
		"\nAllocations\nID        Node ID   Task Group  Version  Desired  Status   Created",
	)
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

	r = runCLI(t, "job", "status", "-verbose", "-address", a.addr, "web")
	mustContain(t, "job status -verbose", r.stdout, "\nEvaluations\n", latest.ID, "a1111111-0000-0000-0000-000000000000")
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
		a.backend.UpsertJob(apitest.Job(id))
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
