package tracing

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Config says where a Tracer exports and how its spans are named.
type Config struct {
	// Endpoint is the OTLP/HTTP collector, host:port (telemetry.otlp_endpoint);
	// spans are POSTed to http://Endpoint/v1/traces.
	Endpoint string
	// ServiceName is the resource's service.name ("orch").
	ServiceName string
	// InstanceID is the resource's service.instance.id: the agent's name, so
	// that a trace shows which agent each span comes from.
	InstanceID string
	// BatchTimeout is how long a span may wait in the batch before it is
	// exported (0: one second).
	BatchTimeout time.Duration
}

// ValidateEndpoint checks an otlp_endpoint value: host:port with a port in
// 1..65535. field names it in the error.
func ValidateEndpoint(field, endpoint string) error {
	if strings.Contains(endpoint, "://") {
		return fmt.Errorf("%s = %q: must be host:port, without a scheme (an OTLP/HTTP collector, such as localhost:4318)", field, endpoint)
	}
	host, port, err := net.SplitHostPort(endpoint)
	if err != nil {
		return fmt.Errorf("%s = %q: must be host:port (an OTLP/HTTP collector, such as localhost:4318): %v", field, endpoint, err)
	}
	if host == "" {
		return fmt.Errorf("%s = %q: must be host:port: the host is empty", field, endpoint)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("%s = %q: port %q must be a number between 1 and 65535", field, endpoint, port)
	}
	return nil
}

// Tracer starts spans. A nil *Tracer is tracing off. Safe for concurrent use.
type Tracer struct {
	tracer   trace.Tracer
	provider *sdktrace.TracerProvider
}

// New returns a Tracer that exports to cfg.Endpoint. It does not connect:
// an unreachable collector costs dropped spans (logged by the SDK), never a
// failed request. Call Shutdown to flush.
func New(cfg Config) (*Tracer, error) {
	if err := ValidateEndpoint("otlp_endpoint", cfg.Endpoint); err != nil {
		return nil, err
	}
	exp, err := otlptracehttp.New(context.Background(),
		otlptracehttp.WithEndpoint(cfg.Endpoint), otlptracehttp.WithInsecure())
	if err != nil {
		return nil, fmt.Errorf("tracing: OTLP exporter for %s: %w", cfg.Endpoint, err)
	}
	if cfg.ServiceName == "" {
		cfg.ServiceName = "orch"
	}
	if cfg.BatchTimeout <= 0 {
		cfg.BatchTimeout = time.Second
	}
	attrs := []attribute.KeyValue{attribute.String("service.name", cfg.ServiceName)}
	if cfg.InstanceID != "" {
		attrs = append(attrs, attribute.String("service.instance.id", cfg.InstanceID))
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp, sdktrace.WithBatchTimeout(cfg.BatchTimeout)),
		sdktrace.WithResource(resource.NewSchemaless(attrs...)),
		// A caller's unsampled traceparent is obeyed; without one every
		// request starts a sampled trace.
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.AlwaysSample())),
	)
	return &Tracer{tracer: tp.Tracer("github.com/orch-io/orch"), provider: tp}, nil
}

// Shutdown exports the spans still batched and stops the exporter, up to ctx.
// Nil-safe.
func (t *Tracer) Shutdown(ctx context.Context) error {
	if t == nil {
		return nil
	}
	return t.provider.Shutdown(ctx)
}

// Enabled reports whether spans are recorded at all (nil: no).
func (t *Tracer) Enabled() bool { return t != nil }

// noopSpan is what Start returns when tracing is off.
var noopSpan trace.Span = noop.Span{}

// Start starts a span named name, a child of ctx's span (or of the remote
// parent WithTraceParent put there; a new trace when there is none). With
// tracing off it returns ctx and a span that records nothing. The caller
// ends the span.
func (t *Tracer) Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	if t == nil {
		return ctx, noopSpan
	}
	return t.tracer.Start(ctx, name, opts...)
}

// StartFrom starts a span that continues an existing trace only: under the
// remote parent traceparent (as carried by a Raft-applied object) when it is
// set, else under ctx's span. With tracing off, or no valid parent, it
// returns ctx and a span that records nothing: work that no traced request
// asked for (heartbeats, the leader's loops) starts no trace.
func (t *Tracer) StartFrom(ctx context.Context, traceparent, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	if t == nil {
		return ctx, noopSpan
	}
	pctx := WithTraceParent(ctx, traceparent)
	if !trace.SpanContextFromContext(pctx).IsValid() {
		return ctx, noopSpan
	}
	return t.tracer.Start(pctx, name, opts...)
}

// propagator is the W3C trace-context format of traceparent strings.
var propagator = propagation.TraceContext{}

// traceparentCarrier is a TextMapCarrier of the one header traceparent
// strings are; it avoids a map per call.
type traceparentCarrier struct{ value string }

const traceparentHeader = "traceparent"

func (c *traceparentCarrier) Get(key string) string {
	if key == traceparentHeader {
		return c.value
	}
	return ""
}

func (c *traceparentCarrier) Set(key, value string) {
	if key == traceparentHeader {
		c.value = value
	}
}

func (c *traceparentCarrier) Keys() []string { return []string{traceparentHeader} }

// TraceParent is the W3C traceparent of ctx's span, "" when ctx has none
// (always so with tracing off).
func TraceParent(ctx context.Context) string {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return ""
	}
	var c traceparentCarrier
	propagator.Inject(ctx, &c)
	return c.value
}

// WithTraceParent returns ctx with the remote span context traceparent
// names as the parent of the spans started from it; ctx itself when
// traceparent is empty or malformed (a bad header starts a new trace, it
// never fails a request).
func WithTraceParent(ctx context.Context, traceparent string) context.Context {
	if traceparent == "" {
		return ctx
	}
	return propagator.Extract(ctx, &traceparentCarrier{value: traceparent})
}

// SampledTraceID is the trace ID of ctx's span when it is sampled (its spans
// are exported), "" otherwise.
func SampledTraceID(ctx context.Context) string {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() || !sc.IsSampled() {
		return ""
	}
	return sc.TraceID().String()
}

// errBadTraceParent is the error of TraceIDOf.
var errBadTraceParent = errors.New("tracing: not a W3C traceparent (00-<32 hex trace ID>-<16 hex span ID>-<2 hex flags>)")

// TraceIDOf returns the trace ID of a W3C traceparent.
func TraceIDOf(traceparent string) (string, error) {
	sc := trace.SpanContextFromContext(WithTraceParent(context.Background(), traceparent))
	if !sc.IsValid() {
		return "", fmt.Errorf("%w: %q", errBadTraceParent, traceparent)
	}
	return sc.TraceID().String(), nil
}
