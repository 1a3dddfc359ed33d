package scheduler

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/orch-io/orch/structs"
)

func systemJob() *jobBuilder {
	b := mockJob()
	b.j.Type = structs.JobTypeSystem
	return b
}

func TestNewSystemSchedulers(t *testing.T) {
	h := newHarness(t)
	cfg := Config{State: h.store.Snapshot(), Planner: h, Now: testNow, Rand: rand.New(rand.NewPCG(1, 2))}
	for _, typ := range []structs.JobType{structs.JobTypeSystem, structs.JobTypeSysBatch} {
		s, err := New(typ, cfg)
		if err != nil {
			t.Fatalf("New(%s): %v", typ, err)
		}
		if _, ok := s.(*systemScheduler); !ok {
			t.Errorf("New(%s) = %T, want the system scheduler", typ, s)
		}
	}
}

func TestSystemPlacesOnePerNodePerGroup(t *testing.T) {
	h := newHarness(t)
	h.upsertNodes(mockNodes(4, "n", nil)...)
	h.upsertNodes(mockNode("other-dc").DC("dc9").Build(), mockNode("down").Status(structs.NodeStatusDown).Build())
	job := h.run(systemJob().Count(7).Group("sidecar").Build())

	perNodeGroup := map[[2]string]int{}
	for _, a := range h.live(job.ID) {
		perNodeGroup[[2]string{a.NodeName, a.TaskGroup}]++
		if a.Name != structs.AllocName(job.ID, a.TaskGroup, 0) {
			t.Errorf("allocation named %s, want index 0", a.Name)
		}
		m := a.Metrics
		if m == nil || m.NodesEvaluated != 1 || m.NodesAvailable["dc1"] != 4 || len(m.ScoreMetaData) != 1 || m.ScoreMetaData[0].NodeID != a.NodeID {
			t.Errorf("%s on %s: metrics %+v", a.Name, a.NodeName, m)
		}
	}
	if len(perNodeGroup) != 8 {
		t.Errorf("placed on %d (node, group) pairs, want 4 nodes × 2 groups: %v", len(perNodeGroup), perNodeGroup)
	}
	for k, n := range perNodeGroup {
		if n != 1 || k[0] == "other-dc" || k[0] == "down" {
			t.Errorf("%d allocations of group %s on node %s", n, k[1], k[0])
		}
	}
	e := h.lastEval()
	if e.Status != structs.EvalStatusComplete || e.FailedTGAllocs != nil || len(h.created) != 0 ||
		e.QueuedAllocations["web"] != 0 || e.QueuedAllocations["sidecar"] != 0 {
		t.Errorf("eval %+v, %d evals created", e, len(h.created))
	}

	// A second eval changes nothing.
	plans := len(h.plans)
	h.process(job.Type, h.newEval(job, structs.EvalTriggerNodeUpdate))
	if len(h.plans) != plans {
		t.Errorf("a second eval submitted a plan: %+v", h.lastPlan())
	}
}

// A removed group's allocations stop; a purged job's too.
func TestSystemStopsOrphansAndPurgedJob(t *testing.T) {
	h := newHarness(t)
	h.upsertNodes(mockNodes(2, "n", nil)...)
	job := h.run(systemJob().Group("sidecar").Build())
	if n := len(h.live(job.ID)); n != 4 {
		t.Fatalf("%d live allocations, want 4", n)
	}
	next := job.Copy()
	next.TaskGroups = next.TaskGroups[:1]
	job = h.run(next)
	for _, a := range h.live(job.ID) {
		if a.TaskGroup != "web" {
			t.Errorf("allocation %s of the removed group still live on %s", a.Name, a.NodeName)
		}
	}
	if n := len(h.live(job.ID)); n != 2 {
		t.Errorf("%d live allocations after removing a group, want 2", n)
	}

	must(t, h.store.DeleteJob(h.nextIndex(), "default", job.ID))
	h.process(structs.JobTypeSystem, h.newEval(job, structs.EvalTriggerJobDeregister))
	if n := len(h.live(job.ID)); n != 0 {
		t.Errorf("%d live allocations after the job was purged, want 0", n)
	}
	for _, allocs := range h.lastPlan().NodeUpdate {
		for _, a := range allocs {
			if a.DesiredDescription != allocJobStopped {
				t.Errorf("stop of %s: %q, want %q", a.Name, a.DesiredDescription, allocJobStopped)
			}
		}
	}
}

// Two live allocations of a group on one node (two racing evals, say): one
// is kept, the other stopped.
func TestSystemStopsDuplicatesOnANode(t *testing.T) {
	h := newHarness(t)
	h.upsertNodes(mockNode("n1").Build())
	job := h.run(systemJob().Build())
	dup := h.live(job.ID)[0].Copy()
	dup.ID = "00000000-0000-4000-8000-000000000001"
	dup.CreateIndex, dup.ModifyIndex = 0, 0
	must(t, h.store.UpsertPlanResults(h.nextIndex(), job, []*structs.Allocation{dup}))
	if n := len(h.live(job.ID)); n != 2 {
		t.Fatalf("%d live allocations, want the 2 duplicates", n)
	}
	h.process(job.Type, h.newEval(job, structs.EvalTriggerNodeUpdate))
	if n := len(h.live(job.ID)); n != 1 {
		t.Errorf("%d live allocations on n1, want 1", n)
	}
	if stops := planAllocs(h.lastPlan().NodeUpdate); len(stops) != 1 || stops[0].DesiredDescription != allocNotNeeded {
		t.Errorf("stops %+v, want one, %q", stops, allocNotNeeded)
	}
}

// A failed allocation keeps its node's place, as in the generic scheduler,
// until failed allocations are rescheduled.
func TestSystemDoesNotReplaceFailedAlloc(t *testing.T) {
	h := newHarness(t)
	h.upsertNodes(mockNodes(2, "n", nil)...)
	job := h.run(systemJob().Build())
	a := h.liveAlloc("job.web[0]@n1")
	h.setClientStatus(a.ID, structs.AllocClientStatusFailed)
	plans := len(h.plans)
	h.process(job.Type, h.newEval(job, structs.EvalTriggerNodeUpdate))
	if len(h.plans) != plans {
		t.Errorf("a failed allocation was replaced: %+v", h.lastPlan())
	}
}

// A plan the applier rejects in part is planned again from fresher state; the
// part that committed is not placed twice.
func TestSystemReplansRejectedNodes(t *testing.T) {
	h := newHarness(t)
	h.upsertNodes(mockNodes(3, "n", nil)...)
	first := true
	h.reject = func(*structs.Plan) map[string]bool {
		if first {
			first = false
			return map[string]bool{"node-n2": true}
		}
		return nil
	}
	job := h.run(systemJob().Build())
	if len(h.plans) != 2 {
		t.Fatalf("%d plans, want 2", len(h.plans))
	}
	if got := planAllocs(h.plans[1].NodeAllocation); len(got) != 1 || got[0].NodeID != "node-n2" {
		t.Errorf("second plan places %d allocations (first on %v), want only n2's", len(got), got)
	}
	if n := len(h.live(job.ID)); n != 3 {
		t.Errorf("%d live allocations, want 3", n)
	}
	if e := h.lastEval(); e.Status != structs.EvalStatusComplete {
		t.Errorf("eval %s, want complete", e.Status)
	}
}

// A plan rejected every time: the eval fails, with what was not placed queued.
func TestSystemGivesUpAfterMaxAttempts(t *testing.T) {
	h := newHarness(t)
	h.upsertNodes(mockNodes(2, "n", nil)...)
	h.reject = func(*structs.Plan) map[string]bool { return map[string]bool{"node-n1": true, "node-n2": true} }
	h.run(systemJob().Build())
	e := h.lastEval()
	if e.Status != structs.EvalStatusFailed || e.QueuedAllocations["web"] != 2 || len(h.plans) != maxPlanAttempts {
		t.Errorf("eval %s queued %v after %d plans; want failed, 2 queued, %d plans", e.Status, e.QueuedAllocations, len(h.plans), maxPlanAttempts)
	}
	if len(h.created) != 0 {
		t.Errorf("%d evals created; a system job needs no blocked eval", len(h.created))
	}
}

// A node too full for the group records the failure with the generic
// metrics; the job's own allocation being replaced may reuse its place.
func TestSystemFailureMetricsAndReplacementReusesPlace(t *testing.T) {
	h := newHarness(t)
	h.upsertNodes(mockNode("big").Mem(8192).Build(), mockNode("tight").Mem(300).Build(), mockNode("tiny").Mem(100).Build())
	job := h.run(systemJob().Mem(256).Build())
	e := h.lastEval()
	m := e.FailedTGAllocs["web"]
	if m == nil || m.NodesEvaluated != 1 || m.NodesExhausted != 1 || m.DimensionExhausted["memory"] != 1 || m.CoalescedFailures != 0 ||
		e.QueuedAllocations["web"] != 1 {
		t.Fatalf("failure metric %+v, queued %v; want tiny's memory exhausted", m, e.QueuedAllocations)
	}
	// A destructive update: tight can fit the new version only in the place
	// of the old one.
	next := job.Copy()
	next.TaskGroups[0].Tasks[0].Config["command"] = "/bin/v2"
	h.run(next)
	if a := h.liveAlloc("job.web[0]@tight"); a == nil || a.Job.TaskGroups[0].Tasks[0].Config["command"] != "/bin/v2" {
		t.Errorf("tight runs %+v, want the new version", a)
	}
}

// TestSystemPropertyRandomClusters drives random clusters and a system or
// sysbatch job through random events and checks after every evaluation that:
//
//   - the evaluation is complete; no node is over-committed (the harness);
//   - no node runs two live allocations of a group, and none runs one on a
//     node that is down, outside the job's datacenters or filtered out;
//   - every ready node that can run a group runs (or finished) one, unless a
//     failure was recorded for the group and the node really has no room
//     (checked the naive way).
func TestSystemPropertyRandomClusters(t *testing.T) {
	scenarios := 100
	if testing.Short() {
		scenarios = 20
	}
	for seed := range uint64(scenarios) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { runRandomSystemScenario(t, seed) })
	}
}

func runRandomSystemScenario(t *testing.T, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 7))
	h := newHarness(t)
	h.seed = seed
	dcs := []string{"dc1", "dc2", "eu-1"}
	randomNode := func(name string) *structs.Node {
		b := mockNode(name).CPU(500 * (1 + r.IntN(8))).Mem(256 * (1 + r.IntN(8))).DC(dcs[r.IntN(len(dcs))])
		if r.IntN(5) == 0 {
			b.Attr("kernel.name", "windows")
		}
		if r.IntN(3) == 0 {
			b.Driver("docker", r.IntN(4) != 0)
		}
		if r.IntN(8) == 0 {
			b.Ineligible()
		}
		return b.Build()
	}
	var nodes []*structs.Node
	for i := range 1 + r.IntN(12) {
		nodes = append(nodes, randomNode(fmt.Sprintf("n%d", i)))
	}
	h.upsertNodes(nodes...)

	jb := systemJob().DCs([]string{"dc*", "*", "eu-*"}[r.IntN(3)]).CPU(100 * (1 + r.IntN(10))).Mem(128 * (1 + r.IntN(6)))
	if r.IntN(2) == 0 {
		jb.j.Type = structs.JobTypeSysBatch
	}
	if r.IntN(3) == 0 {
		jb.Constraint("${attr.kernel.name}", "=", "linux")
	}
	if r.IntN(2) == 0 {
		jb.Group("api").Mem(64 * (1 + r.IntN(20)))
		if r.IntN(3) == 0 {
			jb.Driver("docker")
		}
	}
	job := h.upsertJob(jb.Build())
	check := func(event string) {
		t.Helper()
		before := len(h.plans)
		h.process(job.Type, h.newEval(job, structs.EvalTriggerNodeUpdate))
		checkSystemInvariants(t, h, h.plans[before:], event)
	}
	check("register")
	for step := range 8 {
		switch r.IntN(6) {
		case 0: // a change of count: nothing to a system job
			j := job.Copy()
			j.TaskGroups[0].Count = r.IntN(10)
			job = h.upsertJob(j)
			check(fmt.Sprintf("step %d: count change", step))
		case 1:
			j := job.Copy()
			t0 := j.TaskGroups[r.IntN(len(j.TaskGroups))].Tasks[0]
			t0.Config["command"] = fmt.Sprintf("/bin/v%d", step)
			t0.Resources.MemoryMB = 64 * (1 + r.IntN(20))
			job = h.upsertJob(j)
			check(fmt.Sprintf("step %d: destructive update", step))
		case 2:
			n := nodes[r.IntN(len(nodes))]
			status := structs.NodeStatusDown
			if h.store.NodeByID(n.ID).Status == structs.NodeStatusDown {
				status = structs.NodeStatusReady
			}
			h.setNodeStatus(n.ID, status)
			check(fmt.Sprintf("step %d: node %s %s", step, n.Name, status))
		case 3:
			for _, a := range h.live(job.ID) {
				if r.IntN(3) == 0 {
					h.setClientStatus(a.ID, []structs.AllocClientStatus{
						structs.AllocClientStatusComplete, structs.AllocClientStatusFailed, structs.AllocClientStatusRunning,
					}[r.IntN(3)])
				}
			}
			check(fmt.Sprintf("step %d: allocations finished", step))
		case 4:
			j := job.Copy()
			j.Stop = !j.Stop
			job = h.upsertJob(j)
			check(fmt.Sprintf("step %d: stop=%v", step, j.Stop))
		case 5:
			n := randomNode(fmt.Sprintf("late%d", step))
			nodes = append(nodes, n)
			h.upsertNodes(n)
			check(fmt.Sprintf("step %d: node %s joins", step, n.Name))
		}
	}
}

func checkSystemInvariants(t *testing.T, h *harness, plans []*structs.Plan, event string) {
	t.Helper()
	snap := h.store.Snapshot()
	job := snap.JobByID("default", "job")
	e := h.lastEval()
	if e.Status != structs.EvalStatusComplete {
		t.Fatalf("%s: eval %s: %s", event, e.Status, e.StatusDescription)
	}
	type key struct{ node, group string }
	live, held := map[key]int{}, map[key]bool{}
	for _, a := range snap.AllocsByJob("default", job.ID) {
		k := key{a.NodeID, a.TaskGroup}
		switch {
		case !a.TerminalStatus():
			live[k]++
			held[k] = true
		case a.DesiredStatus == structs.AllocDesiredStatusRun && !groupChangedDestructively(a.Job, job, a.TaskGroup) &&
			(a.ClientStatus == structs.AllocClientStatusFailed ||
				job.Type == structs.JobTypeSysBatch && a.ClientStatus == structs.AllocClientStatusComplete):
			held[k] = true
		}
	}
	for k, n := range live {
		node := snap.NodeByID(k.node)
		tg := job.LookupTaskGroup(k.group)
		switch {
		case job.Stop:
			t.Fatalf("%s: stopped job runs %d allocations of %s on %s", event, n, k.group, node.Name)
		case n > 1:
			t.Fatalf("%s: node %s runs %d allocations of %s\n%s", event, node.Name, n, k.group, dumpState(h))
		case node.Status == structs.NodeStatusDown:
			t.Fatalf("%s: down node %s runs an allocation of %s", event, node.Name, k.group)
		case tg == nil || !matchAnyDatacenter(job.Datacenters, node.Datacenter):
			t.Fatalf("%s: node %s runs an allocation of %s it should not", event, node.Name, k.group)
		}
		if ok, why := newConstraintFilter(job, tg, nil, nil).feasible(node); !ok {
			t.Fatalf("%s: node %s runs %s though %s", event, node.Name, k.group, why)
		}
	}
	if job.Stop {
		return
	}
	for _, p := range plans {
		if len(p.NodeUpdate) > 0 {
			return // stops free room after placements: the naive check does not apply
		}
	}
	for _, tg := range job.TaskGroups {
		for _, n := range snap.Nodes("") {
			if held[key{n.ID, tg.Name}] || !n.Ready() || !matchAnyDatacenter(job.Datacenters, n.Datacenter) {
				continue
			}
			if ok, _ := newDriverFilter(tg).feasible(n); !ok {
				continue
			}
			if ok, _ := newConstraintFilter(job, tg, nil, nil).feasible(n); !ok {
				continue
			}
			extra := &structs.Allocation{AllocatedResources: allocatedResources(tg), DesiredStatus: structs.AllocDesiredStatusRun}
			fit, _, _ := structs.AllocsFit(n, append(snap.AllocsByNode(n.ID), extra))
			if fit || e.FailedTGAllocs[tg.Name] == nil {
				t.Fatalf("%s: node %s has no allocation of %s (room: %v, failure recorded: %v)\n%s",
					event, n.Name, tg.Name, fit, e.FailedTGAllocs[tg.Name] != nil, dumpState(h))
			}
		}
	}
}

// Stops are decided before placements: a group that no longer fits a node
// leaves room to a group placed there in the same plan, whatever the order of
// the groups in the job.
func TestSystemStopsFreeRoomForPlacements(t *testing.T) {
	h := newHarness(t)
	h.upsertNodes(mockNode("n1").Mem(700).Build())
	job := h.run(systemJob().Mem(400).Build())
	next := job.Copy()
	web := next.TaskGroups[0]
	web.Constraints = []*structs.Constraint{{LTarget: "${attr.kernel.name}", Operand: "=", RTarget: "windows"}}
	api := web.Copy()
	api.Name, api.Constraints = "api", nil
	next.TaskGroups = []*structs.TaskGroup{api, web}
	job = h.run(next)
	e := h.lastEval()
	live := h.live(job.ID)
	if e.FailedTGAllocs != nil || len(live) != 1 || live[0].TaskGroup != "api" {
		t.Fatalf("failures %v, live %d (first %+v); want api alone on n1", e.FailedTGAllocs, len(live), live)
	}
	if stops := planAllocs(h.lastPlan().NodeUpdate); len(stops) != 1 || stops[0].DesiredDescription != allocNodeInfeasible {
		t.Errorf("stops %+v, want web's, as infeasible", stops)
	}
}
