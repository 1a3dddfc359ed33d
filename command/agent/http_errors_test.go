package agent

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/rpc"
	"testing"

	"github.com/orch-io/orch/structs"
)

func TestErrorStatusAndCode(t *testing.T) {
	for _, tc := range []struct {
		name   string
		err    error
		status int
		code   structs.ErrorCode
	}{
		{"coded conflict", structs.NewError(structs.CodeConflict, "index moved"), 409, structs.CodeConflict},
		{"coded indeterminate", structs.NewError(structs.CodeIndeterminate, "leadership lost"), 503, structs.CodeIndeterminate},
		{"coded no leader", structs.NewError(structs.CodeNoLeader, "no leader"), 503, structs.CodeNoLeader},
		{"coded not found, text without the marker", structs.NewError(structs.CodeNotFound, "gone"), 404, structs.CodeNotFound},
		{"wire text keeps its code", rpc.ServerError(structs.WireText(structs.NewError(structs.CodeIndeterminate, "leadership lost"))), 503, structs.CodeIndeterminate},
		{"layer's own bad request", badRequest("bad"), 400, structs.CodeInvalid},
		{"anything else", errors.New("boom"), 500, structs.CodeInternal},
	} {
		status, code, _ := errorStatus(tc.err)
		if status != tc.status || code != tc.code {
			t.Errorf("%s: status %d, code %q; want %d, %q", tc.name, status, code, tc.status, tc.code)
		}
	}
}

func TestWriteRequestCarriesTheRequestID(t *testing.T) {
	r := httptest.NewRequest(http.MethodPut, "/v1/jobs", nil)
	r.Header.Set(HeaderRequestID, "rid-1")
	if got := writeRequest(r).RequestID; got != "rid-1" {
		t.Errorf("RequestID = %q, want the header's rid-1", got)
	}
	r = httptest.NewRequest(http.MethodPut, "/v1/jobs", nil)
	r.Header.Set("X-Request-ID", "rid-2")
	if got := writeRequest(r).RequestID; got != "rid-2" {
		t.Errorf("RequestID = %q, want X-Request-ID's rid-2", got)
	}
	r = httptest.NewRequest(http.MethodPut, "/v1/jobs", nil)
	a, b := writeRequest(r).RequestID, writeRequest(r).RequestID
	if a == "" || a == b {
		t.Errorf("without a header: IDs %q and %q, want a fresh one each time", a, b)
	}
}
