// Package rpcwire is the calling side of orch's RPC protocol, shared by the
// client agent (reaching servers) and the servers (forwarding to the leader):
// a TCP connection to the RPC port opened with the multiplex byte (inside
// TLS when the cluster uses it: DialConn), one yamux
// session over it, and one msgpack net/rpc call per yamux stream. The serving
// side is server/rpc.go.
//
// Cancellation crosses the wire by closing the call's stream: when the
// caller's context ends, Call closes the stream, and the server, which reads
// the stream for the rest of the call, cancels the handler's context.
package rpcwire

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/rpc"
	"sync"
	"time"

	"github.com/hashicorp/go-msgpack/v2/codec"
	"github.com/hashicorp/yamux"
	"github.com/orch-io/orch/internal/tracing"
	"github.com/orch-io/orch/structs"
)

// Dial opens a multiplexed RPC session to addr (host:port of an RPC port),
// inside TLS when tlsCfg is not nil (DialConn). ctx bounds the connect, the
// handshake and the protocol bytes.
func Dial(ctx context.Context, addr string, cfg *yamux.Config, tlsCfg *tls.Config) (*yamux.Session, error) {
	conn, err := DialConn(ctx, addr, structs.RPCTypeMultiplex, tlsCfg)
	if err != nil {
		return nil, err
	}
	framed := JoinFrames(conn)
	s, err := yamux.Client(framed, cfg)
	if err != nil {
		framed.Close() // its writer goroutine too
		return nil, fmt.Errorf("%s: %w", addr, err)
	}
	return s, nil
}

// DialConn connects to the RPC port at addr for what inner says
// (structs.RPCTypeRaft or RPCTypeMultiplex). Without tlsCfg the connection
// starts with inner; with it, with structs.RPCTypeTLS, then a TLS handshake
// (tlsCfg, from tlsutil.Store.OutgoingRPC), then inner inside. ctx bounds
// all of it; the returned connection has no deadline.
func DialConn(ctx context.Context, addr string, inner byte, tlsCfg *tls.Config) (net.Conn, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		err = conn.SetDeadline(dl)
	}
	if err == nil && tlsCfg != nil {
		if _, err = conn.Write([]byte{structs.RPCTypeTLS}); err == nil {
			tconn := tls.Client(conn, tlsCfg)
			if err = tconn.HandshakeContext(ctx); err != nil {
				err = fmt.Errorf("TLS handshake: %w", err)
			}
			conn = tconn
		}
	}
	if err == nil {
		_, err = conn.Write([]byte{inner})
	}
	if err == nil {
		err = conn.SetDeadline(time.Time{})
	}
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("%s: %w", addr, err)
	}
	return conn, nil
}

// ErrSent wraps the error of a call that failed once its stream was open:
// the request may have reached the server, which may have acted on it.
var ErrSent = errors.New("the request may have been received")

// Call makes one call of method ("Job.Register") on a new stream of sess,
// and closes the stream. An error the endpoint returned comes back as a
// *structs.Error with its code. Any other error is the transport's (or ctx's,
// wrapped); it wraps ErrSent when the request had been written by then.
//
// When ctx carries a trace span (internal/tracing) and args is a
// structs.Traced request, args' TraceParent is set to it, so that the
// callee's spans join the caller's trace.
func Call(ctx context.Context, sess *yamux.Session, method string, args, reply any) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if t, ok := args.(structs.Traced); ok {
		if tp := tracing.TraceParent(ctx); tp != "" {
			t.SetTraceParent(tp)
		}
	}
	stream, err := OpenSessionStream(ctx, sess)
	if err != nil {
		return err
	}
	calls := callsOf(sess)
	calls.Add(stream)
	defer calls.Remove(stream)
	// Closing a yamux stream only half-closes it (FIN): a read waiting for
	// a reply from a peer that stopped answering would go on waiting. A
	// deadline in the past wakes it; the FIN tells the server to cancel.
	// ctx's deadline ends the call the same way (ctx is done then), so the
	// stream gets no deadline of its own: yamux starts a timer for every
	// read that waits on a stream with a deadline, which cost a follower
	// forwarding the nodes' calls a sixth of its CPU.
	stop := context.AfterFunc(ctx, func() {
		_ = stream.SetDeadline(time.Unix(1, 0))
		stream.Close()
	})
	defer stop()
	err = roundTrip(stream, method, args, reply)
	var se rpc.ServerError
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		// Whatever came back (a closed stream, or the server's answer to the
		// cancellation), the caller gave up first.
		return fmt.Errorf("%w (%w)", ctx.Err(), ErrSent)
	case errors.As(err, &se):
		return structs.FromWire(string(se))
	default:
		return fmt.Errorf("%w (%w)", err, ErrSent)
	}
}

// roundTrip writes one request on stream, reads its answer into reply and
// closes the stream. It drives the codec itself, in the caller's goroutine:
// a net/rpc.Client would start a reading goroutine for each call. The
// endpoint's error comes back as an rpc.ServerError.
func roundTrip(stream io.ReadWriteCloser, method string, args, reply any) error {
	bc := NewBufConn(stream)
	cc := codec.MsgpackSpecRpc.ClientCodec(bc, structs.MsgpackHandle)
	defer bc.Release()
	defer cc.Close() // closes the stream
	if err := cc.WriteRequest(&rpc.Request{ServiceMethod: method, Seq: 1}, args); err != nil {
		return err
	}
	var resp rpc.Response
	if err := cc.ReadResponseHeader(&resp); err != nil {
		return err
	}
	if resp.Error != "" {
		_ = cc.ReadResponseBody(nil)
		return rpc.ServerError(resp.Error)
	}
	return cc.ReadResponseBody(reply)
}

// sessions holds each session's calls under way (Streams), from its first
// call until it closes, when they are woken.
var sessions sync.Map // *yamux.Session -> *Streams

func callsOf(sess *yamux.Session) *Streams {
	if c, ok := sessions.Load(sess); ok {
		return c.(*Streams)
	}
	c, loaded := sessions.LoadOrStore(sess, NewStreams())
	if !loaded {
		go func() {
			<-sess.CloseChan()
			sessions.Delete(sess)
			c.(*Streams).End()
		}()
	}
	return c.(*Streams)
}

// OpenSessionStream opens a stream of sess, giving up when ctx ends. yamux's
// OpenStream takes no context and blocks while the session has as many
// unacknowledged opens as its accept backlog (a peer that is overloaded or
// stopped answering); the open then goes on in the background and its
// stream, if it comes, is closed.
func OpenSessionStream(ctx context.Context, sess *yamux.Session) (*yamux.Stream, error) {
	type opened struct {
		stream *yamux.Stream
		err    error
	}
	done := make(chan opened, 1)
	go func() {
		st, err := sess.OpenStream()
		done <- opened{st, err}
	}()
	select {
	case o := <-done:
		return o.stream, o.err
	case <-ctx.Done():
		go func() {
			if o := <-done; o.stream != nil {
				o.stream.Close()
			}
		}()
		return nil, ctx.Err()
	}
}
