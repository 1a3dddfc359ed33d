package server

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/raft"
	"github.com/orch-io/orch/internal/tracing"
	"github.com/orch-io/orch/server/state"
	"github.com/orch-io/orch/structs"
	"go.opentelemetry.io/otel/trace"
)

// Committing writes, and what a caller may conclude when that fails.
//
// A write either certainly did not reach the log (CodeNoLeader: safe to send
// again as it is) or may have been committed (CodeIndeterminate: send again
// only with the same request ID, which makes the retry answer the first
// outcome instead of applying twice). raftApplyWrite is the path of every
// write a client retries: it wraps the entry in a WriteEntry, so that the FSM
// applies it at most once per request ID.

// classifyApplyError turns the error of a raft apply future into a coded
// error. The entry never reached the log when raft refused to enqueue it (not
// the leader, a leadership transfer, an enqueue timeout) or dropped it before
// the leader dispatched it (its future has no index); a snapshot restore
// also discards it. Anything else — leadership lost after the entry was
// dispatched, raft shut down with the entry in flight — may have committed.
func classifyApplyError(t MessageType, f raft.ApplyFuture, err error) error {
	switch {
	case errors.Is(err, raft.ErrNotLeader), errors.Is(err, raft.ErrLeadershipTransferInProgress),
		errors.Is(err, raft.ErrEnqueueTimeout), errors.Is(err, raft.ErrAbortedByRestore),
		f.Index() == 0:
		return structs.NewError(structs.CodeNoLeader, "%w: %s entry not committed: %v", structs.ErrNoLeader, t, err)
	}
	return structs.NewError(structs.CodeIndeterminate,
		"%s entry may or may not have been committed (%w); retrying is safe only with the same request ID", t, err)
}

// errNotLeader is the error of a write that reached a server that is not the
// leader.
func errNotLeader() error {
	return structs.NewError(structs.CodeNoLeader, "%w: this server is not the leader", structs.ErrNoLeader)
}

// waitApplied waits for f and classifies its error (classifyApplyError).
// When ctx ends first the outcome is unknown: the entry was handed to raft.
func waitApplied(ctx context.Context, t MessageType, f raft.ApplyFuture) error {
	if ctx.Done() == nil {
		if err := f.Error(); err != nil {
			return classifyApplyError(t, f, err)
		}
		return nil
	}
	done := make(chan error, 1)
	go func() { done <- f.Error() }()
	select {
	case err := <-done:
		if err != nil {
			return classifyApplyError(t, f, err)
		}
		return nil
	case <-ctx.Done():
		return structs.NewError(structs.CodeIndeterminate,
			"%s entry handed to raft, outcome unknown: %w; retrying is safe only with the same request ID", t, ctx.Err())
	}
}

// MaxRequestIDLen bounds a request ID (a UUID is 36 bytes): the window
// keeps each one in the replicated state.
const MaxRequestIDLen = 128

// recordedOutcome returns the outcome of the write of type t with this
// request ID when the request window holds it (nil, nil when not; and
// always for ""): then the write must not be applied again, and the caller
// answers with the outcome and its error. A request ID the window holds for a
// write of another type, or longer than MaxRequestIDLen, is a CodeInvalid
// error.
//
// Endpoints call it before the checks that a retry of a write that applied
// would fail (the job is gone, its index moved), so that the retry gets the
// first outcome instead.
func (s *Server) recordedOutcome(t MessageType, requestID string) (*state.RequestOutcome, error) {
	if requestID == "" {
		return nil, nil
	}
	if len(requestID) > MaxRequestIDLen {
		return nil, structs.NewError(structs.CodeInvalid, "request ID %.16q...: %d bytes: must be at most %d", requestID, len(requestID), MaxRequestIDLen)
	}
	o := s.state.RequestByID(requestID)
	switch {
	case o == nil:
		return nil, nil
	case o.Type != uint8(t):
		return nil, errRequestReused(o)
	}
	return o, o.Err()
}

// errRequestReused is the error of a write whose request ID the window holds
// for a write of another type.
func errRequestReused(first *state.RequestOutcome) error {
	return structs.NewError(structs.CodeInvalid,
		"request ID %q was already used, for a %s write at index %d: a request ID names one logical write",
		first.ID, MessageType(first.Type), first.Index)
}

// raftApplyWrite commits the entry (t, body) of a write a client asked for,
// at most once per requestID ("" for no deduplication), and returns its
// outcome: the reply fields the FSM recorded (state.RequestOutcome; shared
// with the state store, never modify it) and the error the FSM refused the
// write with, if any. A requestID already in the request window is answered
// from the state without a new entry; one the window learns while this
// entry is in flight is answered by the FSM.
//
// While some server of the cluster may not read Write entries (a rolling
// upgrade), the entry is written bare: no deduplication, no compare-and-set
// in the FSM (JobRegisterEntry.EnforceIndex), and an outcome with only Index
// set; the caller fills the reply as it did before request IDs.
//
// Call on the leader (after forward), from any goroutine.
func (s *Server) raftApplyWrite(ctx context.Context, t MessageType, body any, requestID string) (out *state.RequestOutcome, err error) {
	if o, err := s.recordedOutcome(t, requestID); o != nil || err != nil {
		return o, err
	}
	if s.config.Tracer.Enabled() {
		var span trace.Span
		ctx, span = s.config.Tracer.StartFrom(ctx, "", "raft apply "+t.String())
		defer func() { endSpan(span, err) }()
		stampEvalTraces(body, tracing.TraceParent(ctx))
	}
	// The inner type is gated as a bare entry of it would be.
	if err := s.checkEntryVersion(t); err != nil {
		return nil, err
	}
	if err := s.checkEntryVersion(MsgWrite); err != nil {
		index, err := s.raftApply(t, body)
		return &state.RequestOutcome{ID: requestID, Type: uint8(t), Index: index}, err
	}
	inner, err := structs.Encode(body)
	if err != nil {
		return nil, fmt.Errorf("server: encoding %s entry: %w", t, err)
	}
	defer since(s.metrics.raftCommit, time.Now(), t.String())
	f, err := s.raftApplyAsync(MsgWrite, &WriteEntry{RequestID: requestID, Time: time.Now().UnixNano(), Type: t, Body: inner})
	if err != nil {
		return nil, err
	}
	if err := waitApplied(ctx, t, f); err != nil {
		return nil, err
	}
	switch resp := f.Response().(type) {
	case *state.RequestOutcome:
		return resp, resp.Err()
	case error:
		return nil, resp // the Write entry itself could not be applied
	default:
		return nil, structs.NewError(structs.CodeInternal, "server: %s entry at index %d: unexpected FSM response %T", t, f.Index(), resp)
	}
}
