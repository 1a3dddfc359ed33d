package rpcwire

import (
	"io"
	"net"
	"testing"
	"time"
)

// End wakes a read waiting on a served stream: it returns an error at once
// instead of waiting (or, once the session is shutting down, spinning) until
// yamux marks the stream closed.
func TestStreams_EndWakesWaitingReads(t *testing.T) {
	c, s := net.Pipe()
	cli, srv := pipeSessions(t, c, s)
	t.Cleanup(func() { cli.Close(); srv.Close() })
	opened, err := cli.OpenStream()
	if err != nil {
		t.Fatal(err)
	}
	defer opened.Close()
	if _, err := opened.Write([]byte{1}); err != nil { // the SYN reaches the server
		t.Fatal(err)
	}
	st, err := srv.AcceptStream()
	if err != nil {
		t.Fatal(err)
	}
	streams := NewStreams()
	streams.Add(st)
	read := make(chan error, 1)
	go func() {
		var b [2]byte
		_, _ = io.ReadFull(st, b[:1]) // the byte written
		_, err := st.Read(b[:])       // waits: nothing more comes
		read <- err
	}()
	streams.End()
	select {
	case err := <-read:
		if err == nil {
			t.Fatal("a woken read returned no error")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a read on a stream of an ended session is still waiting")
	}
}
