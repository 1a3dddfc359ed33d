package agent

// The HTTP API: the public JSON interface of an agent on port 4646, with
// Nomad's paths and field names. Each endpoint translates the request into one
// in-process RPC (structs/rpc.go) on the Backend the agent gives it, and the
// reply into JSON. The endpoints live in http_jobs.go (jobs, the only ones
// with request bodies), http_reads.go (nodes, allocations, evaluations) and
// http_agent.go (status and agent).
//
// Errors are plain text bodies (as in Nomad). The status code comes from the
// error's code (structs.ErrorCode.HTTPStatus, the one place codes meet HTTP):
// 400 invalid, 403 permission denied, 404 not found, 409 conflict (a
// registration whose check-index failed; Nomad answers 500), 503 no leader or
// outcome unknown, 500 anything else; plus 404 for an unknown path and 405 for
// a known path with the wrong method. The code itself is sent in the
// X-Orch-Error-Code header, so that a client tells "not applied, safe to
// retry" (no_leader) from "outcome unknown" (indeterminate).
//
// Writes read their request ID (structs.WriteRequest.RequestID) from the
// X-Orch-Request-ID header (HeaderRequestID; X-Request-ID is accepted too); a
// write without one gets a fresh ID here, so that the servers' own retries
// (forwarding to a new leader) apply it at most once.
//
// Invalid job bodies are also caught here before the RPC: the job is
// canonicalized and validated on a copy, so that a user's mistake is a 400
// whatever the server's error text says.
//
// Every request goes through ServeHTTP, which guards the agent against what a
// request can do to it: a handler that panics answers 500 ("internal error")
// and is logged with its route and stack, and the agent keeps serving; a body
// is bounded in size and must keep arriving (httpLimits).

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/orch-io/orch/internal/logmon"
	"github.com/orch-io/orch/internal/metrics"
	"github.com/orch-io/orch/server"
	"github.com/orch-io/orch/structs"
)

// Backend is what the HTTP API needs of the agent. *server.Server satisfies
// RPC; the agent adapts the rest. Methods are called concurrently, one
// goroutine per HTTP request.
type Backend interface {
	// RPC calls an RPC method in process (see structs/rpc.go); reads may block
	// up to their MaxQueryTime. ctx is the HTTP request's: a caller that hangs
	// up cancels its call.
	RPC(ctx context.Context, method string, args, reply any) error
	// Members returns the gossip members as /v1/agent/members shows them.
	Members() *structs.AgentMembersResponse
	// Health returns the health of the agent's server and client halves.
	Health() *structs.AgentHealthResponse
	// Self returns what /v1/agent/self shows of the agent.
	Self() *structs.AgentSelf
	// Events is the event buffer of the agent's server, nil on a
	// client-only agent (/v1/event/stream).
	Events() *server.EventBuffer
	// DialNode opens a byte stream to the client endpoints of a node's client
	// agent (structs/client_rpc.go), for the one streaming call req names;
	// ctx bounds the stream's life. A node no server reaches is a
	// CodeNotFound error; a call req's token may not make is refused.
	DialNode(ctx context.Context, req *structs.DialNodeRequest) (io.ReadWriteCloser, error)
	// Logs is the agent's log fan-out (orch monitor).
	Logs() *logmon.Broadcaster
	// DialServer opens a byte stream to a server's streaming endpoints (the
	// agent's own, or the one a client-only agent is connected to), on
	// which the caller opens one agent debugging call (Agent.Monitor,
	// Agent.Profile); ctx bounds the dial.
	DialServer(ctx context.Context) (io.ReadWriteCloser, error)
}

// Blocking query limits: a query with ?index= and no ?wait= waits
// defaultQueryWait; no query waits longer than maxQueryWait.
const (
	defaultQueryWait = 5 * time.Minute
	maxQueryWait     = 10 * time.Minute
)

// Response headers of every read, in orch's spelling and Nomad's.
const (
	headerIndex       = "X-Orch-Index"
	headerKnownLeader = "X-Orch-KnownLeader"
	headerLastContact = "X-Orch-LastContact"
	nomadIndex        = "X-Nomad-Index"
	nomadKnownLeader  = "X-Nomad-KnownLeader"
	nomadLastContact  = "X-Nomad-LastContact"
)

// httpLimits bound what one request may hold of the agent.
//
// There is deliberately no server-wide ReadTimeout or WriteTimeout: a
// blocking query legitimately answers after up to maxQueryWait, and a
// snapshot download can take long, so a WriteTimeout would cut them; and
// net/http cancels a request's context when a ReadTimeout expires while the
// handler runs (its background read of the connection fails), which would
// cancel blocking queries too. Instead headers must arrive within
// readHeaderTimeout, a body must make progress (bodyReadTimeout between two
// reads that return data, so a body shorter than its Content-Length cannot
// hold a connection forever), and an idle keep-alive connection is closed
// after idleTimeout.
type httpLimits struct {
	readHeaderTimeout time.Duration
	bodyReadTimeout   time.Duration
	idleTimeout       time.Duration
	maxBody           int64 // bytes; the snapshot upload has its own bound
}

func defaultHTTPLimits() httpLimits {
	return httpLimits{
		readHeaderTimeout: 10 * time.Second,
		bodyReadTimeout:   30 * time.Second,
		idleTimeout:       2 * time.Minute,
		maxBody:           maxJobBody,
	}
}

// HTTPServer serves the HTTP API on one listener.
type HTTPServer struct {
	backend Backend
	logger  *slog.Logger
	limits  httpLimits
	opts    HTTPOptions
	metrics *httpMetrics
	ln      net.Listener
	srv     *http.Server
	// mux is the one registry of routes: whatever is registered on it is
	// served, listed by Routes and held to an ACL rule (http_acl.go).
	mux *routeMux
	// acl, when set (acl.enabled), authorizes every request (http_acl.go).
	acl *httpACL
	// tls, when set (tls.http), is the listener's TLS configuration.
	tls *tls.Config
	// served is closed when Serve has returned.
	served chan struct{}
	// stopping ends every request's context at Shutdown, so blocking
	// queries answer at once instead of holding the shutdown.
	stopping context.CancelFunc
}

// NewHTTPServer listens on addr (host:port; port 0 picks a free port) at once
// and serves the API on a goroutine of its own until Shutdown.
func NewHTTPServer(addr string, backend Backend, logger *slog.Logger) (*HTTPServer, error) {
	return NewHTTPServerWithOptions(addr, backend, logger, HTTPOptions{})
}

// NewHTTPServerWithOptions is NewHTTPServer with the agent's telemetry and
// debug settings.
func NewHTTPServerWithOptions(addr string, backend Backend, logger *slog.Logger, opts HTTPOptions) (*HTTPServer, error) {
	return newHTTPServer(addr, backend, logger, defaultHTTPLimits(), opts)
}

// newHTTPServer is NewHTTPServer with limits (tests shorten them).
func newHTTPServer(addr string, backend Backend, logger *slog.Logger, limits httpLimits, opts HTTPOptions) (*HTTPServer, error) {
	if backend == nil {
		return nil, errors.New("agent: http server: nil backend")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("agent: http server: listen on %q: %w", addr, err)
	}
	if opts.Metrics == nil {
		opts.Metrics = metrics.NewRegistry(nil)
	}
	s := &HTTPServer{
		backend: authBackend{backend},
		logger:  logger.With("component", "http"),
		limits:  limits,
		opts:    opts,
		metrics: newHTTPMetrics(opts.Metrics),
		ln:      ln,
		mux:     &routeMux{mux: http.NewServeMux()},
		served:  make(chan struct{}),
	}
	if opts.ACL {
		s.acl = &httpACL{ttl: opts.ACLTokenTTL, now: time.Now}
	}
	s.tls = opts.TLS
	if s.tls != nil {
		// A plain HTTP request to this port is answered "400 Client sent an
		// HTTP request to an HTTPS server" by net/http.
		s.ln = tls.NewListener(ln, s.tls)
	}
	s.registerRoutes()
	s.srv = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: limits.readHeaderTimeout,
		IdleTimeout:       limits.idleTimeout,
		MaxHeaderBytes:    1 << 20,
		ErrorLog:          slog.NewLogLogger(s.logger.Handler(), slog.LevelWarn),
	}
	base, stopping := context.WithCancel(context.Background())
	s.srv.BaseContext = func(net.Listener) context.Context { return base }
	s.stopping = stopping
	go func() {
		defer close(s.served)
		if err := s.srv.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.logger.Error("http server stopped", "error", err)
		}
	}()
	s.logger.Info("http api listening", "addr", s.Addr(), "tls", s.tls != nil)
	return s, nil
}

// Addr returns the address the server listens on, host:port.
func (s *HTTPServer) Addr() string { return s.ln.Addr().String() }

// URL is the API's base URL: https://host:port with TLS, else http://.
func (s *HTTPServer) URL() string {
	if s.tls != nil {
		return "https://" + s.Addr()
	}
	return "http://" + s.Addr()
}

// Shutdown stops accepting connections, ends the requests in flight (their
// contexts are cancelled: a blocking query answers what it has) and waits for
// them, up to ctx. Connections still open when ctx ends (a client that
// connected and never sent a request) are closed: the API is down either way.
func (s *HTTPServer) Shutdown(ctx context.Context) error {
	s.stopping()
	if err := s.srv.Shutdown(ctx); err != nil {
		s.logger.Debug("closing the HTTP connections still open at shutdown", "error", err)
		_ = s.srv.Close()
	}
	<-s.served
	return nil
}

// registerRoutes wires every endpoint. Patterns without a method would accept
// any method; every one here names its methods so the mux answers 405.
func (s *HTTPServer) registerRoutes() {
	routes := []struct {
		pattern string
		handler func(*http.Request) (any, error)
	}{
		{"GET /v1/jobs", s.jobList},
		{"PUT /v1/jobs", s.jobRegister},
		{"POST /v1/jobs", s.jobRegister},
		{"GET /v1/job/{id}", s.jobGet},
		{"PUT /v1/job/{id}", s.jobRegister},
		{"POST /v1/job/{id}", s.jobRegister},
		{"DELETE /v1/job/{id}", s.jobDeregister},
		{"GET /v1/job/{id}/allocations", s.jobAllocations},
		{"GET /v1/job/{id}/evaluations", s.jobEvaluations},
		{"PUT /v1/job/{id}/plan", s.jobPlan},
		{"POST /v1/job/{id}/plan", s.jobPlan},
		{"GET /v1/job/{id}/summary", s.jobSummary},
		{"GET /v1/job/{id}/scale", s.jobScaleStatus},
		{"PUT /v1/validate/job", s.jobValidate},
		{"POST /v1/validate/job", s.jobValidate},
		{"PUT /v1/jobs/parse", s.jobsParse},
		{"POST /v1/jobs/parse", s.jobsParse},
		{"PUT /v1/job/{id}/scale", s.jobScale},
		{"POST /v1/job/{id}/scale", s.jobScale},
		{"PUT /v1/job/{id}/periodic/force", s.jobPeriodicForce},
		{"POST /v1/job/{id}/periodic/force", s.jobPeriodicForce},
		{"PUT /v1/job/{id}/dispatch", s.jobDispatch},
		{"POST /v1/job/{id}/dispatch", s.jobDispatch},
		{"GET /v1/job/{id}/versions", s.jobVersions},
		{"PUT /v1/job/{id}/revert", s.jobRevert},
		{"POST /v1/job/{id}/revert", s.jobRevert},
		{"PUT /v1/job/{id}/stable", s.jobStable},
		{"POST /v1/job/{id}/stable", s.jobStable},
		{"GET /v1/job/{id}/deployments", s.jobDeployments},
		{"GET /v1/job/{id}/deployment", s.jobLatestDeployment},

		{"GET /v1/deployments", s.deploymentList},
		{"GET /v1/deployment/{id}", s.deploymentGet},
		{"GET /v1/deployment/allocations/{id}", s.deploymentAllocations},
		{"PUT /v1/deployment/promote/{id}", s.deploymentPromote},
		{"POST /v1/deployment/promote/{id}", s.deploymentPromote},
		{"PUT /v1/deployment/fail/{id}", s.deploymentFail},
		{"POST /v1/deployment/fail/{id}", s.deploymentFail},
		{"PUT /v1/deployment/pause/{id}", s.deploymentPause},
		{"POST /v1/deployment/pause/{id}", s.deploymentPause},
		{"PUT /v1/deployment/allocation-health/{id}", s.deploymentAllocHealth},
		{"POST /v1/deployment/allocation-health/{id}", s.deploymentAllocHealth},

		{"GET /v1/nodes", s.nodeList},
		{"GET /v1/node/{id}", s.nodeGet},
		{"GET /v1/node/{id}/allocations", s.nodeAllocations},
		{"GET /v1/node/pools", s.nodePools},
		{"GET /v1/allocations", s.allocList},
		{"GET /v1/allocation/{id}", s.allocGet},
		{"GET /v1/evaluations", s.evalList},
		{"GET /v1/evaluation/{id}", s.evalGet},
		{"GET /v1/evaluation/{id}/allocations", s.evalAllocations},

		{"GET /v1/client/allocation/{id}/checks", s.allocChecks},

		{"GET /v1/services", s.serviceList},
		{"GET /v1/service/{id}", s.serviceGet},
		{"DELETE /v1/service/{id}/{regid}", s.serviceDelete},

		{"GET /v1/status/leader", s.statusLeader},
		{"GET /v1/status/peers", s.statusPeers},
		{"GET /v1/regions", s.regions},
		{"GET /v1/agent/servers", s.agentServers},
		{"GET /v1/agent/members", s.agentMembers},
		{"GET /v1/agent/health", s.agentHealth},
		{"GET /v1/agent/self", s.agentSelf},

		{"PUT /v1/search", s.search},
		{"POST /v1/search", s.search},
		{"PUT /v1/search/fuzzy", s.fuzzySearch},
		{"POST /v1/search/fuzzy", s.fuzzySearch},

		{"GET /v1/operator/scheduler/configuration", s.schedulerConfigGet},
		{"PUT /v1/operator/scheduler/configuration", s.schedulerConfigPut},
		{"POST /v1/operator/scheduler/configuration", s.schedulerConfigPut},

		{"GET /v1/operator/autopilot/configuration", s.autopilotConfigGet},
		{"PUT /v1/operator/autopilot/configuration", s.autopilotConfigPut},
		{"POST /v1/operator/autopilot/configuration", s.autopilotConfigPut},
		{"GET /v1/operator/autopilot/health", s.autopilotHealth},

		{"GET /v1/operator/raft/configuration", s.raftConfiguration},
		{"DELETE /v1/operator/raft/peer", s.raftRemovePeer},
		{"PUT /v1/operator/raft/transfer-leadership", s.raftTransferLeadership},
		{"POST /v1/operator/raft/transfer-leadership", s.raftTransferLeadership},
	}
	for _, r := range routes {
		s.mux.Handle(r.pattern, s.wrap(r.handler))
	}
	s.registerSnapshotRoutes()
	s.registerClientRoutes()
	s.registerACLRoutes()
	s.registerMetricsRoutes()
	s.registerDrainRoutes()
	s.registerKeyringRoutes()
	s.registerNamespaceRoutes()
	s.registerSystemRoutes()
	s.registerClientNodeRoutes()
	s.registerAgentDebugRoutes()
	s.mux.Handle("GET /v1/event/stream", http.HandlerFunc(s.eventStream))
}

// routeMux is the API's ServeMux, remembering every pattern registered on
// it, so that no route can be served without being listed by Routes (which
// the ACL rule test and the conformance tests enumerate). It offers no other
// way to register. Handle is called only before serving.
type routeMux struct {
	mux      *http.ServeMux
	patterns []string
}

func (m *routeMux) Handle(pattern string, h http.Handler) {
	m.patterns = append(m.patterns, pattern)
	m.mux.Handle(pattern, h)
}

func (m *routeMux) Handler(r *http.Request) (http.Handler, string) { return m.mux.Handler(r) }

func (m *routeMux) ServeHTTP(w http.ResponseWriter, r *http.Request) { m.mux.ServeHTTP(w, r) }

// Routes returns the patterns of every route, "METHOD /path/{id}", in the
// order they were registered. The caller owns the slice.
func (s *HTTPServer) Routes() []string { return slices.Clone(s.mux.patterns) }

// APIRoute is one route of the HTTP API, as APIRoutes lists it.
type APIRoute struct {
	// Pattern is the route's "METHOD /path/{id}".
	Pattern string
	// Open is true for the routes that need no token with ACLs on
	// (/v1/agent/health, /v1/status/leader, /v1/acl/bootstrap).
	Open bool
}

// APIRoutes returns every route of the HTTP API, as Routes of any
// HTTPServer would, without starting one, with whether ACLs leave it open:
// for the end-to-end tests that hold a running cluster to every route (a
// route added later is covered by them without a change). The caller owns
// the slice.
func APIRoutes() []APIRoute {
	s := &HTTPServer{mux: &routeMux{mux: http.NewServeMux()}}
	s.registerRoutes()
	routes := make([]APIRoute, 0, len(s.mux.patterns))
	for _, p := range s.mux.patterns {
		rule, declared := routeRules[p]
		routes = append(routes, APIRoute{Pattern: p, Open: declared && rule == nil})
	}
	return routes
}

// ServeHTTP logs the request, bounds its body, recovers a panic of its
// handler and routes it. Requests the mux cannot route get a plain-text 404
// or 405 that says what is wrong.
func (s *HTTPServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	defer func() {
		s.logger.Debug("http request", "method", r.Method, "path", r.URL.Path,
			"query", r.URL.RawQuery, "status", rec.status, "duration", time.Since(start), "request_id", r.Header.Get(HeaderRequestID))
	}()

	h, pattern := s.mux.Handler(r)
	defer s.metrics.track(pattern, rec)()
	if s.opts.Tracer.Enabled() {
		var end func()
		r, end = s.startTrace(rec, r, pattern)
		defer end()
	}
	defer s.recoverPanic(rec, r, pattern)
	s.limitBody(rec, r, pattern)
	if tok := requestToken(r); tok != "" {
		r = r.WithContext(withToken(r.Context(), tok))
	}
	if pattern != "" && !s.authorize(rec, r, pattern) {
		return
	}
	if pattern != "" {
		if err := checkQuery(pattern, r); err != nil {
			s.writeRawError(rec, r, err)
			return
		}
	}
	if pattern != "" {
		// ServeMux.ServeHTTP (not h) sets the request's path values.
		s.mux.ServeHTTP(rec, r)
		return
	}
	// Let the mux decide between 404, 405 and a redirect to a cleaned path,
	// then replace its body with ours.
	probe := &probeWriter{header: http.Header{}}
	h.ServeHTTP(probe, r)
	switch probe.status {
	case http.StatusNotFound:
		writeError(rec, http.StatusNotFound, fmt.Sprintf("no such endpoint: %s %s", r.Method, r.URL.Path))
	case http.StatusMethodNotAllowed:
		allow := probe.header.Get("Allow")
		rec.Header().Set("Allow", allow)
		writeError(rec, http.StatusMethodNotAllowed,
			fmt.Sprintf("method %s not allowed on %s (allowed: %s)", r.Method, r.URL.Path, allow))
	default:
		for k, v := range probe.header {
			rec.Header()[k] = v
		}
		rec.WriteHeader(probe.status)
	}
}

// recoverPanic, deferred by ServeHTTP, turns a panic of a handler into a 500
// whose body says it is an internal error, and a log line with the route, the
// panic and its stack; the agent goes on serving. When the response had
// already started, the connection is aborted instead, so that the client does
// not take a truncated answer for a whole one. http.ErrAbortHandler (a
// handler's deliberate abort) is left to net/http.
func (s *HTTPServer) recoverPanic(w *statusRecorder, r *http.Request, route string) {
	v := recover()
	if v == nil {
		return
	}
	if v == http.ErrAbortHandler {
		panic(v)
	}
	if route == "" {
		route = "(unrouted)"
	}
	s.logger.Error("http handler panicked", "route", route, "method", r.Method, "path", r.URL.Path,
		"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
	if w.wroteHeader {
		panic(http.ErrAbortHandler)
	}
	writeError(w, http.StatusInternalServerError,
		fmt.Sprintf("internal error: %s %s failed: %v (a bug in the agent; it is logged with its stack)", r.Method, r.URL.Path, v))
}

// limitBody bounds the request's body: at most s.limits.maxBody bytes (the
// snapshot upload has its own, larger bound), and no more than
// bodyReadTimeout without progress.
func (s *HTTPServer) limitBody(w http.ResponseWriter, r *http.Request, route string) {
	if r.Body == nil || r.Body == http.NoBody {
		return
	}
	limit := s.limits.maxBody
	if strings.HasSuffix(route, " /v1/operator/snapshot") {
		limit = maxSnapshotBody + 1 // the handler reports a larger one itself
	}
	b := &progressBody{
		body:    http.MaxBytesReader(w, r.Body, limit),
		w:       w,
		rc:      http.NewResponseController(w),
		timeout: s.limits.bodyReadTimeout,
	}
	// Also bounds what net/http discards of a body the handler did not read.
	_ = b.rc.SetReadDeadline(time.Now().Add(b.timeout))
	r.Body = b
}

// progressBody is a request body whose every read must return within
// timeout: it sets the connection's read deadline before each read and
// clears it once the body has been read whole, so that it never applies to
// net/http's own read of the idle connection while the handler runs (which
// cancels the request's context when it fails). A body that fails (too slow,
// too large, cut) leaves the deadline as it is and makes the response close
// the connection: net/http would otherwise try to read and discard the rest
// of the body after the handler, waiting on a client that sends nothing.
type progressBody struct {
	body    io.ReadCloser
	w       http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
}

func (b *progressBody) Read(p []byte) (int, error) {
	_ = b.rc.SetReadDeadline(time.Now().Add(b.timeout))
	n, err := b.body.Read(p)
	switch {
	case err == io.EOF:
		_ = b.rc.SetReadDeadline(time.Time{})
	case err != nil:
		b.w.Header().Set("Connection", "close")
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			err = fmt.Errorf("no data received for %s: %w", b.timeout, err)
		}
	}
	return n, err
}

func (b *progressBody) Close() error { return b.body.Close() }

// wrap turns an endpoint that returns a value or an error into a handler: the
// value is written as JSON, the error as text with its status code.
func (s *HTTPServer) wrap(fn func(*http.Request) (any, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		out, err := fn(r)
		if err != nil {
			s.writeRawError(w, r, err)
			return
		}
		code := http.StatusOK
		if m, ok := out.(withMeta); ok {
			setMeta(w.Header(), m.meta)
			out = m.body
		}
		if st, ok := out.(withStatus); ok {
			code, out = st.code, st.body
		}
		out = toWire(out)
		if out, err = applyListQuery(w, r, out); err != nil {
			s.writeRawError(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		enc := json.NewEncoder(w)
		if _, ok := r.URL.Query()["pretty"]; ok {
			enc.SetIndent("", "    ")
		}
		if err := enc.Encode(out); err != nil {
			s.logger.Warn("http response not written", "path", r.URL.Path, "error", err)
		}
	})
}

// withMeta is an endpoint's result that carries the QueryMeta of a read, for
// the response headers.
type withMeta struct {
	body any
	meta structs.QueryMeta
}

// withStatus is an endpoint's result answered with a status other than 200.
type withStatus struct {
	code int
	body any
}

// httpError is an error with the status code it answers with.
type httpError struct {
	code int
	msg  string
}

func (e *httpError) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return &httpError{code: http.StatusBadRequest, msg: fmt.Sprintf(format, args...)}
}

func notFound(format string, args ...any) error {
	return &httpError{code: http.StatusNotFound, msg: fmt.Sprintf(format, args...)}
}

// errorStatus maps an endpoint's error to a status code, the error's code
// (for the X-Orch-Error-Code header) and message; see the top of this file.
func errorStatus(err error) (int, structs.ErrorCode, string) {
	var he *httpError
	if errors.As(err, &he) {
		code := structs.CodeInvalid
		if he.code == http.StatusNotFound {
			code = structs.CodeNotFound
		}
		return he.code, code, he.msg
	}
	code := structs.CodeOf(err)
	return code.HTTPStatus(), code, err.Error()
}

// writeRawError answers err as text with its status code and, for a coded
// error, the X-Orch-Error-Code header (the HTTP layer's own 400s and 404s
// are sent as invalid and not_found).
func (s *HTTPServer) writeRawError(w http.ResponseWriter, r *http.Request, err error) {
	status, code, msg := errorStatus(err)
	if status == http.StatusInternalServerError {
		s.logger.Error("http request failed", "method", r.Method, "path", r.URL.Path, "error", err)
	}
	if code != "" {
		w.Header().Set(HeaderErrorCode, string(code))
	}
	writeError(w, status, msg)
}

// HTTP headers of the request-ID and error-code protocol (see the top of
// this file). The api package uses the same names.
const (
	HeaderRequestID    = "X-Orch-Request-ID"
	headerRequestIDAlt = "X-Request-ID"
	HeaderErrorCode    = "X-Orch-Error-Code"
)

// requestID is the write's request ID from its headers, or a fresh one.
func requestID(r *http.Request) string {
	for _, h := range []string{HeaderRequestID, headerRequestIDAlt} {
		if id := r.Header.Get(h); id != "" {
			return id
		}
	}
	return structs.GenerateUUID()
}

func writeError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	fmt.Fprintln(w, msg)
}

// parseQueryOptions reads the query parameters every read takes:
// ?index=N&wait=D (blocking query), ?stale, ?prefix=, ?region=, ?namespace=.
func parseQueryOptions(r *http.Request) (structs.QueryOptions, error) {
	q := r.URL.Query()
	opts := structs.QueryOptions{
		Region:       q.Get("region"),
		Namespace:    q.Get("namespace"),
		Prefix:       q.Get("prefix"),
		MaxQueryTime: defaultQueryWait,
	}
	if v := q.Get("index"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return opts, badRequest("invalid index %q: must be a non-negative integer", v)
		}
		opts.MinQueryIndex = n
	}
	if v := q.Get("wait"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return opts, badRequest("invalid wait %q: must be a non-negative duration such as 5s or 1m", v)
		}
		opts.MaxQueryTime = min(d, maxQueryWait)
	}
	if v, ok := q["stale"]; ok {
		opts.AllowStale = len(v) == 0 || (v[0] != "false" && v[0] != "0")
	}
	return opts, nil
}

// setMeta writes the QueryMeta of a read as response headers.
func setMeta(h http.Header, m structs.QueryMeta) {
	index := strconv.FormatUint(m.Index, 10)
	leader := strconv.FormatBool(m.KnownLeader)
	contact := strconv.FormatInt(m.LastContact.Milliseconds(), 10)
	h.Set(headerIndex, index)
	h.Set(nomadIndex, index)
	h.Set(headerKnownLeader, leader)
	h.Set(nomadKnownLeader, leader)
	h.Set(headerLastContact, contact)
	h.Set(nomadLastContact, contact)
}

// pathID returns the {id} path value, or a 400 when it is empty.
func pathID(r *http.Request, what string) (string, error) {
	id := r.PathValue("id")
	if strings.TrimSpace(id) == "" {
		return "", badRequest("missing %s ID in the path", what)
	}
	return id, nil
}

// statusRecorder remembers the status code written, for the request log, and
// whether the response has started, for recoverPanic.
type statusRecorder struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wroteHeader {
		r.status, r.wroteHeader = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	r.wroteHeader = true
	return r.ResponseWriter.Write(b)
}

// Unwrap gives http.ResponseController the connection's writer.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// probeWriter captures what the mux's own 404/405/redirect handler would write.
type probeWriter struct {
	header http.Header
	status int
}

func (p *probeWriter) Header() http.Header { return p.header }

func (p *probeWriter) Write(b []byte) (int, error) {
	if p.status == 0 {
		p.status = http.StatusOK
	}
	return len(b), nil
}

func (p *probeWriter) WriteHeader(code int) {
	if p.status == 0 {
		p.status = code
	}
}
