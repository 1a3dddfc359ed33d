package rpcwire

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
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
func (c *countingConn) Close() error                     { return nil }

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
	timer := time.AfterFunc(10*time.Second, func() { c.mu.Lock(); c.cond.Broadcast(); c.mu.Unlock() })
	defer timer.Stop()
	deadline := time.Now().Add(10 * time.Second)
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.writes) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d writes reached the connection, want %d", len(c.writes), n)
		}
		c.cond.Wait()
	}
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

// Close sends what is queued before it closes the connection.
func TestJoinFramesCloseSendsWhatIsQueued(t *testing.T) {
	under := newCountingConn()
	c := JoinFrames(under)
	under.hold(true)
	writeAll(t, c, header(1, 1))
	under.waitWrites(t, 1)
	writeAll(t, c, header(1, 2))
	closed := make(chan error, 1)
	go func() { closed <- c.Close() }()
	under.hold(false)
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if got := under.waitWrites(t, 2); !bytes.Equal(got[1], header(1, 2)) {
		t.Fatalf("second write %q, want the frame queued before Close", got[1])
	}
	if _, err := c.Write(header(1, 3)); err == nil {
		t.Fatal("a write after Close succeeded")
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
