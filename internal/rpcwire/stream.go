package rpcwire

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/orch-io/orch/structs"
)

// Streaming calls. A net/rpc call answers once; reading a log that grows
// (alloc logs -f) needs an answer that goes on. A streaming call is a yamux
// stream (or any byte stream) that starts with StreamMarker instead of a
// msgpack-rpc request, then carries length-prefixed msgpack frames:
//
//	caller → callee: StreamMarker, header {Method}, args
//	callee → caller: status {Error}, then frames of the method's own type
//	                 until it closes the stream
//
// The caller sends nothing after the args, so the callee reads the stream
// only to learn that the caller hung up (and cancels what it was doing).
// Frames are read with exact lengths, never ahead: once a status says yes,
// the rest of the stream may be handed on as raw bytes. That is how a server
// forwards a call to the client that runs an allocation: Server.DialNode
// answers with a status and then pipes bytes, so the caller opens its real
// call on the same stream as if it talked to the client itself.

// StreamMarker is the first byte of a streaming call. A net/rpc call's first
// byte is a msgpack array header (0x94), so a server tells the two apart by
// peeking at one byte.
const StreamMarker byte = 'S'

// maxFrame bounds one frame, so a corrupt length cannot make a reader
// allocate without limit.
const maxFrame = 16 << 20

type streamHeader struct{ Method string }

type streamStatus struct {
	// Error is the callee's error in structs.WireText form; "" means yes.
	Error string
}

// Stream is one streaming call. Send and Recv may be used by one goroutine
// each, at the same time.
type Stream struct {
	conn io.ReadWriteCloser
	stop func() bool // stops closing conn when the caller's ctx ends
	once sync.Once
}

// NewStream wraps conn, whose marker and header have been read (callee side).
func NewStream(conn io.ReadWriteCloser) *Stream { return &Stream{conn: conn} }

// Conn is the underlying byte stream: a forwarder pipes it once the status
// has been written.
func (s *Stream) Conn() io.ReadWriteCloser { return s.conn }

// Send writes v as one frame.
func (s *Stream) Send(v any) error {
	body, err := structs.Encode(v)
	if err != nil {
		return err
	}
	if len(body) > maxFrame {
		return fmt.Errorf("rpcwire: frame of %d bytes exceeds %d", len(body), maxFrame)
	}
	buf := make([]byte, 4+len(body))
	binary.BigEndian.PutUint32(buf, uint32(len(body)))
	copy(buf[4:], body)
	_, err = s.conn.Write(buf)
	return err
}

// Recv reads one frame into v. It returns io.EOF when the peer closed the
// stream between frames.
func (s *Stream) Recv(v any) error {
	var n [4]byte
	if _, err := io.ReadFull(s.conn, n[:]); err != nil {
		return err
	}
	size := binary.BigEndian.Uint32(n[:])
	if size > maxFrame {
		return fmt.Errorf("rpcwire: frame of %d bytes exceeds %d", size, maxFrame)
	}
	body := make([]byte, size)
	if _, err := io.ReadFull(s.conn, body); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	return structs.Decode(body, v)
}

// Close closes the stream; the peer's Recv returns.
func (s *Stream) Close() error {
	var err error
	s.once.Do(func() {
		if s.stop != nil {
			s.stop()
		}
		err = s.conn.Close()
	})
	return err
}

// OpenStream starts the streaming call method with args on conn and waits
// for the callee's answer. An error the callee returned comes back as a
// *structs.Error with its code (conn is then closed). ctx covers the whole
// call: when it ends, conn is closed and a blocked Recv returns.
func OpenStream(ctx context.Context, conn io.ReadWriteCloser, method string, args any) (*Stream, error) {
	s := &Stream{conn: conn}
	s.stop = context.AfterFunc(ctx, func() { conn.Close() })
	fail := func(err error) (*Stream, error) {
		s.Close()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%s: %w", method, ctx.Err())
		}
		return nil, err
	}
	if _, err := conn.Write([]byte{StreamMarker}); err != nil {
		return fail(err)
	}
	if err := s.Send(&streamHeader{Method: method}); err != nil {
		return fail(err)
	}
	if err := s.Send(args); err != nil {
		return fail(err)
	}
	var st streamStatus
	if err := s.Recv(&st); err != nil {
		return fail(fmt.Errorf("%s: reading the answer: %w", method, err))
	}
	if st.Error != "" {
		return fail(structs.FromWire(st.Error))
	}
	return s, nil
}

// ReadStreamHeader reads the method of a streaming call from conn, whose
// marker byte has been read already (callee side).
func ReadStreamHeader(conn io.ReadWriteCloser) (string, *Stream, error) {
	s := NewStream(conn)
	var h streamHeader
	if err := s.Recv(&h); err != nil {
		return "", nil, err
	}
	return h.Method, s, nil
}

// Answer writes the callee's status: err nil says yes, frames follow.
func (s *Stream) Answer(err error) error {
	st := streamStatus{}
	if err != nil {
		st.Error = structs.WireText(err)
	}
	return s.Send(&st)
}

// WatchHangup cancels cancel when the caller closes its side: the callee
// calls it after reading the args, since nothing else comes from the caller.
func (s *Stream) WatchHangup(cancel context.CancelFunc) {
	go func() {
		_, _ = io.Copy(io.Discard, s.conn)
		cancel()
	}()
}

// Splice copies bytes both ways between a and b until either side ends, then
// closes both. A forwarder calls it after answering yes.
func Splice(a, b io.ReadWriteCloser) {
	done := make(chan struct{}, 2)
	cp := func(dst io.Writer, src io.Reader) {
		_, _ = io.Copy(dst, src)
		done <- struct{}{}
	}
	go cp(a, b)
	go cp(b, a)
	<-done
	a.Close()
	b.Close()
	<-done
}

// PeekedConn is a byte stream whose first byte was read to choose a protocol
// and is given back to the next Read.
type PeekedConn struct {
	io.ReadWriteCloser
	first []byte
}

// NewPeekedConn returns conn with b put back in front.
func NewPeekedConn(conn io.ReadWriteCloser, b byte) *PeekedConn {
	return &PeekedConn{ReadWriteCloser: conn, first: []byte{b}}
}

func (p *PeekedConn) Read(b []byte) (int, error) {
	if len(p.first) > 0 && len(b) > 0 {
		b[0] = p.first[0]
		p.first = nil
		return 1, nil
	}
	return p.ReadWriteCloser.Read(b)
}
