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
	sess, err := rpcwire.Dial(t.Context(), s.RPCAddr(), yamux.DefaultConfig())
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

// TestDialNodeThroughAnyServer: a node connected to one server of three is
// reached from each of them (the others pipe through the one holding its
// session, though its registration was forwarded to the leader), and is
// unreachable once its session closes.
func TestDialNodeThroughAnyServer(t *testing.T) {
	servers := startCluster(t, 3)
	holder := followerOf(servers)
	node := testNode()
	sess := fakeClientAgent(t, holder, node)

	for _, s := range servers {
		conn, err := s.DialNode(t.Context(), node.ID)
		if err != nil {
			t.Fatalf("DialNode on %s: %v", s.RPCAddr(), err)
		}
		st, err := rpcwire.OpenStream(t.Context(), conn, structs.ClientFSList, &structs.FSRequest{Path: "via " + s.RPCAddr()})
		if err != nil {
			t.Fatalf("call through %s: %v", s.RPCAddr(), err)
		}
		var f structs.StreamFrame
		if err := st.Recv(&f); err != nil {
			t.Fatal(err)
		}
		if f.File != structs.ClientFSList+"@"+node.ID || string(f.Data) != "via "+s.RPCAddr() {
			t.Errorf("through %s the client answered %q %q", s.RPCAddr(), f.File, f.Data)
		}
		st.Close()
	}

	sess.Close()
	waitFor(t, 30*time.Second, "every server to forget the node's session", func() bool {
		for _, s := range servers {
			ctx, cancel := context.WithCancel(t.Context())
			_, err := s.DialNode(ctx, node.ID)
			cancel()
			if !errors.Is(err, structs.ErrNotFound) {
				return false
			}
		}
		return true
	})
}
