package server

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"

	"github.com/hashicorp/yamux"
	"github.com/orch-io/orch/internal/rpcwire"
	"github.com/orch-io/orch/structs"
)

// Reaching a client agent from the servers (the reverse path of the client
// endpoints in structs/client_rpc.go). A client agent holds one yamux session
// to one server, over which it registers and heartbeats; yamux streams go
// both ways, so that server opens a stream in the same session to call the
// client, which needs no inbound port. Each server remembers, per node, the
// session the node's last successful Node.Register or Node.UpdateStatus
// arrived on (not a forwarded one: that came from another server), and
// forgets it when the session closes. A server asked for a node it holds no
// session of asks the other servers (Server.DialNode, marked forwarded so it
// goes one hop), and the one that holds it pipes the stream through.
//
// A combined agent's own client talks to its server in process, with no
// session: the agent's client registers itself with ServeClientStreams.

// sessionCtxKey carries, in an RPC handler's context, the yamux session the
// call arrived on.
type sessionCtxKey struct{}

func withSession(ctx context.Context, sess *yamux.Session) context.Context {
	return context.WithValue(ctx, sessionCtxKey{}, sess)
}

// nodeConns maps node IDs to the sessions their clients hold to this server.
// Safe for concurrent use.
type nodeConns struct {
	mu     sync.Mutex
	byNode map[string]*yamux.Session
	// local serves the client endpoints of a client in this process.
	localNode  string
	localServe func(io.ReadWriteCloser)
}

func newNodeConns() *nodeConns { return &nodeConns{byNode: make(map[string]*yamux.Session)} }

// note records that nodeID's client called over the session in ctx, if any
// (an in-process call has none).
func (n *nodeConns) note(ctx context.Context, nodeID string) {
	sess, _ := ctx.Value(sessionCtxKey{}).(*yamux.Session)
	if sess == nil || nodeID == "" {
		return
	}
	n.mu.Lock()
	n.byNode[nodeID] = sess
	n.mu.Unlock()
}

// forget drops every node whose session is sess (it closed).
func (n *nodeConns) forget(sess *yamux.Session) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for id, s := range n.byNode {
		if s == sess {
			delete(n.byNode, id)
		}
	}
}

// ServeClientStreams makes the server reach the client of nodeID, which
// runs in this process, by calling serve on one end of an in-memory pipe
// (the client agent calls it when its RPCer is this server). serve owns the
// stream it gets and returns when it is done with it.
func (s *Server) ServeClientStreams(nodeID string, serve func(io.ReadWriteCloser)) {
	s.nodeConns.mu.Lock()
	s.nodeConns.localNode, s.nodeConns.localServe = nodeID, serve
	s.nodeConns.mu.Unlock()
}

// DialNode returns a byte stream to the client endpoints of nodeID's client
// agent, on which the caller opens one streaming call (rpcwire.OpenStream)
// and which it closes. ctx bounds the dial and the life of the stream. It fails with a CodeNotFound error when no server
// holds a connection to the node.
func (s *Server) DialNode(ctx context.Context, nodeID string) (io.ReadWriteCloser, error) {
	conn, err := s.dialNodeHere(nodeID)
	if err == nil || !errors.Is(err, structs.ErrNotFound) {
		return conn, err
	}
	self := s.RPCAddr()
	for _, addr := range s.serverAddrs() {
		if addr == self {
			continue
		}
		conn, err := s.dialNodeVia(ctx, addr, nodeID)
		if err == nil {
			return conn, nil
		}
		if !errors.Is(err, structs.ErrNotFound) {
			s.logger.Debug("asking a server for a node connection failed", "server", addr, "node_id", nodeID, "error", err)
		}
	}
	return nil, structs.NewError(structs.CodeNotFound, "node %s is not connected to any server (down, or its agent is restarting)", nodeID)
}

// dialNodeHere opens a stream to nodeID over a connection this server holds.
func (s *Server) dialNodeHere(nodeID string) (io.ReadWriteCloser, error) {
	s.nodeConns.mu.Lock()
	sess := s.nodeConns.byNode[nodeID]
	local, serve := s.nodeConns.localNode, s.nodeConns.localServe
	s.nodeConns.mu.Unlock()
	if nodeID == local && serve != nil {
		mine, theirs := net.Pipe()
		go serve(theirs)
		return mine, nil
	}
	if sess == nil || sess.IsClosed() {
		return nil, structs.NewError(structs.CodeNotFound, "node %s is not connected to server %s", nodeID, s.RPCAddr())
	}
	stream, err := sess.OpenStream()
	if err != nil {
		return nil, structs.NewError(structs.CodeNotFound, "node %s: its connection to server %s failed: %v", nodeID, s.RPCAddr(), err)
	}
	return stream, nil
}

// dialNodeVia asks the server at addr for a stream to nodeID.
func (s *Server) dialNodeVia(ctx context.Context, addr, nodeID string) (io.ReadWriteCloser, error) {
	sess, _, err := s.pool.session(ctx, addr)
	if err != nil {
		return nil, err
	}
	stream, err := sess.OpenStream()
	if err != nil {
		s.pool.drop(addr, sess)
		return nil, err
	}
	st, err := rpcwire.OpenStream(ctx, stream, structs.ServerDialNode, &structs.DialNodeRequest{NodeID: nodeID, Forwarded: true})
	if err != nil {
		return nil, err
	}
	// The answer is in: from here on the stream is the node's.
	return st.Conn(), nil
}

// serveStreamCall serves one streaming call that arrived on the RPC port
// (its marker byte read). The servers' only streaming method is
// Server.DialNode.
func (s *Server) serveStreamCall(ctx context.Context, conn io.ReadWriteCloser) {
	method, st, err := rpcwire.ReadStreamHeader(conn)
	if err != nil {
		conn.Close()
		return
	}
	if method != structs.ServerDialNode {
		var skip struct{}
		_ = st.Recv(&skip)
		_ = st.Answer(structs.NewError(structs.CodeInvalid, "unknown streaming method %q", method))
		st.Close()
		return
	}
	var args structs.DialNodeRequest
	if err := st.Recv(&args); err != nil {
		_ = st.Answer(structs.NewError(structs.CodeInvalid, "decoding the arguments of %s: %v", method, err))
		st.Close()
		return
	}
	var node io.ReadWriteCloser
	if args.Forwarded {
		node, err = s.dialNodeHere(args.NodeID)
	} else {
		node, err = s.DialNode(ctx, args.NodeID)
	}
	if err != nil {
		_ = st.Answer(err)
		st.Close()
		return
	}
	if err := st.Answer(nil); err != nil {
		node.Close()
		st.Close()
		return
	}
	stop := context.AfterFunc(ctx, func() { conn.Close(); node.Close() })
	defer stop()
	rpcwire.Splice(conn, node)
}
