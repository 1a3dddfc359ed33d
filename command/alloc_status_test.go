package command

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/orch-io/orch/internal/structstest"
	"github.com/orch-io/orch/structs"
)

func TestAllocStatusCLI(t *testing.T) {
	a := startClientAgent(t)
	job := structstest.Job("web")
	job.TaskGroups[0].Count = 2
	a.register(t, job)
	var allocs []*structs.AllocListStub
	waitFor(t, "two running allocations of web", func() bool {
		allocs, _, _ = a.API.Jobs().Allocations("web", nil)
		running := 0
		for _, al := range allocs {
			if al.ClientStatus == structs.AllocClientStatusRunning {
				running++
			}
		}
		return running == 2
	})
	id := allocs[0].ID
	r := runCLI(t, "alloc", "status", "-address", a.addr, id[:6])
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	mustContain(t, "alloc status", r.stdout,
		"ID                  = "+id[:8]+"\n",
		"Eval ID             = "+allocs[0].EvalID[:8]+"\n",
		"Node ID             = "+a.NodeID[:8]+"\n",
		"Node Name           = node-1\n",
		"Job ID              = web\n",
		"Client Status       = running\n",
		"Desired Status      = run\n",
		`Task "server" is "running"`,
		"Task Resources:\nCPU", "/100 MHz", "/128 MiB  300 MB\n", // used/allocated: the task runs
		"Recent Events:\nTime",
		"Started",
	)
	if strings.Contains(r.stdout, "Placement Metrics") {
		t.Errorf("placement metrics without -verbose:\n%s", r.stdout)
	}
	// -verbose shows full IDs and how the scheduler placed it.
	r = runCLI(t, "alloc", "status", "-verbose", "-address", a.addr, id[:6])
	mustContain(t, "alloc status -verbose", r.stdout, "ID                  = "+id+"\n",
		"Placement Metrics\nNodes Evaluated = 1\n", a.NodeID+"  ", "binpack", "final score")

	r = runCLI(t, "alloc", "status", "-address", a.addr, "zzz")
	if r.code != 1 || r.stderr != "Error: no allocation matches prefix \"zzz\"\n" {
		t.Errorf("unknown prefix: exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestFormatAllocStatus(t *testing.T) {
	job := structstest.Job("web")
	node := structstest.Node("f840a518-0000-0000-0000-000000000000", "node-1")
	alloc := structstest.Alloc("a1b2c3d4-0000-0000-0000-000000000000", "e1e2e3e4-0000-0000-0000-000000000000", job, node, "web", 0)
	base := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	ts := alloc.TaskStates["server"]
	ts.StartedAt = base.Add(2 * time.Second).UnixNano()
	ts.Restarts = 1
	ts.Events = []*structs.TaskEvent{
		{Type: structs.TaskReceived, Time: base.UnixNano(), DisplayMessage: "Task received by client"},
		{Type: structs.TaskTerminated, Time: base.Add(time.Second).UnixNano(), ExitCode: 3},
		{Type: structs.TaskStarted, Time: base.Add(2 * time.Second).UnixNano(), DisplayMessage: "Task started by client"},
	}
	alloc.Job.TaskGroups[0].Networks = []*structs.NetworkResource{{Mode: "host",
		ReservedPorts: []structs.Port{{Label: "db", Value: 5432, To: 6000}}, DynamicPorts: []structs.Port{{Label: "http"}}}}
	alloc.AllocatedResources.Shared.Ports = structs.AllocatedPorts{
		{Label: "db", Value: 5432, To: 6000, HostIP: "10.0.0.7"}, {Label: "http", Value: 24001, HostIP: "10.0.0.7"},
	}
	out := formatAllocStatus(alloc, time.Now(), false)
	mustContain(t, "alloc status", out,
		"ID                  = a1b2c3d4\n",
		"Eval ID             = e1e2e3e4\n",
		"Name                = web.web[0]\n",
		"Node ID             = f840a518\n",
		"Node Name           = node-1\n",
		"Job ID              = web\n",
		"Client Status       = running\n",
		"Client Description  = Tasks are running\n",
		"Desired Status      = run\n",
		"Desired Description = <none>\n",
		"Created             = ",
		"Modified            = ",
		"\nAllocation Addresses:\nLabel  Dynamic  Address\n*db    no       10.0.0.7:5432 -> 6000\n*http  yes      10.0.0.7:24001\n\nTask \"server\"",
		`Task "server" is "running"`,
		"Task Resources:\nCPU      Memory  Disk\n100 MHz  128 MB  300 MB\n",
		"Total Restarts = 1\n",
		"Recent Events:\nTime",
	)
	// Recent events, newest first, with a description made up where the client gave none.
	events := out[strings.Index(out, "Recent Events:"):]
	lines := strings.Split(strings.TrimSpace(events), "\n")[2:]
	want := []string{"Started Task started by client", "Terminated Exit Code: 3", "Received Task received by client"}
	if len(lines) != len(want) {
		t.Fatalf("events:\n%s", events)
	}
	for i, w := range want {
		if f := strings.Fields(lines[i]); strings.Join(f[1:], " ") != w {
			t.Errorf("event %d = %q, want %q", i, lines[i], w)
		}
	}

	// -verbose shows full IDs.
	mustContain(t, "alloc status -verbose", formatAllocStatus(alloc, time.Now(), true), "ID                  = a1b2c3d4-0000-0000-0000-000000000000\n")
}

func TestPickOne(t *testing.T) {
	// Matches whose short forms collide are listed whole.
	_, err := pickOne("allocation", "a", []string{"a0000000-1", "a0000000-2"}, structs.ShortID)
	if err == nil || err.Error() != `prefix "a" matches 2 allocations: a0000000-1, a0000000-2; use more characters` {
		t.Errorf("colliding short IDs: %v", err)
	}
	// A full ID among several matches is taken.
	if id, err := pickOne("job", "web", []string{"web", "web-api"}, func(s string) string { return s }); err != nil || id != "web" {
		t.Errorf("exact among prefixes: %q %v", id, err)
	}
	// Long lists are cut.
	var ids []string
	for i := range 12 {
		ids = append(ids, string(rune('a'+i))+"0000000")
	}
	_, err = pickOne("node", "", ids, structs.ShortID)
	if err == nil || !strings.Contains(err.Error(), "matches 12 nodes: a0000000,") || !strings.Contains(err.Error(), "j0000000, and 2 more; use more characters") {
		t.Errorf("long list: %v", err)
	}
}

func TestFormatAllocStatusVerboseShowsPlacementScores(t *testing.T) {
	job := structstest.Job("web")
	node := structstest.Node("f840a518-0000-0000-0000-000000000000", "node-1")
	alloc := structstest.Alloc("a1b2c3d4-0000-0000-0000-000000000000", "e1e2e3e4-0000-0000-0000-000000000000", job, node, "web", 0)
	alloc.Metrics = &structs.AllocMetric{
		NodesEvaluated: 3, NodesFiltered: 1, AllocationTime: int64(1500 * time.Microsecond),
		ConstraintFiltered: map[string]int{"${attr.kernel.name} = linux": 1},
		ScoreMetaData: []*structs.NodeScoreMeta{
			{NodeID: "f840a518-0000-0000-0000-000000000000", Scores: structs.NodeScores{{Name: "binpack", Value: 0.3333333}, {Name: "job-anti-affinity", Value: 0}}, NormScore: 0.1666666},
			{NodeID: "c0ffee00-0000-0000-0000-000000000000", Scores: structs.NodeScores{{Name: "binpack", Value: 0.125}}, NormScore: 0.125},
		},
	}
	if out := formatAllocStatus(alloc, time.Now(), false); strings.Contains(out, "Placement Metrics") {
		t.Errorf("placement metrics without -verbose:\n%s", out)
	}
	mustContain(t, "alloc status -verbose", formatAllocStatus(alloc, time.Now(), true), `Placement Metrics
Nodes Evaluated = 3
Nodes Filtered  = 1
Nodes Exhausted = 0
Allocation Time = 1.5ms
* Constraint "${attr.kernel.name} = linux": 1 nodes excluded by filter

Node                                  binpack  job-anti-affinity  final score
f840a518-0000-0000-0000-000000000000  0.333    0                  0.167
c0ffee00-0000-0000-0000-000000000000  0.125    -                  0.125
`)
}

func TestFormatAllocStatusShowsPreemption(t *testing.T) {
	job := structstest.Job("web")
	node := structstest.Node("f840a518-0000-0000-0000-000000000000", "node-1")
	victim := structstest.Alloc("a1b2c3d4-0000-0000-0000-000000000000", "e1e2e3e4-0000-0000-0000-000000000000", job, node, "web", 0)
	victim.DesiredStatus = structs.AllocDesiredStatusEvict
	victim.PreemptedByAllocation = "b5b6b7b8-0000-0000-0000-000000000000"
	out := formatAllocStatus(victim, time.Now(), false)
	mustContain(t, "evicted alloc", out, "Desired Status          = evict\n", "Preempted By Allocation = b5b6b7b8\n")

	preemptor := structstest.Alloc("b5b6b7b8-0000-0000-0000-000000000000", "e1e2e3e4-0000-0000-0000-000000000000", job, node, "web", 1)
	preemptor.PreemptedAllocations = []string{victim.ID, "c0c0c0c0-0000-0000-0000-000000000000"}
	out = formatAllocStatus(preemptor, time.Now(), false)
	mustContain(t, "preempting alloc", out, "Preempted Allocations = a1b2c3d4, c0c0c0c0\n")
	if strings.Contains(formatAllocStatus(structstest.Alloc("d0000000-0000-0000-0000-000000000000", "e1e2e3e4-0000-0000-0000-000000000000", job, node, "web", 2), time.Now(), false), "Preempt") {
		t.Errorf("an allocation without preemption shows preemption fields")
	}
}

func TestFormatPlanPreemptions(t *testing.T) {
	if got := formatPlanPreemptions(&structs.JobPlanResponse{}, false); got != "" {
		t.Errorf("no preemptions: got %q, want nothing", got)
	}
	resp := &structs.JobPlanResponse{Annotations: &structs.PlanAnnotations{PreemptedAllocs: []*structs.AllocListStub{
		{ID: "a1b2c3d4-0000-0000-0000-000000000000", JobID: "low", TaskGroup: "web"},
	}}}
	want := "\nPreemptions:\n\nAlloc ID  Job ID  Task Group\na1b2c3d4  low     web\n"
	if got := formatPlanPreemptions(resp, false); got != want {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
}

func TestFormatAllocStatusUsage(t *testing.T) {
	job := structstest.Job("web")
	node := structstest.Node("f840a518-0000-0000-0000-000000000000", "node-1")
	alloc := structstest.Alloc("a1b2c3d4-0000-0000-0000-000000000000", "e1e2e3e4-0000-0000-0000-000000000000", job, node, "web", 0)
	r := alloc.AllocatedResources.Tasks["server"]
	usage := &structs.AllocResourceUsage{Tasks: map[string]*structs.TaskResourceUsage{"server": {ResourceUsage: &structs.ResourceUsage{
		MemoryStats: &structs.MemoryStats{RSS: 1 << 20, Usage: 3 << 19},
		CpuStats:    &structs.CpuStats{TotalTicks: 12.4, Percent: 0.5},
	}}}}
	out := formatAllocStatusUsage(alloc, usage, time.Now(), false)
	mustContain(t, "alloc status usage", out, fmt.Sprintf("12/%d MHz", r.CPU), fmt.Sprintf("1.5/%d MiB", r.MemoryMB))
}
