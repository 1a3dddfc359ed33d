package structs

import (
	"errors"
	"fmt"
	"net/rpc"
	"strings"
)

// ErrorCode classifies an error that crosses the RPC boundary, so callers
// decide by code (retry, 404, re-register) and never by matching text.
type ErrorCode string

const (
	// CodeNotFound: the object named does not exist.
	CodeNotFound ErrorCode = "not_found"
	// CodePermissionDenied: the caller may not do this.
	CodePermissionDenied ErrorCode = "permission_denied"
	// CodeInvalid: the request is malformed or breaks a rule; retrying the same
	// request fails the same way.
	CodeInvalid ErrorCode = "invalid"
	// CodeConflict: a compare-and-set failed (check-index, a modify index).
	CodeConflict ErrorCode = "conflict"
	// CodeNoLeader: the request was not applied, because no server could act on
	// it now (no leader, leader unreachable before sending); safe to retry.
	CodeNoLeader ErrorCode = "no_leader"
	// CodeIndeterminate: the write may or may not have been applied (leadership
	// lost while committing, the leader stopped answering after the request was
	// sent). Retry only with the same request ID, which makes the retry return
	// the first outcome instead of applying twice.
	CodeIndeterminate ErrorCode = "indeterminate"
	// CodeInternal: a bug or an unexpected failure on the server (a recovered
	// panic, a state-store error).
	CodeInternal ErrorCode = "internal"
)

// Error is an error with a code. Its text is the message alone; the code
// travels beside it (see WireText and FromWire). Wrap causes with %w in
// NewError's format so errors.Is still sees them on the side that made it.
type Error struct {
	Code     ErrorCode
	Msg      string
	err      error // the wrapped cause, on the side that made it; nil after the wire
	sentinel bool  // one of the Err* values below: matches every error of its code
}

func (e *Error) Error() string { return e.Msg }
func (e *Error) Unwrap() error { return e.err }

// Is makes errors.Is(err, ErrNotFound) (any of the sentinels below) true for
// every error of the sentinel's code, whatever its message, on either side of
// the wire.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.sentinel && t.Code == e.Code
}

// NewError makes an error of code with a formatted message (%w wraps).
func NewError(code ErrorCode, format string, args ...any) error {
	cause := fmt.Errorf(format, args...)
	return &Error{Code: code, Msg: cause.Error(), err: errors.Unwrap(cause)}
}

// Sentinels for errors.Is: each matches every error of its code, on either
// side of the wire (errors.Is(err, structs.ErrNotFound)).
// They can also be wrapped: fmt.Errorf("%w: this server is not the leader",
// ErrNoLeader) has code no_leader.
var (
	ErrNotFound         = &Error{Code: CodeNotFound, Msg: "not found", sentinel: true}
	ErrPermissionDenied = &Error{Code: CodePermissionDenied, Msg: "permission denied", sentinel: true}
	ErrInvalid          = &Error{Code: CodeInvalid, Msg: "invalid request", sentinel: true}
	ErrConflict         = &Error{Code: CodeConflict, Msg: "conflict", sentinel: true}
	ErrNoLeader         = &Error{Code: CodeNoLeader, Msg: "no cluster leader", sentinel: true}
	ErrIndeterminate    = &Error{Code: CodeIndeterminate, Msg: "outcome unknown", sentinel: true}
	ErrInternal         = &Error{Code: CodeInternal, Msg: "internal error", sentinel: true}
)

// CodeOf returns err's code: the code of the first *Error in its chain, the
// code carried by an RPC error's text, or CodeInternal for any other error
// ("" for nil).
func CodeOf(err error) ErrorCode {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	var se rpc.ServerError
	if errors.As(err, &se) {
		return FromWire(string(se)).(*Error).Code
	}
	return CodeInternal
}

// Retryable reports whether err says the request was certainly not applied
// and may be sent again as it is.
func Retryable(err error) bool { return CodeOf(err) == CodeNoLeader }

// wirePrefix starts an error's text on the wire: "\x1e" + code + "\x1e" + msg.
// The record separator never appears in a message a user wrote into a form,
// so a message cannot forge a code.
const wireSep = "\x1e"

// WireText is the text an RPC server sends for err: its code and message.
func WireText(err error) string {
	var e *Error
	if !errors.As(err, &e) {
		e = &Error{Code: CodeInternal, Msg: err.Error()}
	}
	msg := err.Error()
	return wireSep + string(e.Code) + wireSep + msg
}

// FromWire turns the text of an RPC error back into an *Error. Text without
// a code (from a peer that predates codes) is CodeInternal.
func FromWire(text string) error {
	if rest, ok := strings.CutPrefix(text, wireSep); ok {
		if code, msg, ok := strings.Cut(rest, wireSep); ok {
			return &Error{Code: ErrorCode(code), Msg: msg}
		}
	}
	return &Error{Code: CodeInternal, Msg: text}
}

// HTTPStatus is the HTTP status the API answers for an error of code c: the
// one place where codes meet HTTP.
func (c ErrorCode) HTTPStatus() int {
	switch c {
	case CodeNotFound:
		return 404
	case CodePermissionDenied:
		return 403
	case CodeInvalid:
		return 400
	case CodeConflict:
		return 409
	case CodeNoLeader, CodeIndeterminate:
		return 503
	default:
		return 500
	}
}
