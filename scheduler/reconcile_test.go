package scheduler

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/orch-io/orch/structs"
)

// version of the job an allocation runs, in reconcile tests.
type version int

const (
	cur         version = iota // the current version
	oldCount                   // an older version that differs only in count
	oldCommand                 // an older version whose task command differs
	oldRestarts                // an older version whose restart policy differs
	purged                     // the same specification, of an earlier job of the same ID, since purged
)

// as describes one existing allocation compactly.
type as struct {
	idx     int
	node    string // "down" is tainted
	client  structs.AllocClientStatus
	stopped bool // desired status stop
	v       version
	group   string // default "web"
}

type reconcileCase struct {
	name   string
	count  int
	batch  bool
	stop   bool // the job is stopped
	allocs []as
	// want: names placed (sorted), "name:description" stopped (sorted),
	// names updated in place, and the number ignored.
	place   []string
	stops   []string
	inPlace []string
	ignored int
}

func TestReconcile(t *testing.T) {
	running := structs.AllocClientStatusRunning
	complete := structs.AllocClientStatusComplete
	failed := structs.AllocClientStatusFailed
	lost := structs.AllocClientStatusLost
	cases := []reconcileCase{
		{name: "nothing yet: place every index", count: 3,
			place: []string{"[0]", "[1]", "[2]"}},
		{name: "all there: nothing to do", count: 2,
			allocs:  []as{{idx: 0, client: running}, {idx: 1, client: running}},
			ignored: 2},
		{name: "count up fills the lowest free indexes", count: 4,
			allocs:  []as{{idx: 0, client: running}, {idx: 2, client: running}},
			place:   []string{"[1]", "[3]"},
			ignored: 2},
		{name: "count down stops the highest indexes", count: 1,
			allocs: []as{{idx: 2, client: running}, {idx: 0, client: running}, {idx: 1, client: running}},
			stops:  []string{"[1]:" + allocNotNeeded, "[2]:" + allocNotNeeded}, ignored: 1},
		{name: "duplicate index: one is surplus", count: 2,
			allocs: []as{{idx: 0, client: running}, {idx: 0, client: running}},
			place:  []string{"[1]"}, stops: []string{"[0]:" + allocNotNeeded}, ignored: 1},
		{name: "stopped job stops every live allocation", count: 2, stop: true,
			allocs: []as{{idx: 0, client: running}, {idx: 1, client: complete}, {idx: 2, stopped: true}},
			stops:  []string{"[0]:" + allocJobStopped}, ignored: 2},
		{name: "lost node: stop and replace under the same name", count: 2,
			allocs: []as{{idx: 0, node: "down", client: running}, {idx: 1, client: running}},
			place:  []string{"[0]"}, stops: []string{"[0]:" + allocLost}, ignored: 1},
		{name: "lost and surplus: stop without replacing", count: 1,
			allocs: []as{{idx: 0, client: running}, {idx: 1, node: "down", client: running}},
			stops:  []string{"[1]:" + allocLost}, ignored: 1},
		{name: "terminal allocation on a down node needs nothing", count: 1,
			allocs: []as{{idx: 0, node: "down", client: failed}},
			// failed allocations keep their name until rescheduling exists
			ignored: 1},
		{name: "server-stopped and client-lost do not count", count: 2,
			allocs: []as{{idx: 0, stopped: true, client: running}, {idx: 1, client: lost}},
			place:  []string{"[0]", "[1]"}, ignored: 2},
		{name: "batch: complete is done", count: 2, batch: true,
			allocs:  []as{{idx: 0, client: complete}, {idx: 1, client: complete}},
			ignored: 2},
		{name: "service: complete runs again", count: 1,
			allocs: []as{{idx: 0, client: complete}},
			place:  []string{"[0]"}, ignored: 1},
		{name: "failed is not replaced (no rescheduling yet)", count: 1,
			allocs:  []as{{idx: 0, client: failed}},
			ignored: 1},
		{name: "destructive update replaces, stopping the old only if placed", count: 2,
			allocs: []as{{idx: 0, client: running, v: oldCommand}, {idx: 1, client: running, v: oldCommand}},
			place:  []string{"[0]<-" + allocUpdating, "[1]<-" + allocUpdating}},
		{name: "count-only change updates in place", count: 2,
			allocs:  []as{{idx: 0, client: running, v: oldCount}, {idx: 1, client: running, v: oldCount}},
			inPlace: []string{"[0]", "[1]"}},
		{name: "restart policy change updates in place", count: 1,
			allocs:  []as{{idx: 0, client: running, v: oldRestarts}},
			inPlace: []string{"[0]"}},
		{name: "batch done under a destructively changed version runs again", count: 1, batch: true,
			allocs: []as{{idx: 0, client: complete, v: oldCommand}},
			place:  []string{"[0]"}, ignored: 1},
		{name: "what a purged job of the same ID finished holds no index", count: 2, batch: true,
			allocs: []as{{idx: 0, client: complete, v: purged}, {idx: 1, client: failed, v: purged}},
			place:  []string{"[0]", "[1]"}, ignored: 2},
		{name: "a purged job's allocation still running is adopted", count: 1, batch: true,
			allocs:  []as{{idx: 0, client: running, v: purged}},
			inPlace: []string{"[0]"}},
		{name: "group removed from the job", count: 1,
			allocs: []as{{idx: 0, client: running}, {idx: 0, client: running, group: "gone"}, {idx: 1, client: complete, group: "gone"}},
			stops:  []string{"gone[0]:" + allocNotNeeded}, ignored: 2},
		{name: "current beats lost at the same index", count: 1,
			allocs: []as{{idx: 0, node: "down", client: running}, {idx: 0, client: running}},
			stops:  []string{"[0]:" + allocLost}, ignored: 1},
		{name: "count 0 stops everything", count: 0,
			allocs: []as{{idx: 0, client: running}, {idx: 1, client: complete}},
			stops:  []string{"[0]:" + allocNotNeeded}, ignored: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { runReconcileCase(t, tc) })
	}
}

func runReconcileCase(t *testing.T, tc reconcileCase) {
	job := mockJob().Count(tc.count).Build()
	job.CreateIndex, job.JobModifyIndex, job.Stop = 8, 10, tc.stop
	if tc.batch {
		job.Type = structs.JobTypeBatch
	}
	versions := map[version]*structs.Job{cur: job}
	versions[oldCount] = job.Copy()
	versions[oldCount].TaskGroups[0].Count++
	versions[oldCommand] = job.Copy()
	versions[oldCommand].TaskGroups[0].Tasks[0].Config["command"] = "/bin/old"
	versions[oldRestarts] = job.Copy()
	versions[oldRestarts].TaskGroups[0].RestartPolicy = &structs.RestartPolicy{Attempts: 9}
	for v, j := range versions {
		if v != cur {
			j.JobModifyIndex = 5 + uint64(v)
		}
	}
	versions[purged] = job.Copy()
	versions[purged].CreateIndex, versions[purged].JobModifyIndex = 2, 2

	var allocs []*structs.Allocation
	for i, s := range tc.allocs {
		group := cmpOr(s.group, "web")
		a := &structs.Allocation{
			ID: fmt.Sprintf("a%d", i), JobID: job.ID, Job: versions[s.v], TaskGroup: group,
			Name: structs.AllocName(job.ID, group, s.idx), NodeID: cmpOr(s.node, "up"),
			DesiredStatus: structs.AllocDesiredStatusRun, ClientStatus: cmpOr(s.client, structs.AllocClientStatusPending),
		}
		if s.stopped {
			a.DesiredStatus = structs.AllocDesiredStatusStop
		}
		allocs = append(allocs, a)
	}
	res := reconcile(reconcileInput{Job: job, Batch: tc.batch, Allocs: allocs, TaintedNodes: map[string]bool{"down": true}})

	short := func(name string) string { return strings.TrimPrefix(strings.TrimPrefix(name, "job.web"), "job.") }
	var place, stops, inPlace []string
	for _, p := range res.Place {
		s := short(p.Name)
		if p.StopPrevious != "" {
			s += "<-" + p.StopPrevious
		}
		if p.Name != structs.AllocName(job.ID, p.TaskGroup.Name, p.Index) {
			t.Errorf("placement %s has index %d", p.Name, p.Index)
		}
		place = append(place, s)
	}
	for _, s := range res.Stop {
		stops = append(stops, short(s.Alloc.Name)+":"+s.Description)
	}
	for _, a := range res.InPlace {
		inPlace = append(inPlace, short(a.Name))
	}
	slices.Sort(stops)
	check := func(what string, got, want []string) {
		if !slices.Equal(got, want) {
			t.Errorf("%s:\n got %q\nwant %q", what, got, want)
		}
	}
	check("place", place, tc.place)
	check("stop", stops, tc.stops)
	check("in place", inPlace, tc.inPlace)
	if len(res.Ignore) != tc.ignored {
		t.Errorf("ignored %d, want %d", len(res.Ignore), tc.ignored)
	}
	// Every allocation lands in exactly one bucket.
	seen := map[string]int{}
	for _, s := range res.Stop {
		seen[s.Alloc.ID]++
	}
	for _, a := range slices.Concat(res.InPlace, res.Ignore) {
		seen[a.ID]++
	}
	for _, p := range res.Place {
		if p.StopPrevious != "" {
			seen[p.Previous.ID]++
		}
	}
	for _, a := range allocs {
		if seen[a.ID] != 1 {
			t.Errorf("allocation %s (%s) is in %d buckets, want 1: %v", a.ID, a.Name, seen[a.ID], slices.Collect(maps.Keys(seen)))
		}
	}
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

func TestClassifyRulesEndWithACatchAll(t *testing.T) {
	last := classifyRules[len(classifyRules)-1]
	if !last.match(&classifier{}, &structs.Allocation{}) {
		t.Fatal("the last classification rule must match everything")
	}
	for _, r := range classifyRules {
		if r.why == "" {
			t.Errorf("rule for %s has no reason", r.class)
		}
	}
}

func TestGroupChangedDestructively(t *testing.T) {
	base := mockJob().Build()
	for _, tc := range []struct {
		name   string
		change func(j *structs.Job)
		want   bool
	}{
		{"nothing", func(*structs.Job) {}, false},
		{"count", func(j *structs.Job) { j.TaskGroups[0].Count = 9 }, false},
		{"restart policy", func(j *structs.Job) { j.TaskGroups[0].RestartPolicy = &structs.RestartPolicy{Attempts: 1} }, false},
		{"priority", func(j *structs.Job) { j.Priority = 90 }, false},
		{"command", func(j *structs.Job) { j.TaskGroups[0].Tasks[0].Config["command"] = "x" }, true},
		{"memory", func(j *structs.Job) { j.TaskGroups[0].Tasks[0].Resources.MemoryMB++ }, true},
		{"env", func(j *structs.Job) { j.TaskGroups[0].Tasks[0].Env = map[string]string{"A": "1"} }, true},
		{"disk", func(j *structs.Job) { j.TaskGroups[0].EphemeralDisk.SizeMB++ }, true},
		{"job constraint", func(j *structs.Job) {
			j.Constraints = []*structs.Constraint{{LTarget: "a", RTarget: "b", Operand: "="}}
		}, true},
		{"group meta", func(j *structs.Job) { j.TaskGroups[0].Meta = map[string]string{"k": "v"} }, true},
		{"group renamed", func(j *structs.Job) { j.TaskGroups[0].Name = "other" }, true},
		{"group affinity", func(j *structs.Job) {
			j.TaskGroups[0].Affinities = []*structs.Affinity{{LTarget: "${node.class}", RTarget: "big", Operand: "=", Weight: 50}}
		}, true},
		{"job spread", func(j *structs.Job) { j.Spreads = []*structs.Spread{{Attribute: "${meta.rack}", Weight: 50}} }, true},
	} {
		cur := base.Copy()
		tc.change(cur)
		if got := groupChangedDestructively(base, cur, "web"); got != tc.want {
			t.Errorf("%s: destructive = %v, want %v", tc.name, got, tc.want)
		}
	}
}
