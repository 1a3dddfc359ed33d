package rpcwire

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"

	"github.com/hashicorp/yamux"
)

// countingConn records each write that reaches the connection.
type countingConn struct {
	net.Conn
	writes [][]byte
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.writes = append(c.writes, bytes.Clone(p))
	return len(p), nil
}

func header(typ byte, length uint32) []byte {
	h := make([]byte, frameHeaderSize)
	h[1] = typ
	binary.BigEndian.PutUint32(h[8:12], length)
	return h
}

func TestJoinFramesJoinsADataFrameWithItsBody(t *testing.T) {
	under := &countingConn{}
	c := JoinFrames(under)
	write := func(p []byte) {
		t.Helper()
		if n, err := c.Write(p); err != nil || n != len(p) {
			t.Fatalf("Write(%d bytes) = %d, %v", len(p), n, err)
		}
	}
	write(header(frameTypeData, 5))
	if len(under.writes) != 0 {
		t.Fatal("a data frame's header was written before its body")
	}
	write([]byte("hello"))
	write(header(1, 1000)) // a window update: no body, written at once
	big := bytes.Repeat([]byte("x"), joinMax+1)
	write(header(frameTypeData, uint32(len(big)))) // too big to copy: two writes
	write(big)
	write(header(frameTypeData, 3)) // a body of another length: both as they come
	write([]byte("toolong"))

	want := [][]byte{
		append(header(frameTypeData, 5), "hello"...),
		header(1, 1000),
		header(frameTypeData, uint32(len(big))),
		big,
		header(frameTypeData, 3),
		[]byte("toolong"),
	}
	if len(under.writes) != len(want) {
		t.Fatalf("%d writes reached the connection, want %d", len(under.writes), len(want))
	}
	for i := range want {
		if !bytes.Equal(under.writes[i], want[i]) {
			t.Errorf("write %d = %q, want %q", i, under.writes[i], want[i])
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
