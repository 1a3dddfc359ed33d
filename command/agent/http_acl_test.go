package agent_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/command/agent"
	"github.com/orch-io/orch/internal/agenttest"
	"github.com/orch-io/orch/internal/structstest"
	"github.com/orch-io/orch/structs"
)

// TestACLTourWithTokens runs a real agent with ACLs on: the management token
// does everything; a read-only token reads and cannot register; a token of
// one namespace neither sees nor reads another's jobs; a deleted token stops
// working.
func TestACLTourWithTokens(t *testing.T) {
	a := agenttest.Start(t, agenttest.Options{ACL: true})
	mgmt := a.API
	if _, err := mgmt.Jobs().Register(structstest.Job("web")); err != nil {
		t.Fatalf("management registers: %v", err)
	}
	if err := mgmt.Namespaces().Register(&structs.Namespace{Name: "prod"}); err != nil {
		t.Fatalf("management creates a namespace: %v", err)
	}
	prod := structstest.Job("billing")
	prod.Namespace = "prod"
	if _, err := mgmt.Jobs().Register(prod); err != nil {
		t.Fatalf("management registers in prod: %v", err)
	}

	anon, err := api.NewClient(&api.Config{Address: a.URL})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := anon.Jobs().List(nil); !api.IsPermissionDenied(err) {
		t.Fatalf("anonymous list: %v", err)
	}

	for name, rules := range map[string]string{
		"readonly": `namespace "default" { policy = "read" }`,
		"prod":     `namespace "prod" { policy = "write" }`,
	} {
		if err := mgmt.ACL().PolicyUpsert(&structs.ACLPolicy{Name: name, Rules: rules}); err != nil {
			t.Fatal(err)
		}
	}
	token := func(policy string) (*structs.ACLToken, *api.Client) { return tokenClient(t, a, policy) }

	roTok, ro := token("readonly")
	if j, _, err := ro.Jobs().Info("web", nil); err != nil || j.ID != "web" {
		t.Fatalf("read-only reads: %v", err)
	}
	if _, err := ro.Jobs().Register(structstest.Job("web2")); !api.IsPermissionDenied(err) {
		t.Fatalf("read-only registers: %v", err)
	}
	if jobs, _, err := ro.Jobs().List(nil); err != nil || len(jobs) != 1 || jobs[0].ID != "web" {
		t.Fatalf("read-only lists only default's jobs: %v %v", jobs, err)
	}
	inProd := &api.QueryOptions{Namespace: "prod"}
	if _, _, err := ro.Jobs().Info("billing", inProd); !api.IsPermissionDenied(err) {
		t.Fatalf("read-only reads prod's job: %v", err)
	}
	if _, _, err := ro.Jobs().List(inProd); !api.IsPermissionDenied(err) {
		t.Fatalf("read-only lists prod's jobs: %v", err)
	}
	if _, _, err := ro.Jobs().Info("billing", nil); !api.IsNotFound(err) {
		t.Fatalf("prod's job read in default: %v, want not found", err)
	}
	every := &api.QueryOptions{Namespace: structs.AllNamespaces}
	if jobs, _, err := ro.Jobs().List(every); err != nil || len(jobs) != 1 || jobs[0].ID != "web" {
		t.Fatalf("read-only lists every namespace: %v %v, want default's job only", jobs, err)
	}
	if nss, _, err := ro.Namespaces().List(nil); err != nil || len(nss) != 1 || nss[0].Name != "default" {
		t.Fatalf("read-only lists the namespaces: %v %v, want default only", nss, err)
	}
	if _, _, err := ro.Namespaces().Info("prod", nil); !api.IsPermissionDenied(err) {
		t.Fatalf("read-only reads namespace prod: %v", err)
	}
	if ns, _, err := ro.Namespaces().Info("default", nil); err != nil || ns.Name != "default" {
		t.Fatalf("read-only reads namespace default: %v %v", ns, err)
	}
	if err := ro.Namespaces().Register(&structs.Namespace{Name: "mine"}); !api.IsPermissionDenied(err) {
		t.Fatalf("a client token creates a namespace: %v", err)
	}

	_, pr := token("prod")
	if jobs, _, err := pr.Jobs().List(every); err != nil || len(jobs) != 1 || jobs[0].ID != "billing" {
		t.Fatalf("prod token lists every namespace: %v %v, want prod's job only", jobs, err)
	}
	if _, _, err := pr.Jobs().Info("web", nil); !api.IsPermissionDenied(err) {
		t.Fatalf("prod token reads default's job: %v", err)
	}
	again := structstest.Job("billing")
	again.Namespace = "prod"
	if _, err := pr.Jobs().Register(again); err != nil {
		t.Fatalf("prod token registers in prod: %v", err)
	}
	if self, _, err := pr.ACL().TokenSelf(nil); err != nil || self.Name != "prod" {
		t.Fatalf("token self: %v", err)
	}
	if _, _, err := pr.ACL().Tokens(nil); !api.IsPermissionDenied(err) {
		t.Fatalf("a client token lists tokens: %v", err)
	}

	if err := mgmt.ACL().TokenDelete(roTok.AccessorID); err != nil {
		t.Fatal(err)
	}
	// The agent's cache may still admit the token at the HTTP layer (up to
	// acl.token_ttl); the servers refuse it at once.
	if _, _, err := ro.Jobs().Info("web", nil); !api.IsPermissionDenied(err) {
		t.Fatalf("deleted token reads: %v", err)
	}
	if _, err := mgmt.ACL().Bootstrap(); err == nil {
		t.Fatal("a second bootstrap succeeded")
	}
}

// tokenClient creates a client token of policy (named after it) and returns
// it with an API client that sends it.
func tokenClient(t *testing.T, a *agenttest.Agent, policy string) (*structs.ACLToken, *api.Client) {
	t.Helper()
	tok, err := a.API.ACL().TokenCreate(&structs.ACLToken{Name: policy, Type: structs.ACLClientToken, Policies: []string{policy}})
	if err != nil {
		t.Fatal(err)
	}
	c, err := api.NewClient(&api.Config{Address: a.URL, SecretID: tok.SecretID})
	if err != nil {
		t.Fatal(err)
	}
	return tok, c
}

// TestACLClientRoutes: the files,
// logs, restart, signal and exec of an allocation need Nomad's read-fs,
// read-logs, alloc-lifecycle and alloc-exec in the allocation's namespace, whatever namespace the
// request names; exec into a raw_exec task also alloc-node-exec.
func TestACLClientRoutes(t *testing.T) {
	a := agenttest.Start(t, agenttest.Options{ACL: true, Client: true})
	mgmt := a.API
	if err := mgmt.Namespaces().Register(&structs.Namespace{Name: "prod"}); err != nil {
		t.Fatal(err)
	}
	job := structstest.Job("billing")
	job.Namespace = "prod"
	allocID := runningAlloc(t, a, job).ID
	client := func(name, rules string) *api.Client {
		if err := mgmt.ACL().PolicyUpsert(&structs.ACLPolicy{Name: name, Rules: rules}); err != nil {
			t.Fatal(err)
		}
		_, c := tokenClient(t, a, name)
		return c
	}
	// Reads prod's jobs, and has the client capabilities in default only.
	elsewhere := client("elsewhere", `namespace "prod" { policy = "read" }
namespace "default" { capabilities = ["read-fs", "read-logs", "alloc-lifecycle"] }`)
	logsOnly := client("logs-only", `namespace "prod" { capabilities = ["read-job", "read-logs"] }`)
	prodWriter := client("prod-writer", `namespace "prod" { policy = "write" }`)

	ctx := t.Context()
	fs := func(c *api.Client) error { _, err := c.AllocFS().List(ctx, allocID, "/"); return err }
	logs := func(c *api.Client) error {
		f, err := c.AllocFS().Logs(ctx, allocID, api.LogsOptions{Task: "server"})
		if err == nil {
			f.Close()
		}
		return err
	}
	signal := func(c *api.Client) error { return c.Allocations().Signal(allocID, "server", "SIGWINCH") }
	exec := func(c *api.Client) error {
		_, err := c.Allocations().Exec(ctx, allocID, api.ExecOptions{Command: []string{"true"}})
		return err
	}
	execOnly := client("exec-only", `namespace "prod" { capabilities = ["read-job", "alloc-exec"] }`) // Nomad asks read-job too
	// The task is raw_exec's, with no file system isolation: exec into it
	// needs alloc-node-exec as well, which "write" does not grant (Nomad's).
	nodeExec := client("node-exec", `namespace "prod" { capabilities = ["read-job", "alloc-exec", "alloc-node-exec"] }`)
	for _, tc := range []struct {
		who     string
		c       *api.Client
		call    string
		do      func(*api.Client) error
		allowed bool
	}{
		{"elsewhere", elsewhere, "fs", fs, false},
		{"elsewhere", elsewhere, "logs", logs, false},
		{"elsewhere", elsewhere, "signal", signal, false},
		{"logs-only", logsOnly, "logs", logs, true},
		{"logs-only", logsOnly, "fs", fs, false},
		{"logs-only", logsOnly, "signal", signal, false},
		{"prod-writer", prodWriter, "fs", fs, true},
		{"prod-writer", prodWriter, "logs", logs, true},
		{"prod-writer", prodWriter, "signal", signal, true},
		{"management", mgmt, "signal", signal, true},
		{"logs-only", logsOnly, "exec", exec, false},
		{"elsewhere", elsewhere, "exec", exec, false},
		{"exec-only", execOnly, "exec", exec, false},
		{"exec-only", execOnly, "signal", signal, false},
		{"node-exec", nodeExec, "exec", exec, true},
		{"prod-writer", prodWriter, "exec", exec, false},
		{"management", mgmt, "exec", exec, true},
	} {
		err := tc.do(tc.c)
		if tc.allowed && err != nil {
			t.Errorf("%s %s: %v", tc.who, tc.call, err)
		}
		if !tc.allowed && !api.IsPermissionDenied(err) {
			t.Errorf("%s %s: %v, want permission denied", tc.who, tc.call, err)
		}
	}
}

// TestACLServicesAndChecks: with ACLs on, the client registers a service
// and reads the registry for a template with its node's secret; the
// registry and the check results need read-job in the namespace.
func TestACLServicesAndChecks(t *testing.T) {
	a := agenttest.Start(t, agenttest.Options{ACL: true, Client: true})
	mgmt := a.API
	u, err := url.Parse(a.URL)
	if err != nil {
		t.Fatal(err)
	}
	job := structstest.Job("api")
	tg := job.TaskGroups[0]
	tg.Services = []*structs.Service{{Name: "api", PortLabel: u.Port(), Checks: []*structs.ServiceCheck{{
		Name: "health", Type: structs.CheckTypeHTTP, Path: "/v1/agent/health", Interval: time.Second, Timeout: time.Second,
	}}}}
	tg.Tasks[0].Templates = []*structs.Template{{EmbeddedTmpl: `{{ range nomadService "api" }}{{ .Port }}{{ end }}`,
		DestPath: "local/port.txt", ChangeMode: structs.TemplateChangeModeNoop}}
	allocID := runningAlloc(t, a, job).ID
	// The client registered the instance, and its template read it back.
	if err := agenttest.WaitFor(60*time.Second, func() (bool, string) {
		rc, err := mgmt.AllocFS().Cat(t.Context(), allocID, "server/local/port.txt")
		if err != nil {
			return false, err.Error()
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		return string(b) == u.Port(), fmt.Sprintf("the template reads %q, want the service's port %s", b, u.Port())
	}); err != nil {
		t.Fatal(err)
	}

	for _, p := range []struct{ name, rules string }{
		{"reader", `namespace "default" { policy = "read" }`},
		{"other", `namespace "prod" { policy = "write" }`},
	} {
		if err := mgmt.ACL().PolicyUpsert(&structs.ACLPolicy{Name: p.name, Rules: p.rules}); err != nil {
			t.Fatal(err)
		}
	}
	_, reader := tokenClient(t, a, "reader")
	_, other := tokenClient(t, a, "other")
	if regs, _, err := reader.Services().Get("api", nil, nil); err != nil || len(regs) != 1 {
		t.Errorf("read-job reads the service: %+v %v", regs, err)
	}
	if _, _, err := other.Services().Get("api", nil, nil); !api.IsPermissionDenied(err) {
		t.Errorf("another namespace's token reads the service: %v, want permission denied", err)
	}
	if checks, err := reader.Allocations().Checks(allocID); err != nil || len(checks) != 1 {
		t.Errorf("read-job reads the checks: %+v %v", checks, err)
	}
	if _, err := other.Allocations().Checks(allocID); !api.IsPermissionDenied(err) {
		t.Errorf("another namespace's token reads the checks: %v, want permission denied", err)
	}
	regs, _, err := mgmt.Services().Get("api", nil, nil)
	if err != nil || len(regs) != 1 {
		t.Fatalf("the instance: %+v %v", regs, err)
	}
	if err := reader.Services().Delete("api", regs[0].ID); !api.IsPermissionDenied(err) {
		t.Errorf("read-only deletes an instance: %v, want permission denied", err)
	}
}

// TestACLScaleJob: PUT /v1/job/:id/scale takes scale-job (or submit-job),
// as Nomad's: a token with scale-job alone scales a group and cannot
// register; a read-only token cannot scale.
func TestACLScaleJob(t *testing.T) {
	a := agenttest.Start(t, agenttest.Options{ACL: true})
	job := structstest.Job("web")
	if _, err := a.API.Jobs().Register(job); err != nil {
		t.Fatal(err)
	}
	group := job.TaskGroups[0].Name
	for name, rules := range map[string]string{
		"scaler":   `namespace "default" { capabilities = ["scale-job"] }`,
		"readonly": `namespace "default" { policy = "read" }`,
	} {
		if err := a.API.ACL().PolicyUpsert(&structs.ACLPolicy{Name: name, Rules: rules}); err != nil {
			t.Fatal(err)
		}
	}
	_, scaler := tokenClient(t, a, "scaler")
	_, ro := tokenClient(t, a, "readonly")
	if _, err := ro.Jobs().Scale("web", group, 2, "ro"); !api.IsPermissionDenied(err) {
		t.Errorf("read-only token scales: %v, want permission denied", err)
	}
	if _, err := scaler.Jobs().Scale("web", group, 2, "scaler"); err != nil {
		t.Fatalf("scale-job token scales: %v", err)
	}
	if j, _, err := a.API.Jobs().Info("web", nil); err != nil || j.LookupTaskGroup(group).Count != 2 {
		t.Errorf("after scaling to 2: %v", err)
	}
	if _, err := scaler.Jobs().Register(structstest.Job("web2")); !api.IsPermissionDenied(err) {
		t.Errorf("scale-job token registers: %v, want permission denied", err)
	}
}

// TestACLTokenHeaders: the token is read from X-Nomad-Token, X-Orch-Token
// or Authorization: Bearer; a wrong token in any of them is refused.
func TestACLTokenHeaders(t *testing.T) {
	a := agenttest.Start(t, agenttest.Options{ACL: true})
	for _, h := range []struct{ name, prefix string }{
		{"X-Nomad-Token", ""}, {"X-Orch-Token", ""}, {"Authorization", "Bearer "},
	} {
		for _, tc := range []struct {
			secret string
			want   int
		}{
			{a.ManagementToken, http.StatusOK},
			{"00000000-0000-0000-0000-000000000000", http.StatusForbidden},
		} {
			req, err := http.NewRequest(http.MethodGet, a.URL+"/v1/jobs", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set(h.name, h.prefix+tc.secret)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("%s: %s%s: %d, want %d", h.name, h.prefix, tc.secret, resp.StatusCode, tc.want)
			}
		}
	}
}

// TestACLEventStreamFollowsTheToken: the event stream sends a token only
// the events of the namespaces it may read, and ends once the token is
// deleted (within token_ttl, at the next batch or heartbeat).
func TestACLEventStreamFollowsTheToken(t *testing.T) {
	a := agenttest.Start(t, agenttest.Options{ACL: true, Configure: func(c *agent.Config) {
		c.ACL.TokenTTL, c.ACL.PolicyTTL = 200*time.Millisecond, 200*time.Millisecond
	}})
	mgmt := a.API
	if err := mgmt.Namespaces().Register(&structs.Namespace{Name: "prod"}); err != nil {
		t.Fatal(err)
	}
	if err := mgmt.ACL().PolicyUpsert(&structs.ACLPolicy{Name: "prod-read", Rules: `namespace "prod" { policy = "read" }`}); err != nil {
		t.Fatal(err)
	}
	tok, _ := tokenClient(t, a, "prod-read")

	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.URL+"/v1/event/stream?topic=Job&namespace=*", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(agent.HeaderNomadToken, tok.SecretID)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("event stream with a prod token: %s", resp.Status)
	}
	type frame struct {
		Events []struct{ Key, Namespace string }
	}
	frames := make(chan frame)
	go func() {
		defer close(frames)
		dec := json.NewDecoder(resp.Body)
		for {
			var f frame
			if dec.Decode(&f) != nil {
				return
			}
			select {
			case frames <- f:
			case <-ctx.Done():
				return
			}
		}
	}()

	// default's job first: its event comes before prod's, so it was
	// filtered out by the time prod's arrives.
	web := structstest.Job("web")
	if _, err := mgmt.Jobs().Register(web); err != nil {
		t.Fatal(err)
	}
	billing := structstest.Job("billing")
	billing.Namespace = "prod"
	if _, err := mgmt.Jobs().Register(billing); err != nil {
		t.Fatal(err)
	}
	for seen := false; !seen; {
		select {
		case f, ok := <-frames:
			if !ok {
				t.Fatal("the stream ended before prod's event")
			}
			for _, ev := range f.Events {
				if ev.Namespace != "prod" {
					t.Errorf("a prod-only token got an event of namespace %q (%s)", ev.Namespace, ev.Key)
				}
				seen = seen || ev.Key == "billing"
			}
		case <-ctx.Done():
			t.Fatal("no event of prod's job")
		}
	}

	if err := mgmt.ACL().TokenDelete(tok.AccessorID); err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		// A new event makes a batch, before which the stream checks its token.
		job := structstest.Job(fmt.Sprintf("after-%d", i))
		job.Namespace = "prod"
		if _, err := mgmt.Jobs().Register(job); err != nil {
			t.Fatal(err)
		}
		select {
		case _, ok := <-frames:
			if !ok {
				return // ended
			}
		case <-time.After(100 * time.Millisecond):
		case <-ctx.Done():
			t.Fatal("the stream of a deleted token did not end")
		}
	}
}
