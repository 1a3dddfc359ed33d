package rpcwire

import (
	"context"
	"errors"
	"io"
	"net"
	"net/rpc"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-msgpack/v2/codec"
	"github.com/hashicorp/yamux"
	"github.com/orch-io/orch/structs"
)

// Echo is the test's endpoint: Echo.Now answers at once, Echo.Never after the
// test ends (a server that stopped answering).
type Echo struct{ never chan struct{} }

func (e *Echo) Now(args string, reply *string) error  { *reply = args; return nil }
func (e *Echo) Fail(args string, reply *string) error { return errors.New("failed: " + args) }
func (e *Echo) Never(args string, reply *string) error {
	<-e.never
	return nil
}

// session returns the client side of a yamux session whose server side serves
// Echo with net/rpc over msgpack, one connection per stream, as a server does.
func session(tb testing.TB) *yamux.Session {
	tb.Helper()
	sess, _ := countingSession(tb)
	return sess
}

// countingSession is session, with the count of streams the server accepted.
func countingSession(tb testing.TB) (*yamux.Session, *atomic.Int32) {
	tb.Helper()
	var accepted atomic.Int32
	c, s := net.Pipe()
	cfg := yamux.DefaultConfig()
	cfg.LogOutput = io.Discard
	srv, err := yamux.Server(s, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	cli, err := yamux.Client(c, cfg)
	if err != nil {
		tb.Fatal(err)
	}
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
			accepted.Add(1)
			go rs.ServeCodec(codec.MsgpackSpecRpc.ServerCodec(st, structs.MsgpackHandle))
		}
	}()
	tb.Cleanup(func() { close(echo.never); cli.Close(); srv.Close() })
	return cli, &accepted
}

// Calls one after another share one stream, answers and endpoint errors
// alike; a call cancelled while it waits closes its stream, and the next
// call opens another.
func TestCall_ReusesStreams(t *testing.T) {
	sess, accepted := countingSession(t)
	var reply string
	for i := range 5 {
		if err := Call(t.Context(), sess, "Echo.Now", "x", &reply); err != nil || reply != "x" {
			t.Fatalf("call %d = %q, %v", i, reply, err)
		}
		if err := Call(t.Context(), sess, "Echo.Fail", "y", &reply); err == nil || !strings.Contains(err.Error(), "failed: y") {
			t.Fatalf("failing call %d = %v", i, err)
		}
	}
	if n := accepted.Load(); n != 1 {
		t.Fatalf("the server accepted %d streams for 10 calls made one after another, want 1", n)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if err := Call(ctx, sess, "Echo.Never", "z", &reply); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Call past its deadline = %v", err)
	}
	if err := Call(t.Context(), sess, "Echo.Now", "w", &reply); err != nil || reply != "w" {
		t.Fatalf("call after a cancelled one = %q, %v", reply, err)
	}
	if n := accepted.Load(); n != 2 {
		t.Fatalf("the server accepted %d streams, want 2: the cancelled call's stream must not be reused", n)
	}
}

// A session's idle streams are dropped when it closes, and a call on a
// closed session fails without writing anything.
func TestCall_ClosedSessionDropsItsStreams(t *testing.T) {
	sess := session(t)
	var reply string
	if err := Call(t.Context(), sess, "Echo.Now", "x", &reply); err != nil {
		t.Fatal(err)
	}
	if _, ok := pools.Load(sess); !ok {
		t.Fatal("no idle stream kept after a call")
	}
	sess.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, ok := pools.Load(sess); !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the closed session's pool is still kept after 10s")
		}
		runtime.Gosched()
	}
	if err := Call(t.Context(), sess, "Echo.Now", "x", &reply); err == nil || errors.Is(err, ErrSent) {
		t.Fatalf("Call on a closed session = %v, want an error without ErrSent", err)
	}
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
