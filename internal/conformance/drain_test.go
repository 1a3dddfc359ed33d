package conformance

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	napi "github.com/hashicorp/nomad/api"
)

// movingJob is a service job with reschedule and migrate blocks (the job's
// and its group's), as a Nomad user writes them: the drain and alloc stop
// cases move its allocations.
func movingJob() *napi.Job {
	job := webJob("moving")
	job.Reschedule = &napi.ReschedulePolicy{MaxDelay: ptr(2 * time.Hour)}
	tg := job.TaskGroups[0]
	tg.Count = ptr(2)
	tg.ReschedulePolicy = &napi.ReschedulePolicy{Attempts: ptr(3), Interval: ptr(time.Hour), Delay: ptr(5 * time.Second),
		DelayFunction: ptr("constant")}
	tg.Migrate = &napi.MigrateStrategy{MaxParallel: ptr(2), HealthCheck: ptr("task_states"),
		MinHealthyTime: ptr(time.Second), HealthyDeadline: ptr(time.Minute)}
	return job
}

// waitFor polls cond every 100 ms until it holds, failing after a minute.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within a minute", what)
		}
		time.Sleep(100 * time.Millisecond) // polling a condition, with a deadline
	}
}

// The job's and the group's reschedule and migrate blocks round-trip through
// Nomad's types (the group's merged over the job's, as Nomad does); a stopped
// allocation is replaced, the two linked both ways.
func testRescheduleMigrateAndStop(t *testing.T, e *env) {
	if _, _, err := e.nomad.Jobs().Register(movingJob(), nil); err != nil {
		t.Fatalf("register a job with reschedule and migrate blocks: %v", err)
	}
	job, _, err := e.nomad.Jobs().Info("moving", nil)
	if err != nil {
		t.Fatal(err)
	}
	rp, mg := job.TaskGroups[0].ReschedulePolicy, job.TaskGroups[0].Migrate
	if rp == nil || *rp.Attempts != 3 || *rp.Interval != time.Hour || *rp.Delay != 5*time.Second || *rp.DelayFunction != "constant" ||
		*rp.MaxDelay != 2*time.Hour || *rp.Unlimited || job.Reschedule != nil {
		t.Errorf("reschedule policy read back: group %+v, job %+v", rp, job.Reschedule)
	}
	if mg == nil || *mg.MaxParallel != 2 || *mg.HealthCheck != "task_states" || *mg.MinHealthyTime != time.Second || *mg.HealthyDeadline != time.Minute {
		t.Errorf("migrate read back: %+v", mg)
	}
	strictGet[napi.Job](t, e.agent.URL, "/v1/job/moving")
	// The web job got the service defaults.
	web, _, err := e.nomad.Jobs().Info("web", nil)
	if err != nil || web.TaskGroups[0].ReschedulePolicy == nil || !*web.TaskGroups[0].ReschedulePolicy.Unlimited ||
		*web.TaskGroups[0].ReschedulePolicy.DelayFunction != "exponential" || *web.TaskGroups[0].Migrate.MaxParallel != 1 {
		t.Errorf("web's default reschedule and migrate: %+v %v", web.TaskGroups[0], err)
	}
	// A system job does not reschedule: the block is refused, by name.
	sys := webJob("sys")
	sys.Type = ptr("system")
	sys.TaskGroups[0].ReschedulePolicy = &napi.ReschedulePolicy{Attempts: ptr(1)}
	if _, _, err := e.nomad.Jobs().Register(sys, nil); err == nil || !strings.Contains(err.Error(), "reschedule") {
		t.Errorf("a system job with a reschedule block: %v, want a refusal naming it", err)
	}

	var first, second string
	waitFor(t, "both allocations of moving running", func() bool {
		allocs, _, err := e.nomad.Jobs().Allocations("moving", false, nil)
		var running []string
		for _, a := range allocs {
			if a.ClientStatus == "running" {
				running = append(running, a.ID)
			}
		}
		if err != nil || len(running) != 2 {
			return false
		}
		first, second = running[0], running[1]
		return true
	})
	stop, err := e.nomad.Allocations().Stop(&napi.Allocation{ID: first}, nil)
	if err != nil || stop.EvalID == "" || stop.LastIndex == 0 {
		t.Fatalf("stop: %+v %v", stop, err)
	}
	if ev, _, err := e.nomad.Evaluations().Info(stop.EvalID, nil); err != nil || ev.TriggeredBy != "alloc-stop" || ev.JobID != "moving" {
		t.Errorf("the stop's evaluation: %+v %v", ev, err)
	}
	waitFor(t, "the stopped allocation replaced and stopped", func() bool {
		old, _, err := e.nomad.Allocations().Info(first, nil)
		if err != nil || old.NextAllocation == "" || old.ClientStatus != "complete" {
			return false
		}
		repl, _, err := e.nomad.Allocations().Info(old.NextAllocation, nil)
		return err == nil && repl.PreviousAllocation == first && old.DesiredTransition.Migrate != nil && *old.DesiredTransition.Migrate
	})
	strictGet[napi.Allocation](t, e.agent.URL, "/v1/allocation/"+first)
	strictGet[[]*napi.AllocationListStub](t, e.agent.URL, "/v1/job/moving/allocations")

	// By POST, the route Nomad's client does not use.
	raw := rawDo(t, e, "POST", "/v1/allocation/"+second+"/stop", nil)
	if r := strictDecode[napi.AllocStopResponse](t, "POST /v1/allocation/:id/stop", raw); r.EvalID == "" {
		t.Errorf("POST stop: %s", raw)
	}
	if code, body := rawStatus(t, e, "PUT", "/v1/allocation/no-such-alloc/stop", ""); code != http.StatusNotFound || !strings.Contains(body, "no-such-alloc") {
		t.Errorf("stopping an allocation that does not exist: %d %s", code, body)
	}
	waitFor(t, "moving back at two running allocations", func() bool {
		allocs, _, _ := e.nomad.Jobs().Allocations("moving", false, nil)
		running := 0
		for _, a := range allocs {
			if a.ClientStatus == "running" && a.ID != first && a.ID != second {
				running++
			}
		}
		return running == 2
	})
}

func testEligibility(t *testing.T, e *env) {
	nodeID := e.agent.NodeID
	resp, err := e.nomad.Nodes().ToggleEligibility(nodeID, false, nil)
	if err != nil || resp.NodeModifyIndex == 0 || resp.LastIndex != resp.NodeModifyIndex {
		t.Fatalf("disable eligibility: %+v %v", resp, err)
	}
	node, _, err := e.nomad.Nodes().Info(nodeID, nil)
	if err != nil || node.SchedulingEligibility != "ineligible" || len(node.Events) == 0 ||
		node.Events[len(node.Events)-1].Message != "Node marked as ineligible for scheduling" ||
		node.Events[len(node.Events)-1].Timestamp.IsZero() || node.Events[len(node.Events)-1].CreateIndex != resp.NodeModifyIndex {
		t.Errorf("node after disabling eligibility: %+v %v", node, err)
	}
	strictGet[napi.Node](t, e.agent.URL, "/v1/node/"+nodeID)

	raw := rawDo(t, e, "POST", "/v1/node/"+nodeID+"/eligibility", &napi.NodeUpdateEligibilityRequest{NodeID: nodeID, Eligibility: "eligible"})
	if r := strictDecode[napi.NodeEligibilityUpdateResponse](t, "POST /v1/node/:id/eligibility", raw); r.NodeModifyIndex == 0 {
		t.Errorf("POST eligibility: %s", raw)
	}
	if node, _, err := e.nomad.Nodes().Info(nodeID, nil); err != nil || node.SchedulingEligibility != "eligible" {
		t.Errorf("node after enabling eligibility: %+v %v", node, err)
	}
	// A value that is neither, an unknown field, another node in the body.
	for _, bad := range []struct{ body, want string }{
		{`{"Eligibility": "maybe"}`, `Eligibility = "maybe"`},
		{`{"Eligibility": "eligible", "Eligible": true}`, "Eligible"},
		{`{"NodeID": "other", "Eligibility": "eligible"}`, `NodeID "other"`},
		{``, "empty request body"},
	} {
		if code, out := rawStatus(t, e, "PUT", "/v1/node/"+nodeID+"/eligibility", bad.body); code != http.StatusBadRequest || !strings.Contains(out, bad.want) {
			t.Errorf("eligibility body %s: %d %s, want 400 naming %s", bad.body, code, out, bad.want)
		}
	}
}

// A drain set and cancelled through Nomad's client: the node shows the
// strategy, LastDrain (with the request's Meta) and events; the drainer
// marks the moving job's allocations for migration (nowhere to go: the
// agent's node is the only one, so the drain waits until cancelled).
func testDrain(t *testing.T, e *env) {
	nodeID := e.agent.NodeID
	before := time.Now()
	resp, err := e.nomad.Nodes().UpdateDrainOpts(nodeID, &napi.DrainOptions{
		DrainSpec: &napi.DrainSpec{Deadline: time.Hour, IgnoreSystemJobs: true}, Meta: map[string]string{"message": "maintenance"}}, nil)
	if err != nil || resp.NodeModifyIndex == 0 {
		t.Fatalf("drain: %+v %v", resp, err)
	}
	node, _, err := e.nomad.Nodes().Info(nodeID, nil)
	if err != nil {
		t.Fatal(err)
	}
	ds, ld := node.DrainStrategy, node.LastDrain
	if ds == nil || ds.Deadline != time.Hour || !ds.IgnoreSystemJobs || ds.StartedAt.Before(before.Add(-time.Second)) ||
		ds.ForceDeadline.Sub(ds.StartedAt) != time.Hour || !node.Drain || node.SchedulingEligibility != "ineligible" {
		t.Errorf("drain strategy: %+v (node drain %v, %s)", ds, node.Drain, node.SchedulingEligibility)
	}
	if ld == nil || ld.Status != napi.DrainStatusDraining || ld.Meta["message"] != "maintenance" || ld.StartedAt.IsZero() {
		t.Errorf("last drain: %+v", ld)
	}
	if i := slices.IndexFunc(node.Events, func(ev *napi.NodeEvent) bool { return ev.Message == "Node drain strategy set" }); i < 0 ||
		node.Events[i].Subsystem != "Drain" || node.Events[i].Details["deadline"] != "1h0m0s" {
		t.Errorf("node events: %+v", node.Events)
	}
	strictGet[napi.Node](t, e.agent.URL, "/v1/node/"+nodeID)
	nodes, _, err := e.nomad.Nodes().List(nil)
	if err != nil || len(nodes) != 1 || !nodes[0].Drain || nodes[0].LastDrain == nil || nodes[0].LastDrain.Status != napi.DrainStatusDraining {
		t.Errorf("node list while draining: %+v %v", nodes, err)
	}
	strictGet[[]*napi.NodeListStub](t, e.agent.URL, "/v1/nodes")
	// A draining node cannot be made eligible: cancelling the drain does it.
	if _, err := e.nomad.Nodes().ToggleEligibility(nodeID, true, nil); err == nil || !strings.Contains(err.Error(), "draining") {
		t.Errorf("eligible while draining: %v", err)
	}

	waitFor(t, "the drainer marking moving's allocations for migration", func() bool {
		allocs, _, err := e.nomad.Jobs().Allocations("moving", false, nil)
		marked := 0
		for _, a := range allocs {
			if a.ClientStatus == "running" {
				full, _, err := e.nomad.Allocations().Info(a.ID, nil)
				if err == nil && full.DesiredTransition.Migrate != nil && *full.DesiredTransition.Migrate {
					marked++
				}
			}
		}
		return err == nil && marked == 2
	})
	// Nomad's servers send DesiredTransition in list entries too.
	code, list := rawStatus(t, e, "GET", "/v1/job/moving/allocations", "")
	strictDecode[[]*napi.AllocationListStub](t, "GET /v1/job/moving/allocations", []byte(list))
	if code != http.StatusOK || !strings.Contains(list, `"DesiredTransition":{"Migrate":true}`) {
		t.Errorf("allocation list entries while draining: %d %s", code, list)
	}

	// Cancelled by POST, with MarkEligible.
	raw := rawDo(t, e, "POST", "/v1/node/"+nodeID+"/drain", &napi.NodeUpdateDrainRequest{NodeID: nodeID, MarkEligible: true})
	if r := strictDecode[napi.NodeDrainUpdateResponse](t, "POST /v1/node/:id/drain", raw); r.NodeModifyIndex == 0 {
		t.Errorf("POST drain: %s", raw)
	}
	node, _, err = e.nomad.Nodes().Info(nodeID, nil)
	if err != nil || node.DrainStrategy != nil || node.Drain || node.SchedulingEligibility != "eligible" ||
		node.LastDrain == nil || node.LastDrain.Status != napi.DrainStatusCanceled || node.LastDrain.Meta["message"] != "maintenance" {
		t.Errorf("node after cancelling the drain: %+v last drain %+v %v", node, node.LastDrain, err)
	}
	for _, bad := range []struct{ body, want string }{
		{`{"DrainSpec": {"Deadline": "1h"}}`, "Deadline"},
		{`{"DrainSpec": {"Deadline": 1}, "Meta": {"": "x"}}`, `Meta[""]: the key must not be empty`},
	} {
		if code, out := rawStatus(t, e, "PUT", "/v1/node/"+nodeID+"/drain", bad.body); code != http.StatusBadRequest || !strings.Contains(out, bad.want) {
			t.Errorf("drain body %s: %d %s, want 400 naming %s", bad.body, code, out, bad.want)
		}
	}
	if node, _, err := e.nomad.Nodes().Info(nodeID, nil); err != nil || node.DrainStrategy != nil {
		t.Errorf("a refused drain changed the node: %+v %v", node, err)
	}
}
