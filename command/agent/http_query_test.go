package agent

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestEveryRouteHasAQueryRule enumerates the routes of the router: each must
// declare the query parameters it takes in routeQuery, every entry must
// name a route, and on every route an unknown parameter is a 400 naming it.
func TestEveryRouteHasAQueryRule(t *testing.T) {
	h := startServerHTTP(t, true, realBackend{}, nil, defaultHTTPLimits(), HTTPOptions{ACLTokenTTL: time.Minute})
	base := "http://" + h.Addr()
	served := map[string]bool{}
	for _, p := range h.Routes() {
		served[p] = true
		rule, ok := routeQuery[p]
		if !ok {
			t.Errorf("route %q has no query rule: list the parameters it reads in routeQuery (command/agent/http_query.go)", p)
			continue
		}
		method, path, _ := strings.Cut(p, " ")
		path = strings.NewReplacer("{id}", "x", "{name}", "x", "{regid}", "x").Replace(path)
		for _, q := range []string{"bogus_param=1", "per_page=10"} {
			if q == "per_page=10" && rule.order != nil {
				continue // a paged list takes it
			}
			name, _, _ := strings.Cut(q, "=")
			code, body := doQuery(t, method, base+path+"?"+q)
			if code != http.StatusBadRequest || !strings.Contains(body, name) {
				t.Errorf("%s ?%s: %d %q, want a 400 naming %s", p, q, code, body, name)
			}
		}
		for _, z := range rule.zeroOnly {
			if code, body := doQuery(t, method, base+path+"?"+z+"=true"); code != http.StatusBadRequest || !strings.Contains(body, z) {
				t.Errorf("%s ?%s=true: %d %q, want a 400 naming it", p, z, code, body)
			}
		}
	}
	for p := range routeQuery {
		if !served[p] {
			t.Errorf("routeQuery names %q, which no handler serves", p)
		}
	}
	// A zero value of a parameter orch does not act on passes (Nomad's
	// client sends them on every deregister).
	code, body := doQuery(t, "DELETE", base+"/v1/job/nosuch?purge=false&global=false&eval_priority=0&no_shutdown_delay=false")
	if code == http.StatusBadRequest {
		t.Errorf("a deregister with Nomad's zero-valued options: %d %s", code, body)
	}
	// A bad filter names the expression (on an agent without ACLs: with
	// them, an anonymous list is refused before its query is read).
	open := startServerHTTP(t, false, realBackend{}, nil, defaultHTTPLimits(), HTTPOptions{})
	if code, body := doQuery(t, "GET", "http://"+open.Addr()+"/v1/jobs?filter=Status+%3D%3D"); code != http.StatusBadRequest || !strings.Contains(body, `Status ==`) {
		t.Errorf("a bad filter: %d %q, want a 400 naming the expression", code, body)
	}
}

func doQuery(t *testing.T, method, url string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
