package server

import (
	"context"
	"time"

	"github.com/orch-io/orch/structs"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// Tracing in the server (internal/tracing has the span tree). The trace
// context travels in the context.Context within a call, in the request's
// TraceParent between servers (rpcwire.Call sets it from the context), and
// in the evaluation's TraceParent across Raft: raftApplyWrite stamps the
// evaluations of the entry it commits with its span, and the broker, the
// worker and the plan applier continue from there. Every span here is a
// child of an existing trace: only the HTTP API starts new ones, so the
// servers' own work (heartbeats, GC, leader loops) records nothing.

// startRPCSpan starts the span of one call of method name: a child of the
// caller's span in process, or of the TraceParent a forwarding server (or a
// client agent) sent. A call that belongs to no trace gets a span that
// records nothing.
func (d *dispatcher) startRPCSpan(ctx context.Context, name string, args any) (context.Context, trace.Span) {
	var (
		parent    string
		forwarded bool
		requestID string
	)
	if info, ok := args.(structs.RPCInfo); ok {
		parent, forwarded, requestID = info.GetTraceParent(), info.IsForwarded(), info.GetRequestID()
	}
	attrs := []attribute.KeyValue{attribute.String("rpc.method", name), attribute.Bool("orch.forwarded", forwarded)}
	if requestID != "" {
		attrs = append(attrs, attribute.String("orch.request_id", requestID))
	}
	if trace.SpanContextFromContext(ctx).IsValid() {
		parent = "" // in process: the caller's span is the parent
	}
	return d.tracer.StartFrom(ctx, parent, "rpc "+name, trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(attrs...))
}

// endSpan ends span, marking it failed with err when err is set.
func endSpan(span trace.Span, err error) {
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

// stampEvalTraces gives the evaluations an entry commits the trace context
// traceparent (those that have none), so that their scheduling continues
// the trace of the write that created them. Called before the entry is
// encoded; a no-op for "" and for entries without evaluations.
func stampEvalTraces(body any, traceparent string) {
	if traceparent == "" {
		return
	}
	var evals []*structs.Evaluation
	switch e := body.(type) {
	case *JobRegisterEntry:
		evals = []*structs.Evaluation{e.Eval}
	case *JobDeregisterEntry:
		evals = []*structs.Evaluation{e.Eval}
	case *AllocDesiredTransitionEntry:
		evals = e.Evals
	case *DeploymentUpdateEntry:
		evals = e.Evals
	case *EvalUpdateEntry:
		evals = e.Evals
	}
	for _, ev := range evals {
		if ev != nil && ev.TraceParent == "" {
			ev.TraceParent = traceparent
		}
	}
}

// traceBrokerWait records the time eval waited ready in the broker, ending
// now, as a span of the eval's trace (nothing when it has none). Called by
// the broker at dequeue (Config.ObserveWait).
func (s *Server) traceBrokerWait(eval *structs.Evaluation, wait time.Duration) {
	if !s.config.Tracer.Enabled() || eval.TraceParent == "" {
		return
	}
	now := time.Now()
	_, span := s.config.Tracer.StartFrom(context.Background(), eval.TraceParent, "broker wait",
		trace.WithTimestamp(now.Add(-wait)),
		trace.WithAttributes(attribute.String("orch.eval_id", eval.ID), attribute.String("orch.eval_type", string(eval.Type))))
	span.End(trace.WithTimestamp(now))
}

// stampPlanTraces carries the trace context of the worker's plan span onto
// the plan and the allocations it creates, for the plan applier's spans and
// the clients' (the allocation carries it to its node).
func stampPlanTraces(plan *structs.Plan, traceparent string) {
	if traceparent == "" {
		return
	}
	plan.TraceParent = traceparent
	for _, allocs := range plan.NodeAllocation {
		for _, a := range allocs {
			if a.TraceParent == "" && a.CreateIndex == 0 {
				a.TraceParent = traceparent
			}
		}
	}
}
