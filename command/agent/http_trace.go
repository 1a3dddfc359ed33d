package agent

import (
	"net/http"

	"github.com/orch-io/orch/internal/tracing"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// Tracing of the HTTP API (telemetry.otlp_endpoint). A request's span is the
// root of what the request causes on every server and client: it continues
// the caller's W3C traceparent header when there is one, and starts a new
// trace otherwise. A sampled trace's ID is answered in HeaderTraceID, so a
// caller (orch job run -verbose) can name the trace to look up.

const (
	// HeaderTraceParent is the W3C trace-context request header.
	HeaderTraceParent = "traceparent"
	// HeaderTraceID answers the trace ID of a sampled request.
	HeaderTraceID = "X-Orch-Trace-ID"
)

// startTrace starts the span of request r on route pattern ("" when no route
// matched) and returns r with the span in its context, and the function that
// ends the span once the response is written. Called by ServeHTTP only when
// tracing is on.
func (s *HTTPServer) startTrace(rec *statusRecorder, r *http.Request, pattern string) (*http.Request, func()) {
	name := pattern
	if name == "" {
		name = r.Method + " (no route)"
	}
	ctx := tracing.WithTraceParent(r.Context(), r.Header.Get(HeaderTraceParent))
	ctx, span := s.opts.Tracer.Start(ctx, "http "+name, trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String("http.request.method", r.Method), attribute.String("url.path", r.URL.Path),
			attribute.String("http.route", pattern)))
	if id := r.Header.Get(HeaderRequestID); id != "" {
		span.SetAttributes(attribute.String("orch.request_id", id))
	}
	if id := tracing.SampledTraceID(ctx); id != "" {
		rec.Header().Set(HeaderTraceID, id)
	}
	return r.WithContext(ctx), func() {
		span.SetAttributes(attribute.Int("http.response.status_code", rec.status))
		if rec.status >= 500 {
			span.SetStatus(codes.Error, http.StatusText(rec.status))
		}
		span.End()
	}
}
