package checks

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/orch-io/orch/structs"
)

// An http check sends its method, headers (Host as the request's host) and
// body, as Nomad's; a 2xx passes.
func TestHTTPProbeSendsMethodHeadersAndBody(t *testing.T) {
	type seen struct{ method, host, auth, body string }
	got := make(chan seen, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- seen{r.Method, r.Host, r.Header.Get("Authorization"), string(b)}
		w.WriteHeader(http.StatusCreated)
	}))
	t.Cleanup(srv.Close)
	check := &structs.ServiceCheck{Name: "h", Type: "http", Path: "/ping", Method: "POST", Protocol: "http", Timeout: 5 * time.Second,
		Header: map[string][]string{"Authorization": {"Basic x"}, "Host": {"api.internal"}}, Body: `{"ping":true}`}
	r := probe(t.Context(), http.DefaultClient, &target{check: check, addr: strings.TrimPrefix(srv.URL, "http://")}, time.Now)
	if r.status != structs.CheckStatusPassing || r.statusCode != http.StatusCreated {
		t.Fatalf("result %+v", r)
	}
	if s := <-got; s != (seen{"POST", "api.internal", "Basic x", `{"ping":true}`}) {
		t.Errorf("the server saw %+v", s)
	}
}
