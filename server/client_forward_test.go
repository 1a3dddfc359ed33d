package server

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/hashicorp/yamux"
	"github.com/orch-io/orch/internal/rpcwire"
	"github.com/orch-io/orch/structs"
)

// fakeClientAgent stands for a client agent over the real wire: a yamux
// session dialled to one server, on which it registers its node and then
// answers every streaming call the servers open to it with one frame naming
// the method and its node.
func fakeClientAgent(t *testing.T, s *Server, node *structs.Node) *yamux.Session {
	t.Helper()
	sess, err := rpcwire.Dial(t.Context(), s.RPCAddr(), yamux.DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sess.Close() })
	go func() {
		for {
			stream, err := sess.AcceptStream()
			if err != nil {
				return
			}
			go func() {
				defer stream.Close()
				var marker [1]byte
				if _, err := io.ReadFull(stream, marker[:]); err != nil {
					return
				}
				method, st, err := rpcwire.ReadStreamHeader(stream)
				if err != nil {
					return
				}
				var args structs.FSRequest
				_ = st.Recv(&args)
				_ = st.Answer(nil)
				_ = st.Send(&structs.StreamFrame{File: method + "@" + node.ID, Data: []byte(args.Path)})
			}()
		}
	}()
	var reply structs.NodeUpdateResponse
	if err := rpcwire.Call(t.Context(), sess, "Node.Register", &structs.NodeRegisterRequest{Node: node}, &reply); err != nil {
		t.Fatalf("Node.Register over the wire: %v", err)
	}
	return sess
}

// dialFS dials node for a ClientFS.List of alloc and opens the call,
// returning the frame the fake client agent answers.
func dialFS(t *testing.T, s *Server, req *structs.DialNodeRequest, path string) (*structs.StreamFrame, error) {
	t.Helper()
	conn, err := s.DialNode(t.Context(), req)
	if err != nil {
		return nil, err
	}
	st, err := rpcwire.OpenStream(t.Context(), conn, structs.ClientFSList, &structs.FSRequest{AllocID: req.AllocID, Path: path})
	if err != nil {
		return nil, err
	}
	defer st.Close()
	var f structs.StreamFrame
	return &f, st.Recv(&f)
}

// TestDialNodeThroughAnyServer: a node connected to one server of three is
// reached from each of them (the others pipe through the one holding its
// session, though its registration was forwarded to the leader), and is
// unreachable once its session closes.
func TestDialNodeThroughAnyServer(t *testing.T) {
	servers := startCluster(t, 3)
	holder := followerOf(servers)
	node := testNode()
	sess := fakeClientAgent(t, holder, node)
	leader := leaderOf(servers)
	job := storeJobUnscheduled(t, leader, testJob("web", 1, 64))
	alloc, index := placeAlloc(t, leader, job, node.ID)
	// AllocIndex makes a server that has not applied the allocation yet wait.
	req := &structs.DialNodeRequest{NodeID: node.ID, AllocID: alloc.ID, Method: structs.ClientFSList, AllocIndex: index}

	for _, s := range servers {
		f, err := dialFS(t, s, req, "via "+s.RPCAddr())
		if err != nil {
			t.Fatalf("call through %s: %v", s.RPCAddr(), err)
		}
		if f.File != structs.ClientFSList+"@"+node.ID || string(f.Data) != "via "+s.RPCAddr() {
			t.Errorf("through %s the client answered %q %q", s.RPCAddr(), f.File, f.Data)
		}
	}

	sess.Close()
	waitFor(t, 30*time.Second, "every server to forget the node's session", func() bool {
		for _, s := range servers {
			ctx, cancel := context.WithCancel(t.Context())
			_, err := s.DialNode(ctx, req)
			cancel()
			if !errors.Is(err, structs.ErrNotFound) {
				return false
			}
		}
		return true
	})
}

// TestDialNodeLetsThroughOnlyTheCallAuthorized: a server dials a node only
// for a client call on an allocation of that node, and once it said yes it
// refuses a call of another method or on another allocation than the one
// asked for, on the wire as in process.
func TestDialNodeLetsThroughOnlyTheCallAuthorized(t *testing.T) {
	s := startServer(t, testConfig(t.TempDir()))
	waitFor(t, 10*time.Second, "leadership", s.IsLeader)
	node, other := testNode(), testNode()
	fakeClientAgent(t, s, node)
	job := storeJobUnscheduled(t, s, testJob("web", 1, 64))
	alloc, _ := placeAlloc(t, s, job, node.ID)
	elsewhere, _ := placeAlloc(t, s, job, other.ID)

	for _, tc := range []struct {
		req  structs.DialNodeRequest
		want error
	}{
		{structs.DialNodeRequest{NodeID: node.ID, AllocID: alloc.ID, Method: "Job.Register"}, structs.ErrInvalid},
		{structs.DialNodeRequest{NodeID: node.ID, AllocID: "no-such-alloc", Method: structs.ClientFSList}, structs.ErrNotFound},
		{structs.DialNodeRequest{NodeID: node.ID, AllocID: elsewhere.ID, Method: structs.ClientFSList}, structs.ErrInvalid},
	} {
		if _, err := s.DialNode(t.Context(), &tc.req); !errors.Is(err, tc.want) {
			t.Errorf("DialNode %+v: %v, want %v", tc.req, err, tc.want)
		}
	}

	// Over the wire: dial for a List of alloc, then open something else.
	sess, err := rpcwire.Dial(t.Context(), s.RPCAddr(), yamux.DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	for _, forged := range []struct {
		method string
		args   any
	}{
		{structs.ClientAllocSignal, &structs.AllocSignalRequest{AllocID: alloc.ID, Signal: "SIGKILL"}},
		{structs.ClientFSList, &structs.FSRequest{AllocID: elsewhere.ID}},
	} {
		stream, err := sess.OpenStream()
		if err != nil {
			t.Fatal(err)
		}
		dial := &structs.DialNodeRequest{NodeID: node.ID, AllocID: alloc.ID, Method: structs.ClientFSList}
		st, err := rpcwire.OpenStream(t.Context(), stream, structs.ServerDialNode, dial)
		if err != nil {
			t.Fatalf("Server.DialNode over the wire: %v", err)
		}
		if _, err := rpcwire.OpenStream(t.Context(), st.Conn(), forged.method, forged.args); !errors.Is(err, structs.ErrPermissionDenied) {
			t.Errorf("%s %+v on a stream dialled for List of %s: %v, want permission denied", forged.method, forged.args, alloc.ID, err)
		}
	}
}
