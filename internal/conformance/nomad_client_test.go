package conformance

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	napi "github.com/hashicorp/nomad/api"
	"github.com/orch-io/orch/command/agent"
	"github.com/orch-io/orch/internal/agenttest"
)

// env is what every case sees: the agent, Nomad's client of it, and what the
// setup registered (job "web", one allocation running on the agent's node).
type env struct {
	agent   *agenttest.Agent
	nomad   *napi.Client
	job     *napi.Job
	reg     *napi.JobRegisterResponse
	allocID string
	// token, when set, goes with every request of rawDo and strictGet.
	token string
}

// conformanceCase exercises the routes it names through Nomad's client.
type conformanceCase struct {
	routes []string
	run    func(t *testing.T, e *env)
}

// cases cover every route of the router, in an order that keeps the state
// the later ones expect (the snapshot restore is last).
var cases = []conformanceCase{
	{[]string{"PUT /v1/jobs"}, testJobRegister},
	{[]string{"POST /v1/jobs", "PUT /v1/job/{id}", "POST /v1/job/{id}", "DELETE /v1/job/{id}"}, testJobWrites},
	{[]string{"GET /v1/jobs"}, testJobList},
	{[]string{"GET /v1/job/{id}"}, testJobInfo},
	{[]string{"GET /v1/job/{id}/summary"}, testJobSummary},
	{[]string{"GET /v1/job/{id}/scale", "PUT /v1/job/{id}/scale", "POST /v1/job/{id}/scale"}, testJobScale},
	{[]string{"PUT /v1/validate/job", "POST /v1/validate/job"}, testJobValidate},
	{[]string{"PUT /v1/jobs/parse", "POST /v1/jobs/parse"}, testJobsParse},
	{[]string{"GET /v1/job/{id}/allocations", "GET /v1/allocations", "GET /v1/allocation/{id}"}, testAllocs},
	{[]string{"GET /v1/job/{id}/evaluations", "GET /v1/evaluations", "GET /v1/evaluation/{id}", "GET /v1/evaluation/{id}/allocations"}, testEvals},
	{[]string{"PUT /v1/job/{id}/plan", "POST /v1/job/{id}/plan"}, testJobPlan},
	{[]string{"GET /v1/nodes", "GET /v1/node/{id}", "GET /v1/node/{id}/allocations", "GET /v1/node/pools"}, testNodes},
	{[]string{"GET /v1/status/leader", "GET /v1/agent/members", "GET /v1/agent/health"}, testStatusAndAgent},
	{[]string{"GET /v1/status/peers", "GET /v1/regions", "GET /v1/agent/servers"}, testPeersRegionsServers},
	{[]string{"GET /v1/client/fs/ls/{id}", "GET /v1/client/fs/stat/{id}", "GET /v1/client/fs/cat/{id}", "GET /v1/client/fs/logs/{id}"}, testClientFS},
	{[]string{"GET /v1/client/allocation/{id}/exec"}, testClientAllocExec},
	{nil, testLifecycleWire}, // routes covered above: the job's wire shape
	{[]string{"PUT /v1/client/allocation/{id}/signal", "POST /v1/client/allocation/{id}/signal",
		"PUT /v1/client/allocation/{id}/restart", "POST /v1/client/allocation/{id}/restart"}, testClientAllocLifecycle},
	{[]string{"GET /v1/client/allocation/{id}/stats"}, testClientAllocStats},
	{[]string{"GET /v1/services", "GET /v1/service/{id}", "DELETE /v1/service/{id}/{regid}",
		"GET /v1/client/allocation/{id}/checks"}, testServices},
	{[]string{"GET /v1/operator/scheduler/configuration", "PUT /v1/operator/scheduler/configuration", "POST /v1/operator/scheduler/configuration"}, testSchedulerConfig},
	{[]string{"GET /v1/operator/autopilot/configuration", "PUT /v1/operator/autopilot/configuration", "POST /v1/operator/autopilot/configuration",
		"GET /v1/operator/autopilot/health"}, testAutopilot},
	{[]string{"GET /v1/operator/raft/configuration", "DELETE /v1/operator/raft/peer", "PUT /v1/operator/raft/transfer-leadership", "POST /v1/operator/raft/transfer-leadership"}, testRaft},
	{[]string{"PUT /v1/allocation/{id}/stop", "POST /v1/allocation/{id}/stop"}, testRescheduleMigrateAndStop},
	{[]string{"PUT /v1/node/{id}/eligibility", "POST /v1/node/{id}/eligibility"}, testEligibility},
	{[]string{"PUT /v1/node/{id}/drain", "POST /v1/node/{id}/drain"}, testDrain},
	{[]string{"GET /v1/deployments", "GET /v1/deployment/{id}", "GET /v1/deployment/allocations/{id}",
		"PUT /v1/deployment/promote/{id}", "POST /v1/deployment/promote/{id}", "PUT /v1/deployment/fail/{id}", "POST /v1/deployment/fail/{id}",
		"PUT /v1/deployment/pause/{id}", "POST /v1/deployment/pause/{id}",
		"PUT /v1/deployment/allocation-health/{id}", "POST /v1/deployment/allocation-health/{id}",
		"GET /v1/job/{id}/deployments", "GET /v1/job/{id}/deployment", "GET /v1/job/{id}/versions",
		"PUT /v1/job/{id}/revert", "POST /v1/job/{id}/revert", "PUT /v1/job/{id}/stable", "POST /v1/job/{id}/stable"}, testDeployments},
	{namespaceRoutes, testNamespaces},
	{[]string{"PUT /v1/job/{id}/periodic/force", "POST /v1/job/{id}/periodic/force",
		"PUT /v1/job/{id}/dispatch", "POST /v1/job/{id}/dispatch"}, testPeriodicAndDispatch},
	{[]string{"PUT /v1/system/gc", "PUT /v1/system/reconcile/summaries"}, testSystem},
	{[]string{"GET /v1/client/gc", "PUT /v1/client/gc", "GET /v1/client/allocation/{id}/gc", "PUT /v1/client/allocation/{id}/gc"}, testClientGC},
	{[]string{"GET /v1/client/metadata", "POST /v1/client/metadata"}, testNodeMeta},
	{[]string{"GET /v1/operator/snapshot", "PUT /v1/operator/snapshot", "POST /v1/operator/snapshot"}, testSnapshot},
	{[]string{"GET /v1/metrics"}, testMetrics},
	{agentDebugRoutes, testAgentDebug},
}

// TestNomadClient drives a real dev agent through Nomad's Go client, one
// case per group of routes, and checks that every route has a case.
func TestNomadClient(t *testing.T) {
	a := agenttest.Start(t, agenttest.Options{Client: true, Configure: func(c *agent.Config) { c.EnableDebug = true }})
	nomad, err := napi.NewClient(&napi.Config{Address: a.URL})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{agent: a, nomad: nomad, job: webJob("web")}
	e.job.UI = &napi.JobUIConfig{Description: "serves the **web**", Links: []*napi.JobUILink{{Label: "runbook", URL: "https://wiki.example.com/web"}}}
	e.reg, _, err = nomad.Jobs().Register(e.job, nil)
	if err != nil {
		t.Fatalf("Nomad's client cannot register a job: %v", err)
	}
	e.allocID = waitRunning(t, nomad, "web")

	for _, c := range slices.Concat(cases, wireCases) {
		t.Run(strings.Join(c.routes, ","), func(t *testing.T) { c.run(t, e) })
	}

	t.Run("every route has a case", func(t *testing.T) {
		var covered []string
		for _, c := range slices.Concat(cases, aclCases, wireCases) {
			covered = append(covered, c.routes...)
		}
		covered = append(covered, keyringRoutes...)
		var missing []string
		for _, r := range a.Agent.HTTPRoutes() {
			if !slices.Contains(covered, r) {
				missing = append(missing, r)
			}
		}
		if len(missing) > 0 {
			t.Errorf("routes without a conformance case (add them to cases in internal/conformance, "+
				"with wire types in api/wire_*.go if they answer structs): \n  %s", strings.Join(missing, "\n  "))
		}
	})
}

func ptr[T any](v T) *T { return &v }

// webJob is structstest.Job's job built as a Nomad user builds one.
func webJob(id string) *napi.Job {
	job := napi.NewServiceJob(id, id, "global", 50)
	job.Datacenters = []string{"dc1"}
	task := napi.NewTask("server", "raw_exec").
		SetConfig("command", "/bin/sleep").SetConfig("args", []string{"3600"}).
		Require(&napi.Resources{CPU: ptr(100), MemoryMB: ptr(128)})
	job.AddTaskGroup(napi.NewTaskGroup("web", 1).AddTask(task))
	return job
}

// waitRunning follows the job's allocations with blocking queries until one
// runs, and returns its ID.
func waitRunning(t *testing.T, nomad *napi.Client, jobID string) string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var index uint64
	for time.Now().Before(deadline) {
		allocs, meta, err := nomad.Jobs().Allocations(jobID, false, &napi.QueryOptions{WaitIndex: index, WaitTime: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range allocs {
			if a.ClientStatus == "running" {
				return a.ID
			}
		}
		index = meta.LastIndex
	}
	t.Fatalf("no allocation of %s running within 60s", jobID)
	return ""
}

// rawDo sends a request with a JSON body and returns the answer's body,
// failing on a status other than 200.
func rawDo(t *testing.T, e *env, method, path string, in any) []byte {
	t.Helper()
	body, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	code, out := rawStatus(t, e, method, path, string(body))
	if code != http.StatusOK {
		t.Fatalf("%s %s: %d %s", method, path, code, out)
	}
	return []byte(out)
}

// rawStatus sends a request with a body and returns the status and body.
func rawStatus(t *testing.T, e *env, method, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, e.agent.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if e.token != "" {
		req.Header.Set("X-Nomad-Token", e.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

func testJobRegister(t *testing.T, e *env) {
	if e.reg.EvalID == "" || e.reg.JobModifyIndex == 0 || e.reg.EvalCreateIndex == 0 {
		t.Errorf("register response: %+v", e.reg)
	}
	// A field orch does not act on is refused by name, never dropped.
	job := webJob("vaulted")
	job.TaskGroups[0].Tasks[0].Vault = &napi.Vault{Policies: []string{"p"}}
	_, _, err := e.nomad.Jobs().Register(job, nil)
	if err == nil || !strings.Contains(err.Error(), "Job.TaskGroups[0].Tasks[0].Vault") {
		t.Errorf("a job with a vault block: %v, want a refusal naming the field", err)
	}
	// An update block is taken, job-level and group-level merged field by
	// field, and read back in Nomad's shape.
	job = webJob("updated")
	job.Update = &napi.UpdateStrategy{MaxParallel: ptr(2), MinHealthyTime: ptr(3 * time.Second)}
	job.TaskGroups[0].Update = &napi.UpdateStrategy{Canary: ptr(1)}
	if _, _, err := e.nomad.Jobs().Register(job, nil); err != nil {
		t.Fatalf("a job with an update block: %v", err)
	}
	got, _, err := e.nomad.Jobs().Info("updated", nil)
	if err != nil {
		t.Fatal(err)
	}
	if u := got.TaskGroups[0].Update; u == nil || *u.MaxParallel != 2 || *u.Canary != 1 || *u.MinHealthyTime != 3*time.Second ||
		*u.HealthyDeadline != 5*time.Minute {
		t.Errorf("the group's update block read back: %+v, want max_parallel 2, canary 1, min_healthy_time 3s, healthy_deadline 5m", u)
	}
}

func testJobWrites(t *testing.T, e *env) {
	for _, w := range []struct{ method, path, id string }{
		{"POST", "/v1/jobs", "post-jobs"}, {"PUT", "/v1/job/put-job", "put-job"}, {"POST", "/v1/job/post-job", "post-job"},
	} {
		job := webJob(w.id)
		job.TaskGroups[0].Count = ptr(0) // nothing to place
		raw := rawDo(t, e, w.method, w.path, &napi.JobRegisterRequest{Job: job})
		resp := strictDecode[napi.JobRegisterResponse](t, w.method+" "+w.path, raw)
		if resp.EvalID == "" || resp.JobModifyIndex == 0 {
			t.Errorf("%s %s: %+v", w.method, w.path, resp)
		}
		got, _, err := e.nomad.Jobs().Info(w.id, nil)
		if err != nil || *got.TaskGroups[0].Count != 0 {
			t.Errorf("job %s after %s %s: %+v %v", w.id, w.method, w.path, got, err)
		}
	}
	dereg, _, err := e.nomad.Jobs().Deregister("put-job", true, nil)
	if err != nil || dereg == "" {
		t.Errorf("deregister: %q %v", dereg, err)
	}
	if _, _, err := e.nomad.Jobs().Info("put-job", nil); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("purged job still readable: %v", err)
	}
}

func testJobList(t *testing.T, e *env) {
	jobs, meta, err := e.nomad.Jobs().List(nil)
	if err != nil || meta.LastIndex == 0 {
		t.Fatalf("list: %v %+v", err, meta)
	}
	i := slices.IndexFunc(jobs, func(j *napi.JobListStub) bool { return j.ID == "web" })
	if i < 0 {
		t.Fatalf("web not listed: %+v", jobs)
	}
	web := jobs[i]
	if web.Type != "service" || web.Priority != 50 || web.Status != "running" || web.JobSummary == nil ||
		web.JobSummary.Summary["web"].Running != 1 || web.SubmitTime == 0 {
		t.Errorf("list entry: %+v summary %+v", web, web.JobSummary)
	}
	strictGet[[]*napi.JobListStub](t, e.agent.URL, "/v1/jobs")
}

func testJobInfo(t *testing.T, e *env) {
	job, _, err := e.nomad.Jobs().Info("web", nil)
	if err != nil {
		t.Fatal(err)
	}
	tg := job.TaskGroups[0]
	task := tg.Tasks[0]
	if *job.ID != "web" || *job.Namespace != "default" || *job.NodePool != "default" || *tg.Count != 1 ||
		*tg.RestartPolicy.Attempts != 2 || *tg.RestartPolicy.Interval != 30*time.Minute || *tg.EphemeralDisk.SizeMB != 300 ||
		*task.KillTimeout != 5*time.Second || *task.Resources.CPU != 100 || *task.Resources.MemoryMB != 128 ||
		task.Config["command"] != "/bin/sleep" || *job.Version != 0 || *job.JobModifyIndex != e.reg.JobModifyIndex {
		t.Errorf("job as Nomad's client reads it: %+v", job)
	}
	if ui := job.UI; ui == nil || ui.Description != "serves the **web**" || len(ui.Links) != 1 ||
		ui.Links[0].Label != "runbook" || ui.Links[0].URL != "https://wiki.example.com/web" {
		t.Errorf("the job's ui block as Nomad's client reads it: %+v", ui)
	}
	strictGet[napi.Job](t, e.agent.URL, "/v1/job/web")
}

func testJobSummary(t *testing.T, e *env) {
	s, _, err := e.nomad.Jobs().Summary("web", nil)
	if err != nil || s.JobID != "web" || s.Namespace != "default" || s.Summary["web"].Running != 1 || s.Summary["web"].Queued != 0 {
		t.Errorf("summary: %+v %v", s, err)
	}
	strictGet[napi.JobSummary](t, e.agent.URL, "/v1/job/web/summary")
	if _, _, err := e.nomad.Jobs().Summary("nosuch", nil); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("summary of a job that does not exist: %v", err)
	}
}

func testAllocs(t *testing.T, e *env) {
	stubs, _, err := e.nomad.Jobs().Allocations("web", false, nil)
	if err != nil || len(stubs) != 1 || stubs[0].ID != e.allocID || stubs[0].TaskStates["server"].State != "running" ||
		stubs[0].TaskStates["server"].StartedAt.IsZero() {
		t.Errorf("job allocations: %+v %v", stubs, err)
	}
	strictGet[[]*napi.AllocationListStub](t, e.agent.URL, "/v1/job/web/allocations")

	all, _, err := e.nomad.Allocations().List(nil)
	if err != nil || !slices.ContainsFunc(all, func(a *napi.AllocationListStub) bool { return a.ID == e.allocID && a.JobID == "web" }) {
		t.Errorf("allocation list: %+v %v", all, err)
	}
	strictGet[[]*napi.AllocationListStub](t, e.agent.URL, "/v1/allocations")

	alloc, _, err := e.nomad.Allocations().Info(e.allocID, nil)
	if err != nil {
		t.Fatal(err)
	}
	res := alloc.AllocatedResources
	st := alloc.TaskStates["server"]
	if alloc.NodeID != e.agent.NodeID || alloc.ClientStatus != "running" || *alloc.Job.ID != "web" ||
		res.Tasks["server"].Cpu.CpuShares != 100 || res.Tasks["server"].Memory.MemoryMB != 128 || res.Shared.DiskMB != 300 ||
		st.StartedAt.IsZero() || time.Since(st.StartedAt) > time.Hour || alloc.CreateTime == 0 || alloc.Metrics == nil {
		t.Errorf("allocation as Nomad's client reads it: %+v resources %+v state %+v", alloc, res, st)
	}
	strictGet[napi.Allocation](t, e.agent.URL, "/v1/allocation/"+e.allocID)
}

func testEvals(t *testing.T, e *env) {
	evals, _, err := e.nomad.Jobs().Evaluations("web", nil)
	if err != nil || len(evals) != 1 || evals[0].ID != e.reg.EvalID || evals[0].Status != "complete" || evals[0].TriggeredBy != "job-register" {
		t.Fatalf("job evaluations: %+v %v", evals, err)
	}
	strictGet[[]*napi.Evaluation](t, e.agent.URL, "/v1/job/web/evaluations")
	all, _, err := e.nomad.Evaluations().List(nil)
	if err != nil || !slices.ContainsFunc(all, func(ev *napi.Evaluation) bool { return ev.ID == e.reg.EvalID }) {
		t.Errorf("evaluation list: %v", err)
	}
	strictGet[[]*napi.Evaluation](t, e.agent.URL, "/v1/evaluations")
	ev, _, err := e.nomad.Evaluations().Info(e.reg.EvalID, nil)
	if err != nil || ev.JobID != "web" || ev.Type != "service" || ev.CreateTime == 0 || !ev.WaitUntil.IsZero() {
		t.Errorf("evaluation: %+v %v", ev, err)
	}
	strictGet[napi.Evaluation](t, e.agent.URL, "/v1/evaluation/"+e.reg.EvalID)
	allocs, _, err := e.nomad.Evaluations().Allocations(e.reg.EvalID, nil)
	if err != nil || len(allocs) != 1 || allocs[0].ID != e.allocID {
		t.Errorf("evaluation allocations: %+v %v", allocs, err)
	}
	strictGet[[]*napi.AllocationListStub](t, e.agent.URL, "/v1/evaluation/"+e.reg.EvalID+"/allocations")
}

func testJobPlan(t *testing.T, e *env) {
	changed := webJob("web")
	changed.TaskGroups[0].Count = ptr(2)
	plan, _, err := e.nomad.Jobs().Plan(changed, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	if plan.Diff == nil || plan.Diff.Type != "Edited" || plan.Annotations == nil ||
		plan.Annotations.DesiredTGUpdates["web"].Place != 1 || plan.JobModifyIndex != e.reg.JobModifyIndex {
		t.Errorf("plan: %+v diff %+v annotations %+v", plan, plan.Diff, plan.Annotations)
	}
	raw := rawDo(t, e, "POST", "/v1/job/web/plan", &napi.JobPlanRequest{Job: changed, Diff: true})
	if p := strictDecode[napi.JobPlanResponse](t, "POST /v1/job/web/plan", raw); p.Diff == nil || p.Annotations.DesiredTGUpdates["web"].Place != 1 {
		t.Errorf("plan by POST: %+v", p)
	}
}

func testNodes(t *testing.T, e *env) {
	nodes, _, err := e.nomad.Nodes().List(nil)
	if err != nil || len(nodes) != 1 || nodes[0].ID != e.agent.NodeID || nodes[0].Status != "ready" ||
		nodes[0].SchedulingEligibility != "eligible" || !nodes[0].Drivers["raw_exec"].Healthy {
		t.Errorf("node list: %+v %v", nodes, err)
	}
	strictGet[[]*napi.NodeListStub](t, e.agent.URL, "/v1/nodes")

	node, _, err := e.nomad.Nodes().Info(e.agent.NodeID, nil)
	if err != nil {
		t.Fatal(err)
	}
	raw := node.Drivers["raw_exec"]
	if node.NodeResources == nil || node.NodeResources.Cpu.CpuShares <= 0 || node.NodeResources.Memory.MemoryMB <= 0 ||
		node.ReservedResources == nil || node.Datacenter != "dc1" || node.NodePool != "default" || node.StatusUpdatedAt == 0 ||
		raw == nil || raw.UpdateTime.IsZero() || time.Since(raw.UpdateTime) > 24*time.Hour {
		t.Errorf("node as Nomad's client reads it: %+v resources %+v driver %+v", node, node.NodeResources, raw)
	}
	strictGet[napi.Node](t, e.agent.URL, "/v1/node/"+e.agent.NodeID)

	allocs, _, err := e.nomad.Nodes().Allocations(e.agent.NodeID, nil)
	if err != nil || !slices.ContainsFunc(allocs, func(a *napi.Allocation) bool { return a.ID == e.allocID && a.Job != nil }) {
		t.Errorf("node allocations: %+v %v", allocs, err)
	}
	strictGet[[]*napi.Allocation](t, e.agent.URL, "/v1/node/"+e.agent.NodeID+"/allocations")

	pools, _, err := e.nomad.NodePools().List(nil)
	if err != nil || !slices.ContainsFunc(pools, func(p *napi.NodePool) bool { return p.Name == "default" }) {
		t.Errorf("node pools: %+v %v", pools, err)
	}
	strictGet[[]*napi.NodePool](t, e.agent.URL, "/v1/node/pools")
}

func testStatusAndAgent(t *testing.T, e *env) {
	leader, err := e.nomad.Status().Leader()
	if err != nil || !strings.Contains(leader, ":") {
		t.Errorf("leader: %q %v", leader, err)
	}
	members, err := e.nomad.Agent().Members()
	if err != nil || len(members.Members) == 0 || members.ServerRegion != "global" || members.Members[0].Status != "alive" {
		t.Errorf("members: %+v %v", members, err)
	}
	strictGet[napi.ServerMembers](t, e.agent.URL, "/v1/agent/members")
	health, err := e.nomad.Agent().Health()
	if err != nil || health.Server == nil || !health.Server.Ok || health.Client == nil || !health.Client.Ok {
		t.Errorf("health: %+v %v", health, err)
	}
	strictGet[napi.AgentHealthResponse](t, e.agent.URL, "/v1/agent/health")
}

func testMetrics(t *testing.T, e *env) {
	sum, _, err := e.nomad.Operator().MetricsSummary(nil)
	if err != nil || len(sum.Gauges) == 0 || len(sum.Counters) == 0 || len(sum.Samples) == 0 {
		t.Fatalf("metrics summary: %+v %v", sum, err)
	}
	strictGet[napi.MetricsSummary](t, e.agent.URL, "/v1/metrics")
	text, err := e.nomad.Operator().Metrics(&napi.QueryOptions{Params: map[string]string{"format": "prometheus"}})
	if err != nil || !strings.Contains(string(text), "# TYPE orch_http_requests_total counter") {
		t.Errorf("prometheus metrics: %.300q %v", text, err)
	}
}

func testSchedulerConfig(t *testing.T, e *env) {
	cfg, _, err := e.nomad.Operator().SchedulerGetConfiguration(nil)
	if err != nil || cfg.SchedulerConfig == nil || cfg.SchedulerConfig.SchedulerAlgorithm != "binpack" ||
		!cfg.SchedulerConfig.PreemptionConfig.SystemSchedulerEnabled {
		t.Fatalf("scheduler configuration: %+v %v", cfg, err)
	}
	strictGet[napi.SchedulerConfigurationResponse](t, e.agent.URL, "/v1/operator/scheduler/configuration")
	set, _, err := e.nomad.Operator().SchedulerSetConfiguration(&napi.SchedulerConfiguration{
		SchedulerAlgorithm: "spread", PreemptionConfig: napi.PreemptionConfig{SystemSchedulerEnabled: true}}, nil)
	if err != nil || !set.Updated {
		t.Fatalf("set scheduler configuration: %+v %v", set, err)
	}
	raw := rawDo(t, e, "POST", "/v1/operator/scheduler/configuration", &napi.SchedulerConfiguration{SchedulerAlgorithm: "binpack",
		PreemptionConfig: napi.PreemptionConfig{SystemSchedulerEnabled: true}})
	if r := strictDecode[napi.SchedulerSetConfigurationResponse](t, "POST /v1/operator/scheduler/configuration", raw); !r.Updated {
		t.Errorf("POST scheduler configuration: %+v", r)
	}
	if cfg, _, err := e.nomad.Operator().SchedulerGetConfiguration(nil); err != nil || cfg.SchedulerConfig.SchedulerAlgorithm != "binpack" {
		t.Errorf("scheduler configuration after the writes: %+v %v", cfg, err)
	}
	// A setting orch does not have is refused by name.
	_, _, err = e.nomad.Operator().SchedulerSetConfiguration(&napi.SchedulerConfiguration{SchedulerAlgorithm: "binpack", PauseEvalBroker: true}, nil)
	if err == nil || !strings.Contains(err.Error(), "PauseEvalBroker") {
		t.Errorf("PauseEvalBroker: %v, want a refusal naming it", err)
	}
}

func testRaft(t *testing.T, e *env) {
	cfg, err := e.nomad.Operator().RaftGetConfiguration(nil)
	if err != nil || len(cfg.Servers) != 1 || !cfg.Servers[0].Leader || !cfg.Servers[0].Voter || cfg.Servers[0].Address == "" {
		t.Fatalf("raft configuration: %+v %v", cfg, err)
	}
	strictGet[napi.RaftConfiguration](t, e.agent.URL, "/v1/operator/raft/configuration")
	// A single server can neither lose an unknown peer nor hand over its
	// leadership: both are refused with a reason, and nothing changes.
	if err := e.nomad.Operator().RaftRemovePeerByID("no-such-server", nil); err == nil || !strings.Contains(err.Error(), "no-such-server") {
		t.Errorf("removing an unknown peer: %v", err)
	}
	if err := e.nomad.Operator().RaftTransferLeadershipByID("no-such-server", nil); err == nil || !strings.Contains(err.Error(), "no-such-server") {
		t.Errorf("transferring leadership to an unknown server: %v", err)
	}
	req, _ := http.NewRequest("POST", e.agent.URL+"/v1/operator/raft/transfer-leadership?id=no-such-server", nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode/100 == 2 {
		t.Errorf("POST transfer-leadership to an unknown server: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
}

func testSnapshot(t *testing.T, e *env) {
	rc, err := e.nomad.Operator().Snapshot(nil)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || len(snap) == 0 {
		t.Fatalf("snapshot: %d bytes, %v", len(snap), err)
	}
	if _, err := e.nomad.Operator().SnapshotRestore(bytes.NewReader(snap), nil); err != nil {
		t.Fatalf("restore (PUT): %v", err)
	}
	req, _ := http.NewRequest("POST", e.agent.URL+"/v1/operator/snapshot", bytes.NewReader(snap))
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("restore (POST): %v %v", resp, err)
	}
	resp.Body.Close()
	if job, _, err := e.nomad.Jobs().Info("web", nil); err != nil || *job.ID != "web" {
		t.Errorf("job after restoring the snapshot: %v", err)
	}
}

func testPeersRegionsServers(t *testing.T, e *env) {
	leader, err := e.nomad.Status().Leader()
	if err != nil {
		t.Fatal(err)
	}
	peers, err := e.nomad.Status().Peers()
	if err != nil || !slices.Equal(peers, []string{leader}) {
		t.Errorf("peers: %q %v, want the leader %q alone", peers, err, leader)
	}
	strictGet[[]string](t, e.agent.URL, "/v1/status/peers")
	regions, err := e.nomad.Regions().List()
	if err != nil || !slices.Equal(regions, []string{"global"}) {
		t.Errorf("regions: %q %v", regions, err)
	}
	strictGet[[]string](t, e.agent.URL, "/v1/regions")
	servers, err := e.nomad.Agent().Servers()
	if err != nil || !slices.Equal(servers, []string{leader}) {
		t.Errorf("agent servers: %q %v, want the leader %q", servers, err, leader)
	}
	strictGet[[]string](t, e.agent.URL, "/v1/agent/servers")
}

func testClientFS(t *testing.T, e *env) {
	alloc, _, err := e.nomad.Allocations().Info(e.allocID, nil)
	if err != nil {
		t.Fatal(err)
	}
	root, _, err := e.nomad.AllocFS().List(alloc, "/", nil)
	if err != nil || !slices.ContainsFunc(root, func(f *napi.AllocFileInfo) bool { return f.Name == "server" && f.IsDir }) {
		t.Errorf("ls /: %+v %v", root, err)
	}
	strictGet[[]*napi.AllocFileInfo](t, e.agent.URL, "/v1/client/fs/ls/"+e.allocID+"?path=/")
	logs, _, err := e.nomad.AllocFS().Stat(alloc, "alloc/logs", nil)
	if err != nil || !logs.IsDir || logs.Name != "logs" {
		t.Errorf("stat alloc/logs: %+v %v", logs, err)
	}
	strictGet[napi.AllocFileInfo](t, e.agent.URL, "/v1/client/fs/stat/"+e.allocID+"?path=alloc/logs")
	rc, err := e.nomad.AllocFS().Cat(alloc, "alloc/logs/server.stdout.0", nil)
	if err != nil {
		t.Fatalf("cat the task's stdout: %v", err)
	}
	if _, err := io.ReadAll(rc); err != nil {
		t.Errorf("reading the task's stdout: %v", err)
	}
	rc.Close()
	cancel := make(chan struct{})
	defer close(cancel)
	frames, errs := e.nomad.AllocFS().Logs(alloc, false, "server", "stdout", "start", 0, cancel, nil)
	for range frames { // sleep writes nothing: the stream ends at once
	}
	select {
	case err := <-errs:
		t.Errorf("logs: %v", err)
	default:
	}
}

// testClientAllocStats reads the usage of the running task through Nomad's
// client (AllocResourceUsage) and strictly.
func testClientAllocStats(t *testing.T, e *env) {
	alloc, _, err := e.nomad.Allocations().Info(e.allocID, nil)
	if err != nil {
		t.Fatal(err)
	}
	usage, err := e.nomad.Allocations().Stats(alloc, nil)
	if err != nil {
		t.Fatalf("stats: %v", err)
	}
	tu := usage.Tasks["server"]
	if tu == nil || tu.ResourceUsage == nil || tu.ResourceUsage.MemoryStats == nil || tu.ResourceUsage.MemoryStats.RSS == 0 || tu.ResourceUsage.CpuStats == nil {
		t.Fatalf("stats = %+v, want the server task's memory and cpu", usage)
	}
	if usage.ResourceUsage == nil || usage.ResourceUsage.MemoryStats.RSS != tu.ResourceUsage.MemoryStats.RSS {
		t.Errorf("allocation usage %+v, want the one task's sum", usage.ResourceUsage)
	}
	strictGet[napi.AllocResourceUsage](t, e.agent.URL, "/v1/client/allocation/"+e.allocID+"/stats?task=server")
}

func testClientAllocLifecycle(t *testing.T, e *env) {
	alloc, _, err := e.nomad.Allocations().Info(e.allocID, nil)
	if err != nil {
		t.Fatal(err)
	}
	// sleep ignores SIGWINCH: signalling leaves the task running.
	if err := e.nomad.Allocations().Signal(alloc, nil, "server", "SIGWINCH"); err != nil {
		t.Errorf("signal (PUT): %v", err)
	}
	raw := rawDo(t, e, "POST", "/v1/client/allocation/"+e.allocID+"/signal", &napi.AllocSignalRequest{Task: "server", Signal: "SIGWINCH"})
	strictDecode[napi.GenericResponse](t, "POST signal", raw)
	for i, restart := range []func() error{
		func() error { return e.nomad.Allocations().Restart(alloc, "server", nil) },
		func() error {
			rawDo(t, e, "POST", "/v1/client/allocation/"+e.allocID+"/restart", &napi.AllocationRestartRequest{TaskName: "server"})
			return nil
		},
	} {
		if err := restart(); err != nil {
			t.Fatalf("restart %d: %v", i+1, err)
		}
		waitTaskRestarted(t, e, uint64(i+1))
	}
}

// waitTaskRestarted follows the allocation until its task runs again after
// its n-th restart.
func waitTaskRestarted(t *testing.T, e *env, n uint64) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var index uint64
	for time.Now().Before(deadline) {
		alloc, meta, err := e.nomad.Allocations().Info(e.allocID, &napi.QueryOptions{WaitIndex: index, WaitTime: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if st := alloc.TaskStates["server"]; st != nil && st.Restarts == n && st.State == "running" {
			return
		}
		index = meta.LastIndex
	}
	t.Fatalf("the task did not run again after restart %d within 60s", n)
}
