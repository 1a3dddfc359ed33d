package agent

import (
	"crypto/tls"
	"net/http"
	"strconv"
	"time"

	"github.com/orch-io/orch/internal/metrics"
	"github.com/orch-io/orch/internal/tracing"
	"github.com/prometheus/client_golang/prometheus"
)

// HTTPOptions are the agent's settings the HTTP API serves by.
type HTTPOptions struct {
	// Metrics is the agent's registry: the API's own series are defined in
	// it and /v1/metrics serves it. Nil: a registry of the API's own.
	Metrics *metrics.Registry
	// PrometheusMetrics serves /v1/metrics?format=prometheus
	// (telemetry.prometheus_metrics); without it that answers 400, as in
	// Nomad. The JSON shape is always served.
	PrometheusMetrics bool
	// ACL makes the server authorize every request (http_acl.go), caching
	// resolved tokens for ACLTokenTTL.
	ACL         bool
	ACLTokenTTL time.Duration
	// TLS, when set, serves HTTPS with it (tls { http = true }).
	TLS *tls.Config
	// EnableDebug serves /v1/agent/pprof/ (enable_debug) without ACLs; with
	// ACL set it is served to agent:write tokens either way.
	EnableDebug bool
	// AgentName names the agent in answers.
	AgentName string
	// Tracer, when set (telemetry.otlp_endpoint), records a span per
	// request (http_trace.go); nil is tracing off.
	Tracer *tracing.Tracer
}

// httpMetrics are the API's series: requests per route pattern (the mux's,
// "GET /v1/job/{id}", so IDs do not make series) and status code, their
// latency, the 5xx among them, and the requests in flight.
type httpMetrics struct {
	duration *prometheus.HistogramVec
	requests *prometheus.CounterVec
	errors   *prometheus.CounterVec
	inFlight *prometheus.GaugeVec
}

func newHTTPMetrics(r *metrics.Registry) *httpMetrics {
	return &httpMetrics{
		duration: r.Histogram("orch_http_request_duration_seconds",
			"Time to answer an HTTP API request, by route pattern (blocking queries wait up to their ?wait).", "route"),
		requests: r.Counter("orch_http_requests_total",
			"HTTP API requests answered, by route pattern and status code.", "route", "code"),
		errors: r.Counter("orch_http_errors_total",
			"HTTP API requests answered with a 5xx status, by route pattern and status code.", "route", "code"),
		inFlight: r.Gauge("orch_http_requests_in_flight",
			"HTTP API requests being served, by route pattern.", "route"),
	}
}

// track counts a request to route as in flight; the returned func, deferred
// by ServeHTTP, records its outcome from rec.
func (m *httpMetrics) track(route string, rec *statusRecorder) func() {
	if route == "" {
		route = "unrouted"
	}
	start := time.Now()
	g := m.inFlight.WithLabelValues(route)
	g.Inc()
	return func() {
		g.Dec()
		code := strconv.Itoa(rec.status)
		m.duration.WithLabelValues(route).Observe(time.Since(start).Seconds())
		m.requests.WithLabelValues(route, code).Inc()
		if rec.status >= 500 {
			m.errors.WithLabelValues(route, code).Inc()
		}
	}
}

//go:generate go test -run TestMetricsDoc -update-metrics-doc

// registerMetricsRoutes adds GET /v1/metrics: Nomad's JSON shape, or
// Prometheus' exposition with ?format=prometheus (protobuf with native
// histograms when the scraper asks for it, text otherwise).
func (s *HTTPServer) registerMetricsRoutes() {
	s.mux.Handle("GET /v1/metrics", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("format") == "prometheus" {
			if !s.opts.PrometheusMetrics {
				writeError(w, http.StatusBadRequest, "format=prometheus: Prometheus metrics are disabled: set telemetry { prometheus_metrics = true } in the agent's configuration")
				return
			}
			s.opts.Metrics.Handler().ServeHTTP(w, r)
			return
		}
		s.wrap(func(*http.Request) (any, error) { return s.opts.Metrics.Summarize(time.Now()) }).ServeHTTP(w, r)
	}))
}
