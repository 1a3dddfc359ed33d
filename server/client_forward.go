package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/yamux"
	"github.com/orch-io/orch/acl"
	"github.com/orch-io/orch/internal/rpcwire"
	"github.com/orch-io/orch/server/state"
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

// sessionCtxKey carries, in an RPC handler's context, the session the call
// arrived on (a *muxSession).
type sessionCtxKey struct{}

func withSession(ctx context.Context, ms *muxSession) context.Context {
	return context.WithValue(ctx, sessionCtxKey{}, ms)
}

// sessionOf returns the session a call arrived on, nil for an in-process call.
func sessionOf(ctx context.Context) *muxSession {
	ms, _ := ctx.Value(sessionCtxKey{}).(*muxSession)
	return ms
}

// muxSession is a multiplexed session this server accepted, named so that
// the leader can tell it from any other (session_liveness.go).
type muxSession struct {
	sess *yamux.Session
	// name is unique across servers and their restarts: this server's
	// instance name, a slash, a sequence number.
	name string
	// Guarded by nodeConns.mu: nodes are those whose last call came in on
	// this session; ended is set when it closed (nodeConns.forget),
	// peerClosed when its client's end closed it (session_liveness.go).
	nodes             map[string]bool
	ended, peerClosed bool
}

// nodeConns maps node IDs to the sessions their clients hold to this server.
// Safe for concurrent use.
type nodeConns struct {
	// instance names this server's run in its sessions' names; seq numbers
	// them (newSession).
	instance string
	seq      atomic.Uint64

	mu     sync.Mutex
	byNode map[string]*muxSession
	// local serves the client endpoints of a client in this process.
	localNode  string
	localServe func(io.ReadWriteCloser)
}

func newNodeConns() *nodeConns {
	return &nodeConns{instance: structs.GenerateUUID()[:8], byNode: make(map[string]*muxSession)}
}

// newSession names a session this server accepted.
func (n *nodeConns) newSession(sess *yamux.Session) *muxSession {
	return &muxSession{sess: sess, name: fmt.Sprintf("%s/%d", n.instance, n.seq.Add(1)), nodes: map[string]bool{}}
}

// note records that nodeID's client called over the session ms. It reports
// false when ms has ended meanwhile (the node is not recorded).
func (n *nodeConns) note(ms *muxSession, nodeID string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if ms.ended {
		return false
	}
	if prev := n.byNode[nodeID]; prev != nil && prev != ms {
		delete(prev.nodes, nodeID)
	}
	n.byNode[nodeID] = ms
	ms.nodes[nodeID] = true
	return true
}

// forget marks ms ended (closed by its peer or not) and drops the nodes
// whose session it is, and returns them.
func (n *nodeConns) forget(ms *muxSession, peerClosed bool) []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	ms.ended, ms.peerClosed = true, peerClosed
	lost := make([]string, 0, len(ms.nodes))
	for id := range ms.nodes {
		delete(n.byNode, id)
		lost = append(lost, id)
	}
	ms.nodes = nil
	return lost
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

// DialNode returns a byte stream to the client endpoints of req.NodeID's
// client agent, on which the caller opens the one streaming call req names
// (rpcwire.OpenStream of req.Method on req.AllocID) and which it closes. The
// call is authorized first (authorizeClientCall). ctx bounds the dial and
// the life of the stream. It fails with a CodeNotFound error when no server
// holds a connection to the node.
func (s *Server) DialNode(ctx context.Context, req *structs.DialNodeRequest) (io.ReadWriteCloser, error) {
	if err := s.authorizeClientCall(ctx, req); err != nil {
		return nil, err
	}
	conn, err := s.dialNodeHere(ctx, req.NodeID)
	if err == nil || !errors.Is(err, structs.ErrNotFound) {
		return conn, err
	}
	self := s.RPCAddr()
	for _, addr := range s.serverAddrs() {
		if addr == self {
			continue
		}
		conn, err := s.dialNodeVia(ctx, addr, req)
		if err == nil {
			return conn, nil
		}
		if !errors.Is(err, structs.ErrNotFound) {
			s.logger.Debug("asking a server for a node connection failed", "server", addr, "node_id", req.NodeID, "error", err)
		}
	}
	return nil, structs.NewError(structs.CodeNotFound, "node %s is not connected to any server (down, or its agent is restarting)", req.NodeID)
}

// clientCallStateWait bounds how long a server waits to apply the
// allocation a client call names (DialNodeRequest.AllocIndex).
const clientCallStateWait = 10 * time.Second

// authorizeClientCall decides whether the client call req names may be
// made: the method is a client call, the allocation exists (once this
// server's state has reached req.AllocIndex) and runs on req.NodeID, and,
// with ACLs, req's token has the method's capability in the allocation's
// namespace. Every server a request passes through decides again, from its
// own state: none trusts another's decision.
func (s *Server) authorizeClientCall(ctx context.Context, req *structs.DialNodeRequest) error {
	if structs.NodeCall(req.Method) {
		return s.authorizeNodeCall(ctx, req)
	}
	if _, ok := clientCallCapability[req.Method]; !ok {
		return structs.NewError(structs.CodeInvalid, "%s: method = %q: not a client call", structs.ServerDialNode, req.Method)
	}
	ctx, cancel := context.WithTimeout(ctx, clientCallStateWait)
	defer cancel()
	var alloc *structs.Allocation
	var snap *state.Snapshot
	// minIndex 1 and answers of 0 or 2: wait until the allocation appears
	// or the state reaches the caller's index.
	_ = runBlockingQuery(ctx, s.state, s.queryGate, 1, nil, func(sn *state.Snapshot) (uint64, error) {
		snap, alloc = sn, sn.AllocByID(req.AllocID)
		if alloc != nil || sn.IndexUnwatched(state.TableAllocs) >= req.AllocIndex {
			return 2, nil
		}
		return 0, nil
	})
	switch {
	case alloc == nil:
		return structs.NewError(structs.CodeNotFound, "allocation %q not found", req.AllocID)
	case alloc.NodeID != req.NodeID:
		return structs.NewError(structs.CodeInvalid, "allocation %s runs on node %q, not %q", req.AllocID, alloc.NodeID, req.NodeID)
	case !s.config.ACLEnabled:
		return nil
	}
	caps, _ := ClientCallCapabilities(req.Method, alloc)
	z := &authz{srv: s, snap: snap, secret: req.AuthToken}
	return z.allow(func(a *acl.ACL) bool { return allowAll(a, alloc.Namespace, caps) })
}

// authorizeNodeCall decides a client call about a node as a whole (node GC,
// node metadata): it names no allocation, the node exists (once this
// server's state has reached req.AllocIndex, which is then the index at
// which the caller read the node), and, with ACLs, req's token may read the
// node (metadata read) or write it (the others), as in Nomad.
func (s *Server) authorizeNodeCall(ctx context.Context, req *structs.DialNodeRequest) error {
	if req.AllocID != "" {
		return structs.NewError(structs.CodeInvalid, "%s: method %s is about a node: alloc_id = %q must be empty", structs.ServerDialNode, req.Method, req.AllocID)
	}
	ctx, cancel := context.WithTimeout(ctx, clientCallStateWait)
	defer cancel()
	var node *structs.Node
	var snap *state.Snapshot
	_ = runBlockingQuery(ctx, s.state, s.queryGate, 1, nil, func(sn *state.Snapshot) (uint64, error) {
		snap, node = sn, sn.NodeByID(req.NodeID)
		if node != nil || sn.IndexUnwatched(state.TableNodes) >= req.AllocIndex {
			return 2, nil
		}
		return 0, nil
	})
	switch {
	case node == nil:
		return structs.NewError(structs.CodeNotFound, "node %q not found", req.NodeID)
	case !s.config.ACLEnabled:
		return nil
	}
	z := &authz{srv: s, snap: snap, secret: req.AuthToken}
	switch req.Method {
	case structs.ClientNodeMetaRead:
		return z.allow((*acl.ACL).AllowNodeRead)
	case structs.ClientAgentMonitor:
		return z.allow((*acl.ACL).AllowAgentRead)
	case structs.ClientAgentProfile:
		return z.allow((*acl.ACL).AllowAgentWrite)
	}
	return z.allow((*acl.ACL).AllowNodeWrite)
}

// dialNodeHere opens a stream to nodeID over a connection this server holds,
// giving up when ctx ends.
func (s *Server) dialNodeHere(ctx context.Context, nodeID string) (io.ReadWriteCloser, error) {
	s.nodeConns.mu.Lock()
	ms := s.nodeConns.byNode[nodeID]
	local, serve := s.nodeConns.localNode, s.nodeConns.localServe
	s.nodeConns.mu.Unlock()
	if nodeID == local && serve != nil {
		mine, theirs := net.Pipe()
		go serve(theirs)
		return mine, nil
	}
	if ms == nil || ms.sess.IsClosed() {
		return nil, structs.NewError(structs.CodeNotFound, "node %s is not connected to server %s", nodeID, s.RPCAddr())
	}
	stream, err := rpcwire.OpenSessionStream(ctx, ms.sess)
	if err != nil {
		return nil, structs.NewError(structs.CodeNotFound, "node %s: its connection to server %s failed: %v", nodeID, s.RPCAddr(), err)
	}
	return stream, nil
}

// dialNodeVia asks the server at addr for a stream for req.
func (s *Server) dialNodeVia(ctx context.Context, addr string, req *structs.DialNodeRequest) (io.ReadWriteCloser, error) {
	sess, _, err := s.pool.session(ctx, addr)
	if err != nil {
		return nil, err
	}
	stream, err := rpcwire.OpenSessionStream(ctx, sess)
	if err != nil {
		if ctx.Err() == nil {
			s.pool.drop(addr, sess)
		}
		return nil, err
	}
	fwd := *req
	fwd.Forwarded = true
	st, err := rpcwire.OpenStream(ctx, stream, structs.ServerDialNode, &fwd)
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
	if method == structs.AgentMonitor || method == structs.AgentProfile {
		s.serveAgentCall(ctx, method, st)
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
	switch {
	case args.Forwarded:
		if err = s.checkServerOnly(ctx, method, &args); err == nil {
			err = s.authorizeClientCall(ctx, &args)
		}
		if err == nil {
			node, err = s.dialNodeHere(ctx, args.NodeID)
		}
	default:
		node, err = s.DialNode(ctx, &args)
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
	if err := passClientCall(conn, node, &args); err != nil {
		s.logger.Warn("client call refused after the dial", "node_id", args.NodeID, "error", err)
		node.Close()
		conn.Close()
		return
	}
	stop := context.AfterFunc(ctx, func() { conn.Close(); node.Close() })
	defer stop()
	rpcwire.Splice(conn, node)
}

// passClientCall reads the client call the caller opens on conn once
// Server.DialNode said yes and sends it on to node, if it is the call that
// was authorized (req's method, on req's allocation); otherwise it answers
// the caller with a permission error and returns it. The caller's stream
// is opaque to the server after that: this is where it holds the caller to
// what it asked for.
func passClientCall(conn, node io.ReadWriteCloser, req *structs.DialNodeRequest) error {
	var marker [1]byte
	if _, err := io.ReadFull(conn, marker[:]); err != nil {
		return err
	}
	if marker[0] != rpcwire.StreamMarker {
		return fmt.Errorf("the caller sent %#x, not a streaming call", marker[0])
	}
	method, st, err := rpcwire.ReadStreamHeader(conn)
	if err != nil {
		return err
	}
	args, ok := structs.NewClientCallArgs(method)
	if ok {
		err = st.Recv(args)
	}
	switch {
	case err != nil:
		return err
	case !ok || method != req.Method || args.CallAllocID() != req.AllocID:
		err := structs.NewError(structs.CodePermissionDenied,
			"Permission denied: the stream was opened for %s on allocation %s", req.Method, req.AllocID)
		_ = st.Answer(err)
		return err
	}
	return rpcwire.StartStream(node, method, args)
}
