package agent

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orch-io/orch/internal/logmon"
	"github.com/orch-io/orch/server"
	"github.com/orch-io/orch/structs"
)

// These tests send what an attacker or a buggy tool would to the real HTTP
// server in front of a real single-server cluster, and check that each gets
// a clear error and that the agent still answers afterwards.

// realBackend is a Backend over a real server; panicOn makes RPCs of that
// method panic, standing in for a bug in a handler.
type realBackend struct {
	*server.Server
	panicOn string
}

func (b realBackend) RPC(ctx context.Context, method string, args, reply any) error {
	if method == b.panicOn {
		var m map[string]int
		//lint:ignore SA5000 the nil-map write is the point: a real runtime panic
		m["boom"]++
	}
	return b.Server.RPC(ctx, method, args, reply)
}

// response and do: a plain HTTP exchange with the API (http_test.go, in the
// external test package, has its own).
type response struct {
	code   int
	header http.Header
	body   string
}

func do(t *testing.T, method, url, body string) response {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{code: resp.StatusCode, header: resp.Header, body: string(b)}
}

func (realBackend) Members() *structs.AgentMembersResponse { return &structs.AgentMembersResponse{} }
func (realBackend) Health() *structs.AgentHealthResponse   { return &structs.AgentHealthResponse{} }
func (realBackend) Events() *server.EventBuffer            { return nil }
func (realBackend) Self() *structs.AgentSelf               { return &structs.AgentSelf{} }
func (realBackend) Logs() *logmon.Broadcaster              { return logmon.New() }
func (b realBackend) DialServer(context.Context) (io.ReadWriteCloser, error) {
	return b.Server.DialAgent(), nil
}

// syncBuffer is a log destination safe for concurrent writers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startRealHTTP starts a single-server cluster and the HTTP API over it,
// with limits; it returns the API's base URL once the server leads, and the
// HTTP server's log.
func startRealHTTP(t *testing.T, panicOn string, limits httpLimits) (string, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	h := startServerHTTP(t, false, realBackend{panicOn: panicOn}, slog.New(slog.NewTextHandler(logs, nil)), limits, HTTPOptions{})
	return "http://" + h.Addr(), logs
}

// startServerHTTP starts a single real server (with ACLs when acl) and the
// HTTP API over it through backend (whose Server it fills in), and returns
// the API once the server leads. Both stop when the test ends.
func startServerHTTP(t *testing.T, aclEnabled bool, backend realBackend, logger *slog.Logger, limits httpLimits, opts HTTPOptions) *HTTPServer {
	t.Helper()
	cfg := server.DevConfig()
	cfg.DataDir = t.TempDir()
	cfg.NodeName = "http-test"
	cfg.RPCPort, cfg.GossipPort = 0, 0
	cfg.NumSchedulers = 1
	cfg.ACLEnabled = aclEnabled
	cfg.Logger = slog.New(slog.DiscardHandler)
	s, err := server.NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Shutdown() })
	backend.Server = s
	h, err := newHTTPServer("127.0.0.1:0", backend, logger, limits, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = h.Shutdown(ctx)
	})
	deadline := time.Now().Add(30 * time.Second)
	for !s.IsLeader() {
		if time.Now().After(deadline) {
			t.Fatal("the server did not become leader within 30s")
		}
		time.Sleep(10 * time.Millisecond) // polling a condition, with a deadline
	}
	return h
}

// hostileJob is a valid job body with one part replaced: field is the JSON
// of one task group's task.
func hostileJob(id, group, task string) string {
	if group == "" {
		group = `"Name": "g", "Count": 1`
	}
	if task == "" {
		task = `"Name": "t", "Driver": "mock"`
	}
	return fmt.Sprintf(`{"Job": {"ID": %q, "TaskGroups": [{%s, "Tasks": [{%s}]}]}}`, id, group, task)
}

// deepConfig is a task config nested depth levels deep, in JSON.
func deepConfig(depth int) string {
	return `"Config": ` + strings.Repeat(`{"a": `, depth) + `1` + strings.Repeat(`}`, depth)
}

func TestHostileJobBodiesGetClearErrorsAndTheAgentLives(t *testing.T) {
	url, _ := startRealHTTP(t, "", defaultHTTPLimits())
	tests := []struct{ name, body, want string }{
		{"null constraint", `{"Job": {"ID": "x", "Constraints": [null], "TaskGroups": [{"Name": "g", "Tasks": [{"Name": "t", "Driver": "mock"}]}]}}`,
			`constraint[0]: must not be null`},
		{"null in every list", `{"Job": {"ID": "x", "Datacenters": [null], "Constraints": [null], "Affinities": [null], "Spreads": [null],
			"TaskGroups": [null, {"Name": "g", "Constraints": [null], "Affinities": [null], "Spreads": [null], "Networks": [null],
			"Tasks": [null, {"Name": "t", "Driver": "mock", "Constraints": [null], "Affinities": [null]}]}]}}`,
			`group "g": task "t": affinity[0]: must not be null`},
		{"null ports", `{"Job": {"ID": "x", "TaskGroups": [{"Name": "g", "Networks": [{"ReservedPorts": [null], "DynamicPorts": null}], "Tasks": [{"Name": "t", "Driver": "mock"}]}]}}`,
			`label must be letters`},
		{"count of a billion", hostileJob("x", `"Name": "g", "Count": 1000000000`, ""),
			`group "g": count = 1000000000: must be at most 10000 (limits.job_max_group_count)`},
		{"count 2^63-1", hostileJob("x", `"Name": "g", "Count": 9223372036854775807`, ""),
			`count = 9223372036854775807: must be at most 10000`},
		{"count 1e308", hostileJob("x", `"Name": "g", "Count": 1e308`, ""),
			`invalid job: Job.TaskGroups[0].Count = 1e308 at line 1, column 59: must be an integer, not a fractional number`},
		{"count -1", hostileJob("x", `"Name": "g", "Count": -1`, ""), `group "g": count = -1: must be >= 0`},
		{"config 1015 levels deep", hostileJob("x", "", `"Name": "t", "Driver": "mock", `+deepConfig(1015)),
			`task "t": config` + strings.Repeat(".a", 32) + `: is nested more than 32 levels deep (limits.task_config_max_depth)`},
		{"cpu and memory 2^63-1", hostileJob("x", "", `"Name": "t", "Driver": "mock", "Resources": {"CPU": 9223372036854775807, "MemoryMB": 9223372036854775807}`),
			`resources.memory = 9223372036854775807: must be at most 1099511627776 (MB, 2^40)`},
		{"job id ..", hostileJob("..", "", ""), `id = "..": must not have "", "." or ".." as a segment`},
		{"task ../../x", hostileJob("x", "", `"Name": "../../x", "Driver": "mock"`), `name = "../../x": must not contain "/"`},
		{"task with NUL", hostileJob("x", "", `"Name": "a\u0000b", "Driver": "mock"`), `name = "a\x00b": must not contain a NUL character`},
		{"unknown field", hostileJob("x", "", `"Name": "t", "Driver": "mock", "Resoruces": {"CPU": 100}`),
			`invalid job: Job.TaskGroups[0].Tasks[0].Resoruces at line 1, column 104: unknown field`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := do(t, "PUT", url+"/v1/jobs", tt.body)
			if r.code != http.StatusBadRequest || !strings.Contains(r.body, tt.want) {
				t.Errorf("got %d %q\nwant 400 containing %q", r.code, r.body, tt.want)
			}
			if r := do(t, "GET", url+"/v1/jobs", ""); r.code != 200 || strings.TrimSpace(r.body) != "[]" {
				t.Fatalf("after the hostile body: GET /v1/jobs = %d %q, want 200 []", r.code, r.body)
			}
		})
	}
	// A good job still registers.
	if r := do(t, "PUT", url+"/v1/jobs", hostileJob("good", "", "")); r.code != 200 {
		t.Fatalf("a valid job after the hostile ones: %d %s", r.code, r.body)
	}
}

func TestHTTPHandlerPanicIsAnInternalErrorAndTheAgentLives(t *testing.T) {
	url, logs := startRealHTTP(t, "Job.List", defaultHTTPLimits())
	r := do(t, "GET", url+"/v1/jobs", "")
	if r.code != http.StatusInternalServerError || !strings.HasPrefix(r.body, "internal error: GET /v1/jobs failed: assignment to entry in nil map") {
		t.Fatalf("panicking handler: %d %q, want 500 naming an internal error", r.code, r.body)
	}
	log := logs.String()
	for _, want := range []string{`msg="http handler panicked"`, `route="GET /v1/jobs"`, `panic="assignment to entry in nil map"`, "http_hostile_test.go"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	// The agent lives: other routes answer, and so does the same one again.
	if r := do(t, "GET", url+"/v1/status/leader", ""); r.code != 200 {
		t.Fatalf("after the panic: GET /v1/status/leader = %d %q", r.code, r.body)
	}
	if r := do(t, "GET", url+"/v1/jobs", ""); r.code != 500 {
		t.Fatalf("the same route again: %d %q", r.code, r.body)
	}
}

func TestHTTPBodyShorterThanItsContentLengthDoesNotHoldTheConnection(t *testing.T) {
	limits := defaultHTTPLimits()
	limits.bodyReadTimeout = 200 * time.Millisecond
	url, _ := startRealHTTP(t, "", limits)
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// A bound for the test only: without the agent's timeout, it would wait forever.
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	fmt.Fprintf(conn, "PUT /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"Job\": ")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no response to a short body: %v", err)
	}
	defer resp.Body.Close()
	body := new(bytes.Buffer)
	_, _ = body.ReadFrom(resp.Body)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body.String(), "reading the request body: no data received for 200ms") {
		t.Fatalf("short body: %d %q", resp.StatusCode, body.String())
	}
	if r := do(t, "GET", url+"/v1/status/leader", ""); r.code != 200 {
		t.Fatalf("after a short body: %d %q", r.code, r.body)
	}
}

func TestHTTPBodyTooLargeIs413(t *testing.T) {
	url, _ := startRealHTTP(t, "", defaultHTTPLimits())
	big := `{"Job": {"ID": "x", "Meta": {"k": "` + strings.Repeat("v", maxJobBody) + `"}}}`
	if r := do(t, "PUT", url+"/v1/jobs", big); r.code != http.StatusRequestEntityTooLarge ||
		!strings.Contains(r.body, fmt.Sprintf("request body larger than %d bytes", maxJobBody)) {
		t.Fatalf("9 MB body: %d %q", r.code, r.body)
	}
	// Every route is bounded, not only those that read a job.
	if r := do(t, "PUT", url+"/v1/operator/scheduler/configuration", big); r.code != http.StatusBadRequest {
		t.Fatalf("9 MB body to the scheduler configuration: %d %q", r.code, r.body)
	}
}
