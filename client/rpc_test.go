package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/rpc"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-msgpack/v2/codec"
	"github.com/hashicorp/yamux"

	"github.com/orch-io/orch/structs"
)

// testRPCServer is the server side of the RPC framing, as small as it gets: it
// accepts TCP, reads the stream-type byte, runs a yamux server session and
// serves net/rpc with the msgpack codec on every stream. The real server
// (package server) does the same with its own endpoints.
type testRPCServer struct {
	ln      net.Listener
	rpc     *rpc.Server
	accepts atomic.Int64

	mu    sync.Mutex
	conns []net.Conn
}

// testNodeEndpoint stands for the servers' "Node" service.
type testNodeEndpoint struct{}

func (testNodeEndpoint) Register(args *structs.NodeRegisterRequest, reply *structs.NodeUpdateResponse) error {
	if args.Node == nil || args.Node.ID == "" {
		return errors.New("missing node ID")
	}
	// Not reply.Index: NodeUpdateResponse embeds both WriteMeta and QueryMeta,
	// whose Index fields collide, and msgpack drops both.
	reply.HeartbeatTTL = 10 * time.Second
	reply.Servers = []string{"10.0.0.1:4647"}
	return nil
}

func (testNodeEndpoint) UpdateStatus(args *structs.NodeUpdateStatusRequest, reply *structs.NodeUpdateResponse) error {
	if args.NodeID == "unknown" {
		// As the real dispatcher sends it: the code travels in the text.
		return errors.New(structs.WireText(structs.NewError(structs.CodeNotFound, "node %q not found", args.NodeID)))
	}
	reply.HeartbeatTTL = 10 * time.Second
	return nil
}

func (testNodeEndpoint) Allocations(args *structs.NodeSpecificRequest, reply *structs.NodeAllocsResponse) error {
	job := &structs.Job{ID: "web", Type: structs.JobTypeService, TaskGroups: []*structs.TaskGroup{{
		Name: "g", Tasks: []*structs.Task{{Name: "t", Driver: "raw_exec", KillTimeout: 3 * time.Second,
			Config: map[string]any{"command": "/bin/sleep", "args": []any{"10"}}}},
	}}}
	reply.Allocs = []*structs.Allocation{{ID: "a1", NodeID: args.NodeID, Job: job, TaskGroup: "g", DesiredStatus: structs.AllocDesiredStatusRun}}
	reply.Index = args.MinQueryIndex + 1
	return nil
}

func startTestRPCServer(t *testing.T) *testRPCServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &testRPCServer{ln: ln, rpc: rpc.NewServer()}
	if err := s.rpc.RegisterName("Node", testNodeEndpoint{}); err != nil {
		t.Fatal(err)
	}
	go s.serve()
	t.Cleanup(s.close)
	return s
}

func (s *testRPCServer) addr() string { return s.ln.Addr().String() }

func (s *testRPCServer) serve() {
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.accepts.Add(1)
		s.mu.Lock()
		s.conns = append(s.conns, conn)
		s.mu.Unlock()
		go s.handle(conn)
	}
}

func (s *testRPCServer) handle(conn net.Conn) {
	defer conn.Close()
	var typ [1]byte
	if _, err := io.ReadFull(conn, typ[:]); err != nil || typ[0] != structs.RPCTypeMultiplex {
		return
	}
	cfg := yamux.DefaultConfig()
	cfg.LogOutput = io.Discard
	sess, err := yamux.Server(conn, cfg)
	if err != nil {
		return
	}
	for {
		stream, err := sess.Accept()
		if err != nil {
			return
		}
		go s.rpc.ServeCodec(codec.MsgpackSpecRpc.ServerCodec(stream, structs.MsgpackHandle))
	}
}

// dropConns closes every connection, as a server restart would.
func (s *testRPCServer) dropConns() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		c.Close()
	}
	s.conns = nil
}

func (s *testRPCServer) close() {
	s.ln.Close()
	s.dropConns()
}

// deadAddr returns an address nothing listens on.
func deadAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func newTestRPCClient(t *testing.T, servers ...string) *RPCClient {
	t.Helper()
	c, err := NewRPCClient(servers, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestRPCClientCallsAndReusesSession(t *testing.T) {
	srv := startTestRPCServer(t)
	c := newTestRPCClient(t, srv.addr())

	var reg structs.NodeUpdateResponse
	if err := c.RPC(t.Context(), "Node.Register", &structs.NodeRegisterRequest{Node: &structs.Node{ID: "n1"}}, &reg); err != nil {
		t.Fatal(err)
	}
	if reg.HeartbeatTTL != 10*time.Second || len(reg.Servers) != 1 {
		t.Errorf("reply = %+v", reg)
	}

	// A reply with a job, its durations and its free-form config survives msgpack.
	var allocs structs.NodeAllocsResponse
	if err := c.RPC(t.Context(), "Node.Allocations", &structs.NodeSpecificRequest{NodeID: "n1", QueryOptions: structs.QueryOptions{MinQueryIndex: 41}}, &allocs); err != nil {
		t.Fatal(err)
	}
	if len(allocs.Allocs) != 1 || allocs.Index != 42 {
		t.Fatalf("reply = %+v", allocs)
	}
	task := allocs.Allocs[0].Job.TaskGroups[0].Tasks[0]
	if args, ok := task.Config["args"].([]any); task.KillTimeout != 3*time.Second || task.Config["command"] != "/bin/sleep" || !ok || args[0] != "10" {
		t.Errorf("task = %+v", task)
	}

	// Errors of the server's method come back as such, and do not drop the session.
	err := c.RPC(t.Context(), "Node.UpdateStatus", &structs.NodeUpdateStatusRequest{NodeID: "unknown"}, &structs.NodeUpdateResponse{})
	if !errors.Is(err, structs.ErrNotFound) {
		t.Errorf("error = %v, want not found", err)
	}
	err = c.RPC(t.Context(), "Node.Nope", &structs.GenericRequest{}, &structs.GenericResponse{})
	if err == nil {
		t.Error("no error for an unknown method")
	}

	// Concurrent calls share the one session.
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var r structs.NodeUpdateResponse
			errs <- c.RPC(t.Context(), "Node.UpdateStatus", &structs.NodeUpdateStatusRequest{NodeID: fmt.Sprint("n", i)}, &r)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n := srv.accepts.Load(); n != 1 {
		t.Errorf("server accepted %d connections, want 1", n)
	}
}

func TestRPCClientTriesNextServer(t *testing.T) {
	srv := startTestRPCServer(t)
	c := newTestRPCClient(t, deadAddr(t), srv.addr())
	var r structs.NodeUpdateResponse
	if err := c.RPC(t.Context(), "Node.UpdateStatus", &structs.NodeUpdateStatusRequest{NodeID: "n1"}, &r); err != nil {
		t.Fatalf("RPC with the first server down: %v", err)
	}
}

func TestRPCClientReconnectsAfterServerDropsConnection(t *testing.T) {
	srv := startTestRPCServer(t)
	c := newTestRPCClient(t, srv.addr())
	var r structs.NodeUpdateResponse
	if err := c.RPC(t.Context(), "Node.UpdateStatus", &structs.NodeUpdateStatusRequest{NodeID: "n1"}, &r); err != nil {
		t.Fatal(err)
	}
	srv.dropConns()
	if err := c.RPC(t.Context(), "Node.UpdateStatus", &structs.NodeUpdateStatusRequest{NodeID: "n1"}, &r); err != nil {
		t.Fatalf("RPC after the connection dropped: %v", err)
	}
	if n := srv.accepts.Load(); n != 2 {
		t.Errorf("server accepted %d connections, want 2", n)
	}
}

// Calls that find no connection wait for the one being made: when a shared
// connection ends, its callers do not each open one at once.
func TestRPCClientCallsShareOneConnectionAttempt(t *testing.T) {
	srv := startTestRPCServer(t)
	c := newTestRPCClient(t, srv.addr())
	const calls = 50
	errs := make(chan error, calls)
	for range calls {
		go func() {
			var r structs.NodeUpdateResponse
			errs <- c.RPC(t.Context(), "Node.UpdateStatus", &structs.NodeUpdateStatusRequest{NodeID: "n1"}, &r)
		}()
	}
	for range calls {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if n := srv.accepts.Load(); n != 1 {
		t.Errorf("%d concurrent first calls opened %d connections, want 1", calls, n)
	}
}

func TestRPCClientNoServerReachable(t *testing.T) {
	c := newTestRPCClient(t, deadAddr(t), deadAddr(t))
	err := c.RPC(t.Context(), "Node.UpdateStatus", &structs.NodeUpdateStatusRequest{NodeID: "n1"}, &structs.NodeUpdateResponse{})
	if err == nil {
		t.Fatal("no error with every server down")
	}
	c.Close()
	if err := c.RPC(t.Context(), "Node.UpdateStatus", &structs.NodeUpdateStatusRequest{}, &structs.NodeUpdateResponse{}); !errors.Is(err, ErrRPCClosed) {
		t.Errorf("after Close: %v", err)
	}
}

func TestNewRPCClientChecksAddresses(t *testing.T) {
	// Without servers (a client finding them through gossip), calls fail
	// until SetServers gives some.
	c, err := NewRPCClient(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.RPC(t.Context(), "Node.UpdateStatus", &structs.NodeUpdateStatusRequest{}, &structs.NodeUpdateResponse{}); !errors.Is(err, ErrNoServers) {
		t.Errorf("without servers: %v, want ErrNoServers", err)
	}
	srv := startTestRPCServer(t)
	c.SetServers([]string{srv.addr()})
	if err := c.RPC(t.Context(), "Node.UpdateStatus", &structs.NodeUpdateStatusRequest{NodeID: "n1"}, &structs.NodeUpdateResponse{}); errors.Is(err, ErrNoServers) {
		t.Errorf("after SetServers: %v", err)
	}
	c.Close()
	if _, err := NewRPCClient([]string{"127.0.0.1"}, nil); err == nil {
		t.Error("no error for an address without a port")
	}
}

func TestRPCClientSetServersFailsOverToLearnedServers(t *testing.T) {
	a, b := startTestRPCServer(t), startTestRPCServer(t)
	c := newTestRPCClient(t, a.addr())
	var reply structs.NodeUpdateResponse
	if err := c.RPC(t.Context(), "Node.UpdateStatus", &structs.NodeUpdateStatusRequest{NodeID: "n1"}, &reply); err != nil {
		t.Fatal(err)
	}
	c.SetServers([]string{b.addr(), a.addr(), "not-an-address"})
	if got, want := c.Servers(), []string{b.addr(), a.addr()}; !slices.Equal(got, want) {
		t.Fatalf("Servers() = %v, want %v", got, want)
	}
	c.SetServers(nil) // nothing learned: the list stays
	if got := c.Servers(); len(got) != 2 {
		t.Fatalf("Servers() after SetServers(nil) = %v", got)
	}
	a.close() // the server the client was started with dies
	if err := c.RPC(t.Context(), "Node.UpdateStatus", &structs.NodeUpdateStatusRequest{NodeID: "n1"}, &reply); err != nil {
		t.Fatalf("RPC after the first server died: %v", err)
	}
	if b.accepts.Load() != 1 {
		t.Errorf("learned server accepted %d connections, want 1", b.accepts.Load())
	}
}

// testSlowEndpoint stands for a call the server holds (a write waiting for
// a leader): Wait tells started, then answers once release is closed.
type testSlowEndpoint struct {
	started chan struct{}
	release chan struct{}
}

func (e testSlowEndpoint) Wait(args *structs.GenericRequest, reply *structs.GenericResponse) error {
	e.started <- struct{}{}
	<-e.release
	return nil
}

func startSlowEndpoint(t *testing.T, srv *testRPCServer) testSlowEndpoint {
	t.Helper()
	e := testSlowEndpoint{started: make(chan struct{}, 1), release: make(chan struct{})}
	if err := srv.rpc.RegisterName("Slow", e); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { close(e.release) })
	return e
}

// expiring is a context whose deadline passes when the test says so:
// expire makes it done with context.DeadlineExceeded.
type expiring struct {
	context.Context
	done chan struct{}
}

func newExpiring(t *testing.T) *expiring {
	return &expiring{Context: t.Context(), done: make(chan struct{})}
}

func (e *expiring) Done() <-chan struct{} { return e.done }
func (e *expiring) Err() error {
	select {
	case <-e.done:
		return context.DeadlineExceeded
	default:
		return nil
	}
}
func (e *expiring) expire() { close(e.done) }

// A call whose deadline passes on a session that answered nothing since it
// began drops the session: the next call connects anew (to the next server).
func TestRPCClientDropsSessionThatLetsTheDeadlinePass(t *testing.T) {
	srv := startTestRPCServer(t)
	slow := startSlowEndpoint(t, srv)
	c := newTestRPCClient(t, srv.addr())
	ctx := newExpiring(t)
	errc := make(chan error, 1)
	go func() { errc <- c.RPC(ctx, "Slow.Wait", &structs.GenericRequest{}, &structs.GenericResponse{}) }()
	<-slow.started
	ctx.expire()
	if err := <-errc; !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("slow call: %v, want its deadline", err)
	}
	var r structs.NodeUpdateResponse
	if err := c.RPC(t.Context(), "Node.UpdateStatus", &structs.NodeUpdateStatusRequest{NodeID: "n1"}, &r); err != nil {
		t.Fatal(err)
	}
	if n := srv.accepts.Load(); n != 2 {
		t.Errorf("server accepted %d connections, want 2 (the silent session dropped)", n)
	}
}

// A call whose deadline passes while the session answered other calls says
// nothing of the session (the server held that one call, waiting for a
// leader): the session stays, and with it every other call on it.
func TestRPCClientKeepsSessionThatAnswersOtherCalls(t *testing.T) {
	srv := startTestRPCServer(t)
	slow := startSlowEndpoint(t, srv)
	c := newTestRPCClient(t, srv.addr())
	lost := make(chan struct{}, 1)
	c.OnSessionLost(func() { lost <- struct{}{} })
	ctx := newExpiring(t)
	errc := make(chan error, 1)
	go func() { errc <- c.RPC(ctx, "Slow.Wait", &structs.GenericRequest{}, &structs.GenericResponse{}) }()
	<-slow.started
	var r structs.NodeUpdateResponse
	if err := c.RPC(t.Context(), "Node.UpdateStatus", &structs.NodeUpdateStatusRequest{NodeID: "n1"}, &r); err != nil {
		t.Fatal(err)
	}
	ctx.expire()
	if err := <-errc; !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("slow call: %v, want its deadline", err)
	}
	if err := c.RPC(t.Context(), "Node.UpdateStatus", &structs.NodeUpdateStatusRequest{NodeID: "n1"}, &r); err != nil {
		t.Fatal(err)
	}
	if n := srv.accepts.Load(); n != 1 {
		t.Errorf("server accepted %d connections, want 1 (the answering session kept)", n)
	}
	select {
	case <-lost:
		t.Error("the session-lost hook ran for a session that answered")
	default:
	}
}
