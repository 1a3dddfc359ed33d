package server

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/yamux"
	"github.com/orch-io/orch/internal/rpcwire"
	"github.com/orch-io/orch/structs"
)

// testEndpoint has one method per behaviour the dispatcher must handle.
type testEndpoint struct {
	entered   chan struct{} // Block signals it runs
	cancelled chan struct{} // Block signals its ctx ended
}

func (e *testEndpoint) Echo(_ context.Context, args *structs.JobSpecificRequest, reply *structs.SingleJobResponse) error {
	reply.Job = &structs.Job{ID: args.JobID}
	return nil
}

func (e *testEndpoint) Panic(_ context.Context, args *structs.JobSpecificRequest, _ *structs.SingleJobResponse) error {
	panic("handler bug on " + args.JobID)
}

func (e *testEndpoint) Conflict(_ context.Context, _ *structs.JobSpecificRequest, _ *structs.SingleJobResponse) error {
	return structs.NewError(structs.CodeConflict, "job %q moved on", "web")
}

func (e *testEndpoint) Block(ctx context.Context, _ *structs.JobSpecificRequest, _ *structs.SingleJobResponse) error {
	close(e.entered)
	<-ctx.Done()
	close(e.cancelled)
	return ctx.Err()
}

// notAnEndpoint has the wrong shape (no context) and must be skipped.
func (e *testEndpoint) NotAnEndpoint(_ *structs.JobSpecificRequest, _ *structs.SingleJobResponse) error {
	return nil
}

// serveTestDispatcher serves d over a yamux session on a real loopback
// connection and returns the client side.
func serveTestDispatcher(t *testing.T, d *dispatcher) *yamux.Session {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		sess, err := yamux.Server(conn, nil)
		if err != nil {
			return
		}
		context.AfterFunc(ctx, func() { sess.Close() })
		for {
			stream, err := sess.Accept()
			if err != nil {
				return
			}
			go d.serveStream(ctx, stream)
		}
	}()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	sess, err := yamux.Client(conn, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sess.Close() })
	return sess
}

func newTestDispatcher(t *testing.T) (*dispatcher, *testEndpoint) {
	t.Helper()
	d := &dispatcher{logger: testLogger(), methods: map[string]*endpointMethod{}}
	e := &testEndpoint{entered: make(chan struct{}), cancelled: make(chan struct{})}
	if err := d.register("Test", e); err != nil {
		t.Fatal(err)
	}
	if _, ok := d.methods["Test.NotAnEndpoint"]; ok {
		t.Error("a method without a context was registered")
	}
	return d, e
}

func TestDispatch_InProcessAndNetworkAgree(t *testing.T) {
	d, _ := newTestDispatcher(t)
	sess := serveTestDispatcher(t, d)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	calls := map[string]func(method string, args, reply any) error{
		"in process": func(m string, a, r any) error { return d.inProcess(ctx, m, a, r) },
		"network":    func(m string, a, r any) error { return rpcwire.Call(ctx, sess, m, a, r) },
	}
	for name, call := range calls {
		var reply structs.SingleJobResponse
		if err := call("Test.Echo", &structs.JobSpecificRequest{JobID: "web"}, &reply); err != nil || reply.Job == nil || reply.Job.ID != "web" {
			t.Errorf("%s: Echo = %+v, %v", name, reply.Job, err)
		}

		// The code survives; the text is the message alone.
		err := call("Test.Conflict", &structs.JobSpecificRequest{}, &reply)
		if !errors.Is(err, structs.ErrConflict) || err.Error() != `job "web" moved on` || structs.CodeOf(err).HTTPStatus() != 409 {
			t.Errorf("%s: Conflict = %q (code %q), want a conflict with its message", name, err, structs.CodeOf(err))
		}

		// A panicking handler fails its request; the dispatcher goes on.
		err = call("Test.Panic", &structs.JobSpecificRequest{JobID: "x"}, &reply)
		if structs.CodeOf(err) != structs.CodeInternal || !strings.Contains(err.Error(), "Test.Panic") || !strings.Contains(err.Error(), "handler bug on x") {
			t.Errorf("%s: Panic = %v (code %q), want an internal error naming the method and the panic", name, err, structs.CodeOf(err))
		}
		if err := call("Test.Echo", &structs.JobSpecificRequest{JobID: "after"}, &reply); err != nil || reply.Job.ID != "after" {
			t.Errorf("%s: Echo after a panic = %+v, %v", name, reply.Job, err)
		}

		err = call("Test.Nope", &structs.JobSpecificRequest{}, &reply)
		if !errors.Is(err, structs.ErrInvalid) || !strings.Contains(err.Error(), `"Test.Nope"`) {
			t.Errorf("%s: unknown method = %v (code %q), want invalid naming it", name, err, structs.CodeOf(err))
		}
	}
}

// A caller that gives up (its context ends, so its stream closes) cancels
// the handler on the server: a blocking query or a held forward stops.
func TestDispatch_CallerHangUpCancelsTheHandler(t *testing.T) {
	d, e := newTestDispatcher(t)
	sess := serveTestDispatcher(t, d)
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() {
		errc <- rpcwire.Call(ctx, sess, "Test.Block", &structs.JobSpecificRequest{}, &structs.SingleJobResponse{})
	}()
	waitClosed(t, e.entered, "the handler to run")
	cancel()
	waitClosed(t, e.cancelled, "the handler's context to end after the caller hung up")
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) || !errors.Is(err, rpcwire.ErrSent) {
			t.Errorf("Call = %v, want context.Canceled marked as possibly received", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the call did not return after its context ended")
	}
}

func waitClosed(t *testing.T, ch chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}

// A server that stops answering altogether (paused: it neither replies nor
// reads) must not hold a caller whose context ends: the caller's read of the
// reply is woken, not left to wait for the peer.
func TestDispatch_CallerGivesUpOnAServerThatStopsAnswering(t *testing.T) {
	d, _ := newTestDispatcher(t)
	frozen := make(chan struct{})
	t.Cleanup(func() { close(frozen) })
	arrived := make(chan struct{})
	d.received = func(context.Context, string) { // ignores its ctx: a paused process
		close(arrived)
		<-frozen
	}
	sess := serveTestDispatcher(t, d)
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() {
		errc <- rpcwire.Call(ctx, sess, "Test.Echo", &structs.JobSpecificRequest{}, &structs.SingleJobResponse{})
	}()
	waitClosed(t, arrived, "the request to reach the server")
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Call = %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the call still waits for a server that does not answer, after its context ended")
	}
}
