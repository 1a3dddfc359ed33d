package conformance

import (
	"io"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	napi "github.com/hashicorp/nomad/api"
	"github.com/orch-io/orch/internal/agenttest"
)

// testServices registers, through Nomad's client, a job with a group
// service (an http check on the agent's own API, check_restart) and a task
// template, reads them back, and exercises the registry and the check
// results through Nomad's Services() and Allocations().Checks.
func testServices(t *testing.T, e *env) {
	u, err := url.Parse(e.agent.URL)
	if err != nil {
		t.Fatal(err)
	}
	job := webJob("svc")
	tg := job.TaskGroups[0]
	tg.Services = []*napi.Service{{
		Name: "${NOMAD_JOB_NAME}-api", PortLabel: u.Port(), Tags: []string{"v1"}, Provider: "nomad",
		CheckRestart: &napi.CheckRestart{Limit: 3, Grace: ptr(time.Minute)}, // the service's: its checks' default
		Checks: []napi.ServiceCheck{{
			Name: "health", Type: "http", Path: "/v1/agent/health", Interval: time.Second, Timeout: time.Second,
		}},
	}}
	tg.Tasks[0].Templates = []*napi.Template{{
		EmbeddedTmpl: ptr(`task={{ env "NOMAD_TASK_NAME" }}`), DestPath: ptr("local/hello.txt"), ChangeMode: ptr("noop"),
	}, {
		EmbeddedTmpl: ptr(`x`), DestPath: ptr("local/x"), ChangeMode: ptr("script"),
		ChangeScript: &napi.ChangeScript{Command: ptr("/bin/true"), Args: []string{"-q"}, Timeout: ptr(3 * time.Second), FailOnError: ptr(true)},
	}}
	if _, _, err := e.nomad.Jobs().Register(job, nil); err != nil {
		t.Fatalf("registering a job with a service and a template: %v", err)
	}
	allocID := waitRunning(t, e.nomad, "svc")

	// The job reads back as it was sent, the service's check_restart on
	// its check.
	got, _, err := e.nomad.Jobs().Info("svc", nil)
	if err != nil {
		t.Fatal(err)
	}
	if s := got.TaskGroups[0].Services; len(s) != 1 || s[0].Name != "${NOMAD_JOB_NAME}-api" || len(s[0].Checks) != 1 ||
		s[0].Checks[0].Path != "/v1/agent/health" || s[0].Checks[0].CheckRestart == nil || s[0].Checks[0].CheckRestart.Limit != 3 ||
		*s[0].Checks[0].CheckRestart.Grace != time.Minute {
		t.Errorf("services as Nomad's client reads them: %+v", s)
	}
	if tm := got.TaskGroups[0].Tasks[0].Templates; len(tm) != 2 || *tm[0].DestPath != "local/hello.txt" || *tm[0].Splay != 5*time.Second ||
		tm[1].ChangeScript == nil || *tm[1].ChangeScript.Command != "/bin/true" || *tm[1].ChangeScript.Timeout != 3*time.Second || !*tm[1].ChangeScript.FailOnError {
		t.Errorf("templates as Nomad's client reads them: %+v", tm)
	}
	strictGet[napi.Job](t, e.agent.URL, "/v1/job/svc")
	alloc, _, err := e.nomad.Allocations().Info(allocID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rc, err := e.nomad.AllocFS().Cat(alloc, "server/local/hello.txt", nil); err != nil {
		t.Errorf("the rendered template: %v", err)
	} else {
		b, _ := io.ReadAll(rc)
		rc.Close()
		if string(b) != "task=server" {
			t.Errorf("the rendered template reads %q, want %q", b, "task=server")
		}
	}

	// The registry: the instance appears once the allocation runs.
	var regs []*napi.ServiceRegistration
	var meta *napi.QueryMeta
	if err := agenttest.WaitFor(60*time.Second, func() (bool, string) {
		regs, meta, err = e.nomad.Services().Get("svc-api", &napi.QueryOptions{WaitIndex: index(meta), WaitTime: 5 * time.Second})
		return err == nil && len(regs) == 1, "svc-api registered"
	}); err != nil {
		t.Fatalf("%v (last: %+v %v)", err, regs, err)
	}
	if r := regs[0]; r.AllocID != allocID || r.JobID != "svc" || r.NodeID != e.agent.NodeID || r.Namespace != "default" ||
		!slices.Equal(r.Tags, []string{"v1"}) || r.Port == 0 || r.Address == "" || r.CreateIndex == 0 {
		t.Errorf("instance: %+v", r)
	}
	strictGet[[]*napi.ServiceRegistration](t, e.agent.URL, "/v1/service/svc-api")
	list, _, err := e.nomad.Services().List(nil)
	if err != nil || len(list) != 1 || list[0].Namespace != "default" ||
		!slices.ContainsFunc(list[0].Services, func(s *napi.ServiceRegistrationStub) bool { return s.ServiceName == "svc-api" }) {
		t.Errorf("services: %+v %v", list, err)
	}
	strictGet[[]*napi.ServiceRegistrationListStub](t, e.agent.URL, "/v1/services")

	// The check's results, from the client that runs it.
	var checks napi.AllocCheckStatuses
	if err := agenttest.WaitFor(60*time.Second, func() (bool, string) {
		checks, err = e.nomad.Allocations().Checks(allocID, nil)
		for _, c := range checks {
			if c.Check == "health" && c.Status == "passing" && c.StatusCode == 200 {
				return true, ""
			}
		}
		return false, "the health check passing"
	}); err != nil {
		t.Fatalf("%v (last: %+v %v)", err, checks, err)
	}
	for id, c := range checks {
		if id != c.ID || c.Service != "svc-api" || c.Mode != "healthiness" || c.Timestamp == 0 ||
			time.Since(time.Unix(c.Timestamp, 0)) > time.Hour {
			t.Errorf("check result %s: %+v", id, c)
		}
	}
	strictGet[napi.AllocCheckStatuses](t, e.agent.URL, "/v1/client/allocation/"+allocID+"/checks")
	if _, err := e.nomad.Allocations().Checks("00000000-0000-0000-0000-000000000000", nil); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("checks of an allocation that does not exist: %v, want 404", err)
	}

	// Deleting the instance, and one that does not exist.
	if _, err := e.nomad.Services().Delete("svc-api", regs[0].ID, nil); err != nil {
		t.Errorf("delete: %v", err)
	}
	if _, err := e.nomad.Services().Delete("svc-api", "no-such-instance", nil); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("deleting an instance that does not exist: %v, want 404", err)
	}
	if _, _, err := e.nomad.Jobs().Deregister("svc", true, nil); err != nil {
		t.Errorf("deregister svc: %v", err)
	}
}

func index(m *napi.QueryMeta) uint64 {
	if m == nil {
		return 0
	}
	return m.LastIndex
}
