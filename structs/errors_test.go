package structs

import (
	"errors"
	"fmt"
	"net/rpc"
	"testing"
)

func TestErrorCodesSurviveTheWire(t *testing.T) {
	cause := errors.New("disk full")
	for _, err := range []error{
		NewError(CodeNotFound, "job %q not found", "web"),
		NewError(CodeInternal, "committing: %w", cause),
		fmt.Errorf("%w: this server is not the leader", ErrNoLeader),
	} {
		code := CodeOf(err)
		back := FromWire(WireText(err))
		if CodeOf(back) != code || back.Error() != err.Error() {
			t.Errorf("%q (code %s) came back as %q (code %s)", err, code, back, CodeOf(back))
		}
		// net/rpc hands the text over as an rpc.ServerError.
		if got := CodeOf(rpc.ServerError(WireText(err))); got != code {
			t.Errorf("CodeOf(rpc.ServerError of %q) = %s, want %s", err, got, code)
		}
	}
	if !errors.Is(NewError(CodeInternal, "committing: %w", cause), cause) {
		t.Error("NewError with %w does not wrap its cause")
	}
}

func TestSentinelsMatchByCode(t *testing.T) {
	err := FromWire(WireText(NewError(CodeConflict, "index moved")))
	if !errors.Is(err, ErrConflict) || errors.Is(err, ErrNotFound) {
		t.Errorf("errors.Is on a conflict from the wire: conflict %v, not found %v", errors.Is(err, ErrConflict), errors.Is(err, ErrNotFound))
	}
	if got := fmt.Errorf("%w: x", ErrNoLeader).Error(); got != "no cluster leader: x" {
		t.Errorf("a wrapped sentinel reads %q", got)
	}
	if !Retryable(fmt.Errorf("%w: x", ErrNoLeader)) || Retryable(ErrIndeterminate) {
		t.Error("only no_leader is retryable as it is")
	}
}

func TestUncodedErrorsAreInternal(t *testing.T) {
	if got := CodeOf(errors.New("boom")); got != CodeInternal {
		t.Errorf("CodeOf(plain) = %s", got)
	}
	// Text from an old peer, or a message that merely contains a code word.
	if got := CodeOf(rpc.ServerError("job not_found")); got != CodeInternal {
		t.Errorf("CodeOf(text without the wire prefix) = %s", got)
	}
	if CodeOf(nil) != "" {
		t.Error("CodeOf(nil) is not empty")
	}
	for code, status := range map[ErrorCode]int{CodeNotFound: 404, CodeInvalid: 400, CodeConflict: 409, CodePermissionDenied: 403, CodeNoLeader: 503, CodeIndeterminate: 503, CodeInternal: 500} {
		if code.HTTPStatus() != status {
			t.Errorf("%s.HTTPStatus() = %d, want %d", code, code.HTTPStatus(), status)
		}
	}
}
