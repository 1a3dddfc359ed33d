package conformance

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	napi "github.com/hashicorp/nomad/api"
	"github.com/hashicorp/nomad/api/contexts"
)

// wireCases cover the agent, list-query, search, event-stream and autopilot
// routes; TestNomadClient runs them after cases, on the same agent.
var wireCases = []conformanceCase{
	{[]string{"GET /v1/agent/self"}, testAgentSelf},
	{nil, testListQueries},
	{nil, testRegisterWithSubmission},
	{[]string{"GET /v1/event/stream"}, testEventStream},
	{[]string{"PUT /v1/search", "POST /v1/search", "PUT /v1/search/fuzzy", "POST /v1/search/fuzzy"}, testSearch},
}

func testAgentSelf(t *testing.T, e *env) {
	self, err := e.nomad.Agent().Self()
	if err != nil {
		t.Fatal(err)
	}
	if self.Stats["client"]["node_id"] != e.agent.NodeID || self.Stats["nomad"]["leader"] != "true" || self.Member.Name == "" ||
		self.Member.Tags["role"] != "nomad" || self.Member.Tags["raft_vsn"] != "3" {
		t.Errorf("agent self: member %+v stats %v", self.Member, self.Stats)
	}
	strictGet[napi.AgentSelf](t, e.agent.URL, "/v1/agent/self")
	// Nomad's helpers read the configuration's Region and Datacenter, and
	// the member's name.
	if r, err := e.nomad.Agent().Region(); err != nil || r != "global" {
		t.Errorf("Region: %q %v", r, err)
	}
	if dc, err := e.nomad.Agent().Datacenter(); err != nil || dc != "dc1" {
		t.Errorf("Datacenter: %q %v", dc, err)
	}
	if n, err := e.nomad.Agent().NodeName(); err != nil || n != self.Member.Name {
		t.Errorf("NodeName: %q %v", n, err)
	}
	members, err := e.nomad.Agent().Members()
	if err != nil || len(members.Members) != 1 {
		t.Fatalf("members: %+v %v", members, err)
	}
	leader, _ := e.nomad.Status().Leader()
	tags := members.Members[0].Tags
	for _, k := range []string{"port", "build", "raft_vsn", "region", "dc", "role"} {
		if tags[k] == "" {
			t.Errorf("member tag %q missing: %v", k, tags)
		}
	}
	if tags["role"] != "nomad" || tags["region"] != "global" || tags["dc"] != "dc1" || !strings.HasSuffix(leader, ":"+tags["port"]) {
		t.Errorf("member tags %v (leader %s), want Nomad's", tags, leader)
	}
}

// testListQueries pages and filters the lists through Nomad's client, and
// checks that a parameter Nomad has and orch does not is refused by name.
func testListQueries(t *testing.T, e *env) {
	for _, id := range []string{"page-a", "page-b", "page-c"} {
		job := webJob(id)
		job.TaskGroups[0].Count = ptr(0)
		job.Meta = map[string]string{"owner": id[len(id)-1:]}
		if _, _, err := e.nomad.Jobs().Register(job, nil); err != nil {
			t.Fatal(err)
		}
	}
	q := &napi.QueryOptions{Filter: `ID matches "^page-"`, PerPage: 2}
	page1, meta, err := e.nomad.Jobs().List(q)
	if err != nil || len(page1) != 2 || page1[0].ID != "page-a" || page1[1].ID != "page-b" || meta.NextToken == "" {
		t.Fatalf("first page: %+v %+v %v", page1, meta, err)
	}
	q.NextToken = meta.NextToken
	page2, meta, err := e.nomad.Jobs().List(q)
	if err != nil || len(page2) != 1 || page2[0].ID != "page-c" || meta.NextToken != "" {
		t.Fatalf("second page: %+v %+v %v", page2, meta, err)
	}
	// Filters see Nomad's fields, nested ones too.
	running, _, err := e.nomad.Jobs().List(&napi.QueryOptions{Filter: `Status == "running" and JobSummary.Summary.web.Running == 1`})
	if err != nil || !slices.ContainsFunc(running, func(j *napi.JobListStub) bool { return j.ID == "web" }) ||
		slices.ContainsFunc(running, func(j *napi.JobListStub) bool { return strings.HasPrefix(j.ID, "page-") }) {
		t.Errorf("jobs filtered on status and summary: %+v %v", running, err)
	}
	allocs, _, err := e.nomad.Allocations().List(&napi.QueryOptions{Filter: `ClientStatus == "running" and JobID == "web"`})
	if err != nil || len(allocs) != 1 || allocs[0].JobID != "web" {
		t.Errorf("allocations filtered: %+v %v", allocs, err)
	}
	nodes, _, err := e.nomad.Nodes().List(&napi.QueryOptions{Filter: `Status != "ready"`})
	if err != nil || len(nodes) != 0 {
		t.Errorf("nodes filtered out: %+v %v", nodes, err)
	}
	// Evaluations come oldest first, newest first with reverse.
	evals, _, err := e.nomad.Evaluations().List(nil)
	if err != nil || len(evals) < 2 {
		t.Fatalf("evaluations: %d %v", len(evals), err)
	}
	rev, meta, err := e.nomad.Evaluations().List(&napi.QueryOptions{Reverse: true, PerPage: 1})
	if err != nil || len(rev) != 1 || rev[0].CreateIndex != evals[0].CreateIndex || meta.NextToken == "" {
		t.Errorf("evaluations reversed: %+v %+v %v, want the newest of %d", rev, meta, err, len(evals))
	}
	deps, _, err := e.nomad.Deployments().List(&napi.QueryOptions{Filter: `JobID == "nosuch"`})
	if err != nil || len(deps) != 0 {
		t.Errorf("deployments filtered: %+v %v", deps, err)
	}
	// A bad filter is a 400 naming the expression; so is a parameter Nomad
	// supports and orch does not.
	if _, _, err := e.nomad.Jobs().List(&napi.QueryOptions{Filter: `Status ==`}); err == nil ||
		!strings.Contains(err.Error(), "400") || !strings.Contains(err.Error(), "Status ==") {
		t.Errorf("a bad filter: %v", err)
	}
	withMeta, _, err := e.nomad.Jobs().ListOptions(&napi.JobListOptions{Fields: &napi.JobListFields{Meta: true}}, &napi.QueryOptions{Prefix: "page-a"})
	if err != nil || len(withMeta) != 1 || withMeta[0].Meta["owner"] != "a" {
		t.Errorf("job list with meta=true: %+v %v", withMeta, err)
	}
	if plain, _, err := e.nomad.Jobs().List(&napi.QueryOptions{Prefix: "page-a"}); err != nil || len(plain) != 1 || plain[0].Meta != nil {
		t.Errorf("job list without meta: %+v %v", plain, err)
	}
	if code, body := rawStatus(t, e, "DELETE", "/v1/job/page-c?global=true", ""); code != http.StatusBadRequest || !strings.Contains(body, "global") {
		t.Errorf("deregister with global=true: %d %s", code, body)
	}
	if code, body := rawStatus(t, e, "GET", "/v1/acl/tokens?per_page=2", ""); code != http.StatusBadRequest || !strings.Contains(body, "per_page") {
		t.Errorf("paging ACL tokens: %d %s", code, body)
	}
	for _, id := range []string{"page-a", "page-b", "page-c"} {
		if _, _, err := e.nomad.Jobs().Deregister(id, true, nil); err != nil {
			t.Error(err)
		}
	}
}

func testSearch(t *testing.T, e *env) {
	res, _, err := e.nomad.Search().PrefixSearch(e.allocID[:6], contexts.All, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Matches[contexts.Allocs], []string{e.allocID}) || res.Truncations[contexts.Allocs] {
		t.Errorf("prefix search of the allocation: %+v %v", res, err)
	}
	for _, c := range []contexts.Context{contexts.Jobs, contexts.Evals, contexts.Nodes, contexts.Deployments, contexts.NodePools} {
		if _, ok := res.Matches[c]; !ok {
			t.Errorf("prefix search over all: no %s in %v", c, res.Matches)
		}
	}
	res, _, err = e.nomad.Search().PrefixSearch("we", contexts.Jobs, nil)
	if err != nil || !slices.Equal(res.Matches[contexts.Jobs], []string{"web"}) || len(res.Matches) != 1 {
		t.Errorf("prefix search of jobs: %+v %v", res, err)
	}
	res, _, err = e.nomad.Search().PrefixSearch(e.agent.NodeID[:4], contexts.Nodes, nil)
	if err != nil || !slices.Contains(res.Matches[contexts.Nodes], e.agent.NodeID) {
		t.Errorf("prefix search of nodes: %+v %v", res, err)
	}
	raw := rawDo(t, e, "POST", "/v1/search", &napi.SearchRequest{Prefix: e.reg.EvalID[:8], Context: contexts.Evals})
	if r := strictDecode[napi.SearchResponse](t, "POST /v1/search", raw); !slices.Contains(r.Matches[contexts.Evals], e.reg.EvalID) {
		t.Errorf("POST search of evaluations: %+v", r)
	}
	fz, _, err := e.nomad.Search().FuzzySearch("EB", contexts.All, nil)
	if err != nil || !slices.ContainsFunc(fz.Matches[contexts.Jobs], func(m napi.FuzzyMatch) bool { return m.ID == "web" && slices.Equal(m.Scope, []string{"default"}) }) ||
		!slices.ContainsFunc(fz.Matches[contexts.Groups], func(m napi.FuzzyMatch) bool {
			return m.ID == "web" && slices.Equal(m.Scope, []string{"default", "web"})
		}) ||
		!slices.ContainsFunc(fz.Matches[contexts.Allocs], func(m napi.FuzzyMatch) bool { return m.ID == "web.web[0]" && m.Scope[1] == e.allocID }) {
		t.Errorf("fuzzy search: %+v %v", fz, err)
	}
	raw = rawDo(t, e, "PUT", "/v1/search/fuzzy", &napi.FuzzySearchRequest{Text: "web", Context: contexts.Jobs})
	if r := strictDecode[napi.FuzzySearchResponse](t, "PUT /v1/search/fuzzy", raw); len(r.Matches[contexts.Jobs]) == 0 {
		t.Errorf("PUT fuzzy search: %+v", r)
	}
	if _, _, err := e.nomad.Search().FuzzySearch("w", contexts.All, nil); err == nil || !strings.Contains(err.Error(), "2 characters") {
		t.Errorf("a one-letter fuzzy search: %v", err)
	}
	if _, _, err := e.nomad.Search().PrefixSearch("x", contexts.Volumes, nil); err == nil || !strings.Contains(err.Error(), "volumes") {
		t.Errorf("a search of volumes: %v, want a refusal naming the context", err)
	}
}

// testRegisterWithSubmission registers as Nomad's CLI `job run` does (1.6
// and later): with the job file's source beside the job.
func testRegisterWithSubmission(t *testing.T, e *env) {
	job := webJob("submitted")
	job.TaskGroups[0].Count = ptr(0)
	sub := &napi.JobSubmission{Source: `job "submitted" {}`, Format: "hcl2", VariableFlags: map[string]string{"a": "1"}, Variables: "b = 2"}
	resp, _, err := e.nomad.Jobs().RegisterOpts(job, &napi.RegisterOptions{Submission: sub}, nil)
	if err != nil || resp.EvalID == "" {
		t.Fatalf("register with a submission: %+v %v", resp, err)
	}
	if _, _, err := e.nomad.Jobs().Deregister("submitted", true, nil); err != nil {
		t.Error(err)
	}
}

// testEventStream follows the Job and Allocation topics through Nomad's
// client while a job is registered and stopped, then resumes at an index.
func testEventStream(t *testing.T, e *env) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	stream, err := e.nomad.EventStream().Stream(ctx, map[napi.Topic][]string{"Job": {"streamed"}, "Evaluation": {"*"}}, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	job := webJob("streamed")
	job.TaskGroups[0].Count = ptr(0)
	reg, _, err := e.nomad.Jobs().Register(job, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.nomad.Jobs().Deregister("streamed", true, nil); err != nil {
		t.Fatal(err)
	}
	var registered, deregistered, evaluated bool
	var firstIndex uint64
	for !(registered && deregistered && evaluated) {
		var evs *napi.Events
		select {
		case evs = <-stream:
		case <-ctx.Done():
			t.Fatalf("events: registered %v deregistered %v evaluated %v by the deadline", registered, deregistered, evaluated)
		}
		if evs.Err != nil {
			t.Fatal(evs.Err)
		}
		for _, ev := range evs.Events {
			if ev.Index != evs.Index {
				t.Errorf("event %+v in the batch of %d", ev, evs.Index)
			}
			switch ev.Topic {
			case "Job":
				j, err := ev.Job()
				if err != nil || j == nil || *j.ID != "streamed" || ev.Key != "streamed" {
					t.Fatalf("job event %+v: %+v %v", ev, j, err)
				}
				switch ev.Type {
				case "JobRegistered":
					registered, firstIndex = true, ev.Index
				case "JobDeregistered":
					deregistered = true
				}
			case "Evaluation":
				ev2, err := ev.Evaluation()
				if err != nil || ev2 == nil || ev2.ID == "" {
					t.Fatalf("evaluation event %+v: %v", ev, err)
				}
				evaluated = evaluated || ev2.ID == reg.EvalID
			default:
				t.Errorf("an event of topic %s, not subscribed", ev.Topic)
			}
		}
	}
	// Resuming at the registration's index replays it first.
	resumed, err := e.nomad.EventStream().Stream(ctx, map[napi.Topic][]string{"Job": {"*"}}, firstIndex, nil)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case evs := <-resumed:
		if evs.Err != nil || evs.Index != firstIndex || evs.Events[0].Type != "JobRegistered" {
			t.Errorf("resumed at %d: %+v", firstIndex, evs)
		}
	case <-ctx.Done():
		t.Fatal("nothing resumed")
	}
	if code, body := rawStatus(t, e, "GET", "/v1/event/stream?topic=Service:*", ""); code != http.StatusBadRequest || !strings.Contains(body, "Service") {
		t.Errorf("an unsupported topic: %d %s", code, body)
	}
}
