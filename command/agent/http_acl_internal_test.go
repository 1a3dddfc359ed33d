package agent

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/orch-io/orch/acl"
)

// startACLHTTP starts a single server with ACLs and the HTTP API over it,
// with ACL checks on, and returns the API and its base URL once the server
// leads.
func startACLHTTP(t *testing.T) (*HTTPServer, string) {
	t.Helper()
	h := startServerHTTP(t, true, realBackend{}, nil, defaultHTTPLimits(), HTTPOptions{ACL: true, ACLTokenTTL: time.Minute})
	return h, "http://" + h.Addr()
}

// TestEveryRouteHasAnACLRule enumerates the routes of the router: each must
// declare its ACL rule in routeRules, and every rule must name a route.
func TestEveryRouteHasAnACLRule(t *testing.T) {
	h, _ := startACLHTTP(t)
	served := map[string]bool{}
	for _, p := range h.Routes() {
		served[p] = true
		if _, ok := routeRules[p]; !ok {
			t.Errorf("route %q has no ACL rule: declare the capability it needs in routeRules (command/agent/http_acl.go)", p)
		}
	}
	for p := range routeRules {
		if !served[p] {
			t.Errorf("routeRules names %q, which no handler serves", p)
		}
	}
}

// TestAPIRoutesAreTheServedOnes: APIRoutes, which the e2e tests enumerate,
// lists exactly the routes a running API serves, and marks open exactly
// those without a rule.
func TestAPIRoutesAreTheServedOnes(t *testing.T) {
	h, _ := startACLHTTP(t)
	var listed []string
	for _, r := range APIRoutes() {
		listed = append(listed, r.Pattern)
		if rule, ok := routeRules[r.Pattern]; r.Open != (ok && rule == nil) {
			t.Errorf("%s: Open = %v, rule %v", r.Pattern, r.Open, rule)
		}
	}
	served := h.Routes()
	slices.Sort(listed)
	slices.Sort(served) // some routes are registered from a map
	if !slices.Equal(listed, served) {
		t.Errorf("APIRoutes = %v\nserved   = %v", listed, served)
	}
}

// TestAnonymousRequestsRefusedOnEveryRoute sends a request without a token
// to every route of the router: only the open ones answer anything but 403.
func TestAnonymousRequestsRefusedOnEveryRoute(t *testing.T) {
	h, base := startACLHTTP(t)
	open := map[string]bool{"GET /v1/status/leader": true, "GET /v1/agent/health": true,
		"PUT /v1/acl/bootstrap": true, "POST /v1/acl/bootstrap": true}
	for _, p := range h.Routes() {
		method, path, _ := strings.Cut(p, " ")
		path = strings.NewReplacer("{id}", "x", "{name}", "x").Replace(path)
		if open[p] {
			continue
		}
		for _, tok := range []string{"", "00000000-0000-0000-0000-000000000000"} {
			req, err := http.NewRequest(method, base+path, strings.NewReader("{}"))
			if err != nil {
				t.Fatal(err)
			}
			if tok != "" {
				req.Header.Set(HeaderNomadToken, tok)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "Permission denied") {
				t.Errorf("%s (token %q): %d %q, want 403 Permission denied", p, tok, resp.StatusCode, body)
			}
		}
	}
	for _, p := range []string{"/v1/status/leader", "/v1/agent/health"} {
		resp, err := http.Get(base + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s is open: %d", p, resp.StatusCode)
		}
	}
}

// BenchmarkHTTPACLCheck is the ACL check of one HTTP request whose token is
// in the agent's cache: header read, cache lookup, the route's rule.
func BenchmarkHTTPACLCheck(b *testing.B) {
	c := &httpACL{ttl: time.Hour, now: time.Now}
	tok := "11111111-2222-3333-4444-555555555555"
	a := mustCompile(b, `namespace "default" { policy = "read" }`)
	c.mu.m = map[string]cachedACL{tok: {acl: a, expires: time.Now().Add(time.Hour)}}
	r, _ := http.NewRequest(http.MethodGet, "http://x/v1/job/web?namespace=default", nil)
	r.Header.Set(HeaderNomadToken, tok)
	rule := routeRules["GET /v1/job/{id}"]
	b.ReportAllocs()
	for b.Loop() {
		got, err := c.resolve(context.Background(), nil, requestToken(r))
		if err != nil || !rule(got, r) {
			b.Fatal("denied")
		}
	}
}

func mustCompile(t testing.TB, rules string) *acl.ACL {
	t.Helper()
	p, err := acl.Parse("bench.hcl", rules)
	if err != nil {
		t.Fatal(err)
	}
	return acl.New([]*acl.Policy{p})
}

// TestNamespaceParamIsQueryGet: namespaceParam reads ?namespace= as
// r.URL.Query().Get does, escapes and malformed pairs included.
func TestNamespaceParamIsQueryGet(t *testing.T) {
	for _, q := range []string{"", "namespace=prod", "a=1&namespace=prod&namespace=dev", "namespace=", "namespace",
		"namespace=a%2Fb", "namespace=a+b", "namesp%61ce=x", "namespace=%zz&namespace=ok", "x=%zz&namespace=ok",
		"namespace=%2A", "&&namespace=p", "namespacex=1", "index=3&wait=1s", "namespace=a;b&namespace=c", "a=1;namespace=x"} {
		r := &http.Request{URL: &url.URL{RawQuery: q}}
		if got, want := namespaceParam(r), r.URL.Query().Get("namespace"); got != want {
			t.Errorf("%q: namespaceParam = %q, Query().Get = %q", q, got, want)
		}
	}
}

// TestRouteRulesFollowNomad: the routes added after the first ACL round
// (periodic force, dispatch, scale, autopilot, monitor, pprof, the event
// stream, search, services, the keyring, metrics, snapshots) take the
// capability Nomad's API documentation names, and not a neighbouring one.
func TestRouteRulesFollowNomad(t *testing.T) {
	ns := func(caps ...string) string {
		return `namespace "default" { capabilities = ["` + strings.Join(caps, `", "`) + `"] }`
	}
	for _, tc := range []struct {
		route   string
		allowed []string // policies that pass
		refused []string // policies that do not
	}{
		{"PUT /v1/job/{id}/periodic/force", []string{ns("submit-job")}, []string{ns("dispatch-job"), ns("read-job")}},
		{"PUT /v1/job/{id}/dispatch", []string{ns("dispatch-job")}, []string{ns("read-job"), ns("scale-job")}},
		{"PUT /v1/job/{id}/scale", []string{ns("scale-job"), ns("submit-job"), `namespace "default" { policy = "scale" }`},
			[]string{ns("read-job"), ns("read-job-scaling"), `namespace "default" { policy = "read" }`}},
		{"GET /v1/job/{id}/scale", []string{ns("read-job")}, []string{ns("list-jobs")}},
		{"GET /v1/operator/autopilot/configuration", []string{`operator { policy = "read" }`}, []string{`node { policy = "write" }`, `agent { policy = "write" }`}},
		{"PUT /v1/operator/autopilot/configuration", []string{`operator { policy = "write" }`}, []string{`operator { policy = "read" }`}},
		{"GET /v1/operator/autopilot/health", []string{`operator { policy = "read" }`}, []string{`agent { policy = "write" }`}},
		{"GET /v1/agent/monitor", []string{`agent { policy = "read" }`}, []string{`node { policy = "write" }`, `operator { policy = "write" }`}},
		{"GET /v1/agent/pprof/{profile}", []string{`agent { policy = "write" }`}, []string{`agent { policy = "read" }`}},
		{"GET /v1/event/stream", []string{ns("read-job"), `node { policy = "read" }`}, []string{ns("list-jobs"), `agent { policy = "write" }`}},
		{"PUT /v1/search", []string{ns("read-job"), `node { policy = "read" }`}, []string{`agent { policy = "write" }`}},
		{"GET /v1/services", []string{ns("read-job")}, []string{ns("list-jobs")}},
		{"DELETE /v1/service/{id}/{regid}", []string{ns("submit-job")}, []string{ns("read-job")}},
		{"GET /v1/agent/keyring/list", []string{`agent { policy = "read" }`}, []string{`operator { policy = "write" }`}},
		{"PUT /v1/agent/keyring/install", []string{`agent { policy = "write" }`}, []string{`agent { policy = "read" }`}},
		{"GET /v1/metrics", []string{`agent { policy = "read" }`}, []string{`node { policy = "write" }`}},
		{"GET /v1/operator/snapshot", nil, []string{`operator { policy = "write" }`}},
		{"PUT /v1/client/gc", []string{`node { policy = "write" }`}, []string{`node { policy = "read" }`}},
		{"POST /v1/client/metadata", []string{`node { policy = "write" }`}, []string{`node { policy = "read" }`}},
		{"PUT /v1/node/{id}/drain", []string{`node { policy = "write" }`}, []string{`node { policy = "read" }`}},
	} {
		rule, ok := routeRules[tc.route]
		if !ok || rule == nil {
			t.Errorf("%s: no rule, or open", tc.route)
			continue
		}
		method, path, _ := strings.Cut(tc.route, " ")
		r, err := http.NewRequest(method, "http://x"+strings.NewReplacer("{id}", "x", "{profile}", "heap", "{regid}", "y").Replace(path), nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range tc.allowed {
			if !rule(mustCompile(t, p), r) {
				t.Errorf("%s: refused to %s", tc.route, p)
			}
		}
		for _, p := range tc.refused {
			if rule(mustCompile(t, p), r) {
				t.Errorf("%s: allowed to %s", tc.route, p)
			}
		}
		if !rule(acl.Management, r) {
			t.Errorf("%s: refused to management", tc.route)
		}
	}
}
