package rpcwire

import (
	"encoding/binary"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// yamux writes each frame with two writes, its 12-byte header and then its
// body, and on a TCP connection each write is a system call and a segment:
// at 5,000 nodes the simulator spent a fifth of its CPU in those writes, the
// servers 7%. JoinFrames gives yamux a connection that sends a data
// frame's header with its body, in one write, and the frames queued while a
// write is under way together in the next (batchWriter).
//
// It follows yamux's framing (its spec.md): version, type, flags, stream
// ID, length, big-endian; a data frame (type 0) of length n > 0 is followed
// by its n bytes of body; other frames have no body. yamux's one sending
// goroutine writes a header and then that frame's body: a held header waits
// for exactly that write. Anything else (which yamux does not do) is
// written as it comes, the held header first.

const (
	frameHeaderSize = 12
	frameTypeData   = 0
	// joinMax is the largest body its header is held for; a larger one may
	// go out in the write after its header's.
	joinMax = 16 << 10
)

// JoinFrames wraps conn for yamux.Client or yamux.Server (see above), and
// batches its writes (batchWriter). The result is not safe for concurrent
// writes: yamux writes from one goroutine. Close it, not conn: that also
// ends its writer goroutine (a yamux session does when it ends).
func JoinFrames(conn net.Conn) net.Conn {
	return &frameConn{Conn: conn, out: newBatchWriter(conn)}
}

type frameConn struct {
	net.Conn
	out  *batchWriter
	held []byte // a data frame's header waiting for its body, or empty
}

func (c *frameConn) Write(p []byte) (int, error) {
	// p goes out after the held header, if any: its body (or, which yamux
	// does not do, anything else).
	held := c.held
	c.held = c.held[:0]
	if len(held) == 0 && len(p) == frameHeaderSize && p[1] == frameTypeData {
		if n := int(binary.BigEndian.Uint32(p[8:12])); n > 0 && n <= joinMax {
			c.held = append(c.held, p...)
			return len(p), nil
		}
	}
	if err := c.out.write(held, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Close returns at once; the writer goroutine sends what is still batched
// (for at most closeFlushTimeout), then closes the connection. A read under
// way returns net.ErrClosed at once.
//
// yamux's Session.Close marks the session shut down, closes the connection,
// waits for its receive loop to end, and only then closes the session's
// streams; meanwhile a stream read (or a write waiting for window) loops at
// full speed, finding the shutdown and then the stream still open (yamux
// v0.1.2; hashicorp/yamux#176). A Close that waited for the flush, up to a
// second for a peer slow to read, kept every reader of the session spinning
// that long: at a leader change, with sessions dropped by the dozen, the
// machine's CPU went to the spinning and the calls timed out, dropping more
// sessions. Hence the receive loop is woken and Close does not wait.
func (c *frameConn) Close() error {
	if !c.out.startClose() {
		return nil
	}
	_ = c.Conn.SetReadDeadline(time.Unix(1, 0)) // wake the reader (yamux's receive loop)
	go func() {
		<-c.out.done
		c.Conn.Close()
	}()
	return nil
}

// Read reads from the connection; once Close began, its error is
// net.ErrClosed (which yamux does not log), not the deadline that woke it.
func (c *frameConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if err != nil && c.out.closed.Load() {
		err = net.ErrClosed
	}
	return n, err
}

// A batchWriter writes to a connection from a goroutine of its own, and
// every frame queued while that goroutine was in its last write goes out in
// its next one. A session carries the frames of many concurrent calls
// (a stream's open, its request, its answer, its close, window updates), and
// each write on TCP is a system call and a segment that wakes the peer: on a
// busy session the frames of many calls now share them. An idle session's
// frame is written as soon as the goroutine runs.
//
// A write returns once its bytes are queued: the connection's errors come
// back from the writes after it (yamux then ends the session, as it did on
// the failed write itself). Writers wait while maxPending bytes are queued,
// so a peer that does not read still holds yamux back.
type batchWriter struct {
	conn    net.Conn
	mu      sync.Mutex
	cond    *sync.Cond    // the flusher waits for bytes, writers for room
	pending *[]byte       // queued bytes (pooled), nil when none
	err     error         // the connection's first write error
	closed  atomic.Bool   // Close began; set with mu held (the waits check it under mu)
	done    chan struct{} // closed when the flusher returns
}

const (
	maxPending = 256 << 10
	// closeFlushTimeout bounds how long Close sends what is queued.
	closeFlushTimeout = time.Second
)

// batchBufs are the queues' buffers: an idle connection holds none.
var batchBufs = sync.Pool{New: func() any { b := make([]byte, 0, 4<<10); return &b }}

func newBatchWriter(conn net.Conn) *batchWriter {
	b := &batchWriter{conn: conn, done: make(chan struct{})}
	b.cond = sync.NewCond(&b.mu)
	go b.flush()
	return b
}

// write queues parts, in order, as one piece.
func (b *batchWriter) write(parts ...[]byte) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for b.err == nil && !b.closed.Load() && b.pending != nil && len(*b.pending) >= maxPending {
		b.cond.Wait()
	}
	switch {
	case b.err != nil:
		return b.err
	case b.closed.Load():
		return net.ErrClosed
	}
	if b.pending == nil {
		b.pending = batchBufs.Get().(*[]byte)
		b.cond.Broadcast()
	}
	for _, p := range parts {
		*b.pending = append(*b.pending, p...)
	}
	return nil
}

// flush writes what is queued, all of it at once, until the connection
// fails or closes.
func (b *batchWriter) flush() {
	defer close(b.done)
	b.mu.Lock()
	defer b.mu.Unlock()
	for {
		for b.pending == nil && !b.closed.Load() {
			b.cond.Wait()
		}
		if b.pending == nil {
			return // closing, and everything sent
		}
		out := b.pending
		b.pending = nil
		b.cond.Broadcast() // room for waiting writers
		b.mu.Unlock()
		_, err := b.conn.Write(*out)
		if cap(*out) <= maxPending {
			*out = (*out)[:0]
			batchBufs.Put(out)
		}
		b.mu.Lock()
		if err != nil {
			b.err = err
			b.pending = nil // dropped: the session is over
			b.cond.Broadcast()
			return
		}
	}
}

// startClose stops the writes and lets the flusher send what is queued
// within closeFlushTimeout (done is closed when it returns). It reports
// false when the writer was closing already.
func (b *batchWriter) startClose() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed.Load() {
		return false
	}
	b.closed.Store(true)
	b.cond.Broadcast()
	_ = b.conn.SetWriteDeadline(time.Now().Add(closeFlushTimeout))
	return true
}
