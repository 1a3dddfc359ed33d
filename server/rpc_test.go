package server

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/hashicorp/yamux"
	"github.com/orch-io/orch/internal/rpcwire"
	"github.com/orch-io/orch/structs"
)

// netRPCClient is a client as a client agent builds one: dial the RPC port,
// say RPCTypeMultiplex, run a yamux client session, one stream per call.
type netRPCClient struct {
	session *yamux.Session
}

func dialRPC(t *testing.T, addr string) *netRPCClient {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	if _, err := conn.Write([]byte{structs.RPCTypeMultiplex}); err != nil {
		t.Fatalf("writing the stream type: %v", err)
	}
	cfg := yamux.DefaultConfig()
	cfg.LogOutput = nil
	cfg.Logger = newStdLogger(testLogger(), "yamux")
	session, err := yamux.Client(conn, cfg)
	if err != nil {
		t.Fatalf("yamux client: %v", err)
	}
	t.Cleanup(func() { session.Close() })
	return &netRPCClient{session: session}
}

func (c *netRPCClient) call(method string, args, reply any) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return rpcwire.Call(ctx, c.session, method, args, reply)
}

func TestRPC_OverTheNetwork(t *testing.T) {
	s := startServer(t, testConfig(t.TempDir()))
	c := dialRPC(t, s.RPCAddr())

	var leader string
	if err := c.call("Status.Leader", &structs.GenericRequest{}, &leader); err != nil {
		t.Fatalf("Status.Leader: %v", err)
	}
	if leader != s.RPCAddr() {
		t.Errorf("Status.Leader = %q, want %q", leader, s.RPCAddr())
	}

	var reg structs.JobRegisterResponse
	if err := c.call("Job.Register", &structs.JobRegisterRequest{Job: testJob("net", 1, 128)}, &reg); err != nil {
		t.Fatalf("Job.Register: %v", err)
	}
	var list structs.JobListResponse
	if err := c.call("Job.List", &structs.JobListRequest{}, &list); err != nil {
		t.Fatalf("Job.List: %v", err)
	}
	if len(list.Jobs) != 1 || list.Jobs[0].ID != "net" || list.Index < reg.Index || !list.KnownLeader {
		t.Errorf("Job.List = %+v (meta %+v): want job net at index >= %d", list.Jobs, list.QueryMeta, reg.Index)
	}

	// Errors cross the wire with their code.
	var dereg structs.JobDeregisterResponse
	err := c.call("Job.Deregister", &structs.JobDeregisterRequest{JobID: "nope"}, &dereg)
	if !errors.Is(err, structs.ErrNotFound) || err.Error() != `job "nope" not found` {
		t.Errorf("Job.Deregister(unknown) = %v, want `job \"nope\" not found`", err)
	}
	if err := c.call("Job.Nope", &structs.GenericRequest{}, &leader); err == nil {
		t.Errorf("calling an unknown method succeeded")
	}

	// Several calls in flight on one session.
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			var l structs.JobListResponse
			errs <- c.call("Job.List", &structs.JobListRequest{}, &l)
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Errorf("concurrent Job.List: %v", err)
		}
	}
}

func TestRPC_UnknownStreamTypeIsClosed(t *testing.T) {
	s := startServer(t, testConfig(t.TempDir()))
	conn, err := net.Dial("tcp", s.RPCAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte{0x7f, 1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	var buf [1]byte
	if _, err := conn.Read(buf[:]); err == nil {
		t.Errorf("the server answered a connection of unknown type instead of closing it")
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Errorf("the server kept a connection of unknown type open")
	}
	// The server still serves others.
	var leader string
	if err := dialRPC(t, s.RPCAddr()).call("Status.Leader", &structs.GenericRequest{}, &leader); err != nil || leader == "" {
		t.Errorf("Status.Leader after a bad connection = %q, %v", leader, err)
	}
}

// A session the caller closes ends the server's accept loop of it (the
// session is forgotten), instead of leaving a goroutine accepting on a closed
// session, which would spin.
func TestRPC_ClosedSessionEndsItsAcceptLoop(t *testing.T) {
	s := startServer(t, testConfig(t.TempDir()))
	open := func() int {
		s.sessions.Lock()
		defer s.sessions.Unlock()
		return len(s.sessions.m)
	}
	c := dialRPC(t, s.RPCAddr())
	var leader string
	if err := c.call("Status.Leader", &structs.GenericRequest{}, &leader); err != nil {
		t.Fatal(err)
	}
	if n := open(); n != 1 {
		t.Fatalf("%d sessions open after a call, want 1", n)
	}
	c.session.Close()
	deadline := time.Now().Add(10 * time.Second)
	for open() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the server still serves a session its caller closed 10s ago")
		}
		time.Sleep(10 * time.Millisecond) // poll interval
	}
}

func TestRPC_InProcessCallsReturnCopies(t *testing.T) {
	s := startServer(t, testConfig(t.TempDir()))
	registerJob(t, s, testJob("copy", 1, 128))
	var got structs.SingleJobResponse
	if err := s.RPC(t.Context(), "Job.GetJob", &structs.JobSpecificRequest{JobID: "copy"}, &got); err != nil {
		t.Fatal(err)
	}
	got.Job.TaskGroups[0].Count = 99
	if s.state.JobByID("default", "copy").TaskGroups[0].Count != 1 {
		t.Errorf("modifying an RPC reply changed the state store")
	}
}
