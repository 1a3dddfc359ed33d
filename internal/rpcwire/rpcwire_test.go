package rpcwire

import (
	"context"
	"errors"
	"io"
	"net"
	"net/rpc"
	"runtime"
	"testing"
	"time"

	"github.com/hashicorp/go-msgpack/v2/codec"
	"github.com/hashicorp/yamux"
	"github.com/orch-io/orch/structs"
)

// Echo is the test's endpoint: Echo.Now answers at once, Echo.Never after the
// test ends (a server that stopped answering).
type Echo struct{ never chan struct{} }

func (e *Echo) Now(args string, reply *string) error { *reply = args; return nil }
func (e *Echo) Never(args string, reply *string) error {
	<-e.never
	return nil
}

// session returns the client side of a yamux session whose server side serves
// Echo with net/rpc over msgpack, one connection per stream, as a server does.
func session(tb testing.TB) *yamux.Session {
	tb.Helper()
	c, s := net.Pipe()
	cli, srv := pipeSessions(tb, c, s)
	echo := &Echo{never: make(chan struct{})}
	rs := rpc.NewServer()
	if err := rs.Register(echo); err != nil {
		tb.Fatal(err)
	}
	go func() {
		for {
			st, err := srv.Accept()
			if err != nil {
				return
			}
			go rs.ServeCodec(codec.MsgpackSpecRpc.ServerCodec(st, structs.MsgpackHandle))
		}
	}()
	tb.Cleanup(func() { close(echo.never); cli.Close(); srv.Close() })
	return cli
}

// A call whose server never answers returns when its context's deadline
// passes: the deadline wakes the read waiting for the reply.
func TestCall_DeadlineEndsAWaitForAReply(t *testing.T) {
	sess := session(t)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	var reply string
	done := make(chan error, 1)
	go func() { done <- Call(ctx, sess, "Echo.Never", "x", &reply) }()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, ErrSent) {
			t.Fatalf("Call = %v, want the deadline, the request sent", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("a call past its deadline is still waiting for its reply")
	}
	// The session still serves other calls.
	if err := Call(context.Background(), sess, "Echo.Now", "y", &reply); err != nil || reply != "y" {
		t.Fatalf("Call after a timed-out one = %q, %v", reply, err)
	}
}

// BenchmarkCall is one call with a deadline (every call has one) on a shared
// session. Each read that waits for the reply used to start a timer of its
// own (yamux arms one per blocked read of a stream with a deadline); the
// deadline is now armed once, by the context.
func BenchmarkCall(b *testing.B) {
	sess := session(b)
	b.ReportAllocs()
	for b.Loop() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		var reply string
		if err := Call(ctx, sess, "Echo.Now", "x", &reply); err != nil {
			b.Fatal(err)
		}
		cancel()
	}
}

// pipeSessions runs a yamux client session on c and a server session on s
// (the two ends of a pipe), quiet.
func pipeSessions(tb testing.TB, c, s net.Conn) (cli, srv *yamux.Session) {
	tb.Helper()
	cfg := yamux.DefaultConfig()
	cfg.LogOutput = io.Discard
	srv, err := yamux.Server(s, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	cli, err = yamux.Client(c, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return cli, srv
}

// unclosableConn ignores Close, so a yamux session over it cannot end its
// receive loop (as when that goroutine is starved): Session.Close then waits
// with the session marked shut down and its streams still open.
type unclosableConn struct{ net.Conn }

func (unclosableConn) Close() error { return nil }

// A call under way returns when its session closes, even while yamux's
// receive loop has not ended (without the pool's wake-up the call's read
// spins, finding the session shut down and its stream open, until it does).
func TestCall_SessionCloseWakesTheCallsUnderWay(t *testing.T) {
	c, s := net.Pipe()
	sess, srv := pipeSessions(t, unclosableConn{c}, s)
	closed := make(chan struct{})
	t.Cleanup(func() {
		c.Close() // the receive loop ends, and with it Session.Close
		<-closed
		srv.Close()
	})
	requested := make(chan struct{})
	go func() {
		st, err := srv.Accept()
		if err != nil {
			return
		}
		defer st.Close()
		// Read the whole request, never answer: the call is then in (or
		// on its way to) its read of the answer.
		cdc := codec.MsgpackSpecRpc.ServerCodec(st, structs.MsgpackHandle)
		var req rpc.Request
		if cdc.ReadRequestHeader(&req) == nil && cdc.ReadRequestBody(nil) == nil {
			close(requested)
		}
		_, _ = io.Copy(io.Discard, st)
	}()
	done := make(chan error, 1)
	go func() {
		var reply string
		done <- Call(t.Context(), sess, "Echo.Never", "x", &reply)
	}()
	<-requested
	go func() { sess.Close(); close(closed) }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("a call on a closed session succeeded")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a call under way did not return when its session closed")
	}
}

// A session's record of its calls is dropped when it closes.
func TestCall_ClosedSessionIsForgotten(t *testing.T) {
	sess := session(t)
	var reply string
	if err := Call(t.Context(), sess, "Echo.Now", "x", &reply); err != nil {
		t.Fatal(err)
	}
	if _, ok := sessions.Load(sess); !ok {
		t.Fatal("no record of the session after a call")
	}
	sess.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, ok := sessions.Load(sess); !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the closed session is still recorded after 10s")
		}
		runtime.Gosched()
	}
}
