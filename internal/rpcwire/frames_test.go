package rpcwire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/yamux"
)

// countingConn records each write that reaches the connection. A write
// waits while the gate is held (hold), as a write to a full socket would.
type countingConn struct {
	net.Conn
	mu     sync.Mutex
	cond   *sync.Cond
	writes [][]byte
	held   bool
	closed bool
	// readDeadline, once past, ends reads
	readDeadline time.Time
}

func newCountingConn() *countingConn {
	c := &countingConn{}
	c.cond = sync.NewCond(&c.mu)
	return c
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writes = append(c.writes, bytes.Clone(p))
	c.cond.Broadcast()
	for c.held {
		c.cond.Wait()
	}
	return len(p), nil
}

func (c *countingConn) SetWriteDeadline(time.Time) error { return nil }

// SetReadDeadline wakes Read when t is past.
func (c *countingConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.readDeadline = t
	c.cond.Broadcast()
	return nil
}

// Read waits for a read deadline that has passed: nothing ever arrives.
func (c *countingConn) Read([]byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.readDeadline.IsZero() || time.Now().Before(c.readDeadline) {
		c.cond.Wait()
	}
	return 0, os.ErrDeadlineExceeded
}

func (c *countingConn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	c.cond.Broadcast()
	return nil
}

// waitClosed waits until the connection is closed (or fails t after 10 s).
func (c *countingConn) waitClosed(t *testing.T) {
	t.Helper()
	c.waitUntil(t, "the connection closed", func() bool { return c.closed })
}

// waitUntil waits until cond, called with the lock held, holds (or fails t
// after 10 s).
func (c *countingConn) waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	timer := time.AfterFunc(10*time.Second, func() { c.mu.Lock(); c.cond.Broadcast(); c.mu.Unlock() })
	defer timer.Stop()
	deadline := time.Now().Add(10 * time.Second)
	c.mu.Lock()
	defer c.mu.Unlock()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10 s", what)
		}
		c.cond.Wait()
	}
}

func (c *countingConn) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

func (c *countingConn) hold(held bool) {
	c.mu.Lock()
	c.held = held
	c.cond.Broadcast()
	c.mu.Unlock()
}

// waitWrites waits until n writes reached the connection (or fails t after
// 10 s) and returns them.
func (c *countingConn) waitWrites(t *testing.T, n int) [][]byte {
	t.Helper()
	c.waitUntil(t, fmt.Sprintf("%d writes reached the connection", n), func() bool { return len(c.writes) >= n })
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.writes)
}

func header(typ byte, length uint32) []byte {
	h := make([]byte, frameHeaderSize)
	h[1] = typ
	binary.BigEndian.PutUint32(h[8:12], length)
	return h
}

func writeAll(t *testing.T, c net.Conn, parts ...[]byte) {
	t.Helper()
	for _, p := range parts {
		if n, err := c.Write(p); err != nil || n != len(p) {
			t.Fatalf("Write(%d bytes) = %d, %v", len(p), n, err)
		}
	}
}

// Each frame written while the connection is idle goes out on its own, a
// data frame's header with its body.
func TestJoinFramesJoinsADataFrameWithItsBody(t *testing.T) {
	under := newCountingConn()
	c := JoinFrames(under)
	defer c.Close()
	big := bytes.Repeat([]byte("x"), joinMax+1)
	// Each group of writes reaches the connection as one write, waited for
	// before the next group.
	groups := [][][]byte{
		{header(frameTypeData, 5), []byte("hello")},
		{header(1, 1000)},                         // a window update: no body
		{header(frameTypeData, uint32(len(big)))}, // too big to hold its header for
		{big},
		{header(frameTypeData, 3), []byte("toolong")}, // a body of another length
	}
	var want [][]byte
	n := 0
	for _, g := range groups {
		writeAll(t, c, g...)
		n++
		under.waitWrites(t, n)
		want = append(want, slices.Concat(g...))
	}
	got := under.waitWrites(t, n)
	if len(got) != len(want) {
		t.Fatalf("%d writes reached the connection, want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Errorf("write %d = %q, want %q", i, got[i], want[i])
		}
	}
}

// Frames queued while a write is under way go out together in the next one.
func TestJoinFramesBatchesWhileAWriteIsUnderWay(t *testing.T) {
	under := newCountingConn()
	c := JoinFrames(under)
	defer c.Close()
	under.hold(true)
	writeAll(t, c, header(1, 1))
	under.waitWrites(t, 1) // the flusher is in that write, held
	writeAll(t, c, header(frameTypeData, 2), []byte("ab"), header(1, 7), header(frameTypeData, 1), []byte("c"))
	under.hold(false)
	got := under.waitWrites(t, 2)
	want := slices.Concat(header(frameTypeData, 2), []byte("ab"), header(1, 7), header(frameTypeData, 1), []byte("c"))
	if len(got) != 2 || !bytes.Equal(got[1], want) {
		t.Fatalf("writes %q, want the first frame, then the three others in one write %q", got, want)
	}
}

// Close returns at once, even while a write is stuck; what was queued is
// sent before the connection closes.
func TestJoinFramesCloseSendsWhatIsQueued(t *testing.T) {
	under := newCountingConn()
	c := JoinFrames(under)
	under.hold(true)
	writeAll(t, c, header(1, 1))
	under.waitWrites(t, 1) // the flusher is in that write, held
	writeAll(t, c, header(1, 2))
	closed := make(chan error, 1)
	go func() { closed <- c.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		under.hold(false)
		t.Fatal("Close waited for the stuck write")
	}
	if _, err := c.Write(header(1, 3)); err == nil {
		t.Fatal("a write after Close succeeded")
	}
	if under.isClosed() {
		t.Fatal("the connection closed before the queued frame was sent")
	}
	under.hold(false)
	if got := under.waitWrites(t, 2); !bytes.Equal(got[1], header(1, 2)) {
		t.Fatalf("second write %q, want the frame queued before Close", got[1])
	}
	under.waitClosed(t)
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// Close wakes a read under way, with net.ErrClosed, while a write is still
// stuck: yamux's Session.Close waits for its receive loop to end before it
// closes the streams, whose readers spin meanwhile (see frameConn.Close).
func TestJoinFramesCloseWakesTheReader(t *testing.T) {
	under := newCountingConn()
	c := JoinFrames(under)
	defer under.hold(false)
	under.hold(true)
	writeAll(t, c, header(1, 1))
	under.waitWrites(t, 1) // the flusher is stuck in that write
	read := make(chan error, 1)
	go func() {
		_, err := c.Read(make([]byte, 1))
		read <- err
	}()
	closed := make(chan error, 1)
	go func() { closed <- c.Close() }()
	for _, ch := range []chan error{closed, read} {
		select {
		case err := <-ch:
			if ch == read && !errors.Is(err, net.ErrClosed) {
				t.Fatalf("read after Close: %v, want net.ErrClosed", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Close waited for the stuck write, or did not wake the read under way")
		}
	}
}

// Real yamux sessions over joined connections carry streams both ways.
func TestJoinFramesUnderYamux(t *testing.T) {
	a, b := net.Pipe()
	client, err := yamux.Client(JoinFrames(a), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, err := yamux.Server(JoinFrames(b), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	msg := bytes.Repeat([]byte("orch "), 10_000) // several frames, some above joinMax
	go func() {
		s, err := server.AcceptStream()
		if err != nil {
			return
		}
		defer s.Close()
		_, _ = io.Copy(s, s) // echo
	}()
	s, err := client.OpenStream()
	if err != nil {
		t.Fatal(err)
	}
	_ = s.SetDeadline(time.Now().Add(10 * time.Second))
	go func() { _, _ = s.Write(msg) }()
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(s, got); err != nil {
		t.Fatalf("reading the echo: %v", err)
	}
	if !bytes.Equal(got, msg) {
		t.Fatal("the echo differs from what was sent")
	}
}
