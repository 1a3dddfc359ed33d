// Package tracing is orch's OpenTelemetry tracing: one Tracer per agent,
// exporting spans over OTLP/HTTP when telemetry { otlp_endpoint } is set,
// and the W3C trace context (a "traceparent" string) that carries a trace
// across what is not a Go call: an HTTP request (its traceparent header), a
// forwarded RPC (structs.WriteRequest/QueryOptions.TraceParent), a Raft
// entry (structs.Evaluation.TraceParent, then Plan and Allocation), and so
// to the client that starts the task.
//
// A nil *Tracer is tracing off: Start returns its context unchanged and a
// span that records nothing, without allocating, so instrumented code pays
// one nil check when tracing is off. The span tree of one `orch job run`:
//
//	http PUT /v1/jobs                 (command/agent)
//	└ rpc Job.Register                (server/dispatch.go; local or forwarded)
//	  └ raft apply JobRegister        (server/raft_apply.go; the eval's traceparent)
//	    ├ broker wait                 (enqueue to dequeue)
//	    └ scheduler eval              (server/worker.go)
//	      └ plan submit               (the worker's wait for the applier)
//	        └ plan apply              (verify, commit; the allocations' traceparent)
//	          └ client alloc run      (client/allocrunner)
//	            └ task start          (the driver's Start)
package tracing
