package rpcwire

import (
	"errors"
	"io"
	"net"
	"testing"
)

// Await waits for a message without holding a read buffer, and the reads
// after it see the message whole, its first byte included; it returns the
// peer's close as io.EOF.
func TestBufConnAwaitHoldsNoBufferAndLosesNoByte(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	bc := NewBufConn(b)
	defer bc.Release()
	go func() { _, _ = a.Write([]byte("hello")) }()
	if err := bc.Await(); err != nil {
		t.Fatal(err)
	}
	if bc.r != nil {
		t.Fatal("Await took a read buffer")
	}
	if err := bc.Await(); err != nil { // the byte is kept: no second read
		t.Fatal(err)
	}
	got := make([]byte, 5)
	if _, err := io.ReadFull(bc, got); err != nil || string(got) != "hello" {
		t.Fatalf("read %q, %v after Await, want hello", got, err)
	}
	bc.Idle()
	a.Close()
	if err := bc.Await(); !errors.Is(err, io.EOF) {
		t.Fatalf("Await after the peer closed = %v, want EOF", err)
	}
}
