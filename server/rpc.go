package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/raft"
	"github.com/hashicorp/yamux"
	"github.com/orch-io/orch/internal/rpcwire"
	"github.com/orch-io/orch/structs"
)

// The RPC port carries two protocols on one TCP listener. A connection's first
// byte says which (structs.RPCTypeRaft, structs.RPCTypeMultiplex): Raft's
// network transport, or a yamux session whose every stream is one msgpack
// net/rpc connection (a client opens one stream per call). A first byte of
// structs.RPCTypeTLS wraps either in TLS (rpc_tls.go).

// firstByteTimeout bounds how long an accepted connection may take to say what
// it carries, so that idle probes do not pin goroutines.
const firstByteTimeout = 10 * time.Second

// registerEndpoints registers every RPC endpoint of structs/rpc.go with the
// dispatcher (dispatch.go).
func (s *Server) registerEndpoints() error {
	s.endpoints = &dispatcher{logger: s.logger, methods: map[string]*endpointMethod{}, received: s.config.testHooks.rpcReceived,
		metrics: s.metrics, checkPeer: s.checkServerOnly, checkRegion: s.checkRegion, tracer: s.config.Tracer}
	if s.config.ACLEnabled {
		s.endpoints.authorize = s.authorizeRPC
	}
	for name, rcvr := range map[string]any{
		"Job":                 &jobEndpoint{srv: s},
		"Node":                &nodeEndpoint{srv: s},
		"Alloc":               &allocEndpoint{srv: s},
		"Eval":                &evalEndpoint{srv: s},
		"Status":              &statusEndpoint{srv: s},
		"Operator":            &operatorEndpoint{srv: s},
		"ACL":                 &aclEndpoint{srv: s},
		"ServiceRegistration": &serviceEndpoint{srv: s},
		"Keyring":             &keyringEndpoint{srv: s},
		"Deployment":          &deploymentEndpoint{srv: s},
		"Namespace":           &namespaceEndpoint{srv: s},
		"System":              &systemEndpoint{srv: s},
	} {
		if err := s.endpoints.register(name, rcvr); err != nil {
			return err
		}
	}
	return nil
}

// RPC calls an endpoint method ("Job.Register") in process, on the caller's
// goroutine. Args and reply are copied through msgpack as over the network
// (the caller never shares objects with the state store), and an error comes
// back as a *structs.Error with its code, exactly as a network caller sees
// it. ctx ends the call: a blocking query returns, a forwarded call is
// abandoned. Safe for concurrent use.
func (s *Server) RPC(ctx context.Context, method string, args, reply any) error {
	return s.endpoints.inProcess(ctx, method, args, reply)
}

// roundTrip copies from into to by encoding and decoding, as the wire would.
func roundTrip(from, to any) error {
	buf, err := structs.Encode(from)
	if err != nil {
		return err
	}
	return structs.Decode(buf, to)
}

// listenRPC opens the RPC listener. The Raft layer is created with it because
// Raft's transport needs its address.
func (s *Server) listenRPC(advertiseIP string) error {
	ln, err := net.Listen("tcp", net.JoinHostPort(s.config.BindAddr, fmt.Sprint(s.config.RPCPort)))
	if err != nil {
		return fmt.Errorf("server: listening for RPC on %s:%d: %w", s.config.BindAddr, s.config.RPCPort, err)
	}
	s.rpcListener = ln
	port := ln.Addr().(*net.TCPAddr).Port
	s.rpcAdvertise = &net.TCPAddr{IP: net.ParseIP(advertiseIP), Port: port}
	s.raftLayer = newRaftLayer(s.rpcAdvertise, s.outgoingTLS)
	if !s.config.testHooks.noPeerCloseProbe {
		s.raftLayer.onPeerClose = s.raftPeerClosed
	}
	return nil
}

// serveRPC accepts connections until the listener is closed. It runs in its
// own goroutine.
func (s *Server) serveRPC() {
	defer s.wg.Done()
	for {
		conn, err := s.rpcListener.Accept()
		if err != nil {
			if s.shutdownCtx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			s.logger.Error("accepting RPC connection failed", "error", err)
			select {
			case <-time.After(100 * time.Millisecond):
			case <-s.shutdownCtx.Done():
				return
			}
			continue
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.handleConn(conn)
		}()
	}
}

// handleConn reads the first byte of conn and hands it to what it asks for.
// A TLS connection (rpc_tls.go) is read again for the byte inside it; with
// TLS configured, a plain connection is refused.
func (s *Server) handleConn(conn net.Conn) {
	typ, ok := s.readConnType(conn)
	if !ok {
		return
	}
	var p peer
	switch {
	case typ == structs.RPCTypeTLS:
		if conn, p, ok = s.acceptTLS(conn); !ok {
			return
		}
		if typ, ok = s.readConnType(conn); !ok {
			return
		}
	case !s.acceptsPlain() && (typ == structs.RPCTypeRaft || typ == structs.RPCTypeMultiplex):
		s.logger.Warn("refused a plaintext RPC connection: this server requires TLS (tls { rpc = true }, no rpc_upgrade_mode); configure the caller's tls block with the cluster's CA and a certificate",
			"remote", conn.RemoteAddr())
		conn.Close()
		return
	}
	switch typ {
	case structs.RPCTypeRaft:
		if !s.mayActAsServer(p) {
			s.logger.Warn("refused a Raft connection from a peer whose certificate is not a server's (verify_server_hostname)",
				"remote", conn.RemoteAddr(), "peer_role", p.role)
			conn.Close()
			return
		}
		s.raftLayer.handoff(conn)
	case structs.RPCTypeMultiplex:
		s.serveMultiplex(conn, p)
	default:
		s.logger.Warn("RPC connection of unknown type closed", "remote", conn.RemoteAddr(), "type", typ, "tls", p.tls)
		conn.Close()
	}
}

// readConnType reads the byte that says what conn carries, within
// firstByteTimeout; false means conn was closed.
func (s *Server) readConnType(conn net.Conn) (byte, bool) {
	var typ [1]byte
	_ = conn.SetReadDeadline(time.Now().Add(firstByteTimeout))
	if _, err := io.ReadFull(conn, typ[:]); err != nil {
		s.logger.Debug("RPC connection closed before saying what it carries", "remote", conn.RemoteAddr(), "error", err)
		conn.Close()
		return 0, false
	}
	_ = conn.SetReadDeadline(time.Time{})
	return typ[0], true
}

// serveMultiplex runs a yamux server session on conn and serves each stream
// with the dispatcher, until the session ends. p is who is on the other end.
func (s *Server) serveMultiplex(conn net.Conn, p peer) {
	cfg := yamux.DefaultConfig()
	cfg.LogOutput = nil
	cfg.Logger = newStdLogger(s.logger, "yamux")
	framed := rpcwire.JoinFrames(conn)
	session, err := yamux.Server(framed, cfg)
	if err != nil {
		s.logger.Error("starting yamux session failed", "remote", conn.RemoteAddr(), "error", err)
		framed.Close() // its writer goroutine too
		return
	}
	if !s.trackSession(session, true) {
		session.Close()
		return
	}
	defer s.trackSession(session, false)
	ms := s.nodeConns.newSession(session)
	var ended error // what the session's receive loop ended on
	defer func() { s.sessionEnded(ms, ended) }()
	ctx := withPeer(withSession(s.shutdownCtx, ms), p)
	streams := rpcwire.NewStreams()
	for {
		stream, err := session.AcceptStream()
		if err != nil {
			ended = err
			// Wake the readers before Close, which marks the streams
			// closed only after the receive loop exits (rpcwire.Streams).
			streams.End()
			if !session.IsClosed() && !errors.Is(err, io.EOF) {
				s.logger.Debug("yamux session ended", "remote", conn.RemoteAddr(), "error", err)
			}
			session.Close()
			return
		}
		streams.Add(stream)
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer streams.Remove(stream)
			s.serveYamuxStream(ctx, stream)
		}()
	}
}

// serveYamuxStream serves one stream of a multiplexed session: a streaming
// call (internal/rpcwire.StreamMarker first) or a net/rpc connection.
func (s *Server) serveYamuxStream(ctx context.Context, stream net.Conn) {
	var first [1]byte
	if _, err := io.ReadFull(stream, first[:]); err != nil {
		stream.Close()
		return
	}
	if first[0] == rpcwire.StreamMarker {
		s.serveStreamCall(ctx, stream)
		return
	}
	s.endpoints.serveStream(ctx, rpcwire.NewPeekedConn(stream, first[0]))
}

// trackSession adds (or removes) a session to the set Shutdown closes. Adding
// fails once shutdown has begun.
func (s *Server) trackSession(session *yamux.Session, add bool) bool {
	s.sessions.Lock()
	defer s.sessions.Unlock()
	if !add {
		delete(s.sessions.m, session)
		return true
	}
	if s.sessions.closed {
		return false
	}
	s.sessions.m[session] = struct{}{}
	return true
}

// closeSessions closes every multiplexed connection; their streams end, and
// the calls still running for them are cancelled.
func (s *Server) closeSessions() {
	s.sessions.Lock()
	s.sessions.closed = true
	list := make([]*yamux.Session, 0, len(s.sessions.m))
	for sess := range s.sessions.m {
		list = append(list, sess)
	}
	s.sessions.Unlock()
	for _, sess := range list {
		sess.Close()
	}
}

// raftLayer is Raft's StreamLayer over the shared RPC listener: Accept returns
// the connections whose first byte was RPCTypeRaft (inside TLS or not), Dial
// writes that byte (inside TLS when tlsConfig gives a configuration).
type raftLayer struct {
	addr net.Addr
	// onPeerClose, when set, is called when the other end of an accepted
	// connection closes it (raft_failover.go).
	onPeerClose func()
	tlsConfig   func() *tls.Config
	conns       chan net.Conn
	closed      chan struct{}
	closeOnce   sync.Once
}

var _ raft.StreamLayer = (*raftLayer)(nil)

func newRaftLayer(addr net.Addr, tlsConfig func() *tls.Config) *raftLayer {
	return &raftLayer{addr: addr, tlsConfig: tlsConfig, conns: make(chan net.Conn), closed: make(chan struct{})}
}

// handoff gives an accepted Raft connection to Accept, or closes it when the
// layer is closed.
func (l *raftLayer) handoff(conn net.Conn) {
	select {
	case l.conns <- conn:
	case <-l.closed:
		conn.Close()
	}
}

// Accept waits for the next Raft connection.
func (l *raftLayer) Accept() (net.Conn, error) {
	select {
	case conn := <-l.conns:
		if l.onPeerClose != nil {
			conn = &peerWatchedConn{Conn: conn, onPeerClose: l.onPeerClose}
		}
		return conn, nil
	case <-l.closed:
		return nil, fmt.Errorf("server: raft layer closed: %w", net.ErrClosed)
	}
}

// Close stops Accept; the shared listener is closed by the server.
func (l *raftLayer) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return nil
}

// Addr is the advertised RPC address: Raft's address for this server.
func (l *raftLayer) Addr() net.Addr { return l.addr }

// Dial opens a Raft connection to another server's RPC port.
func (l *raftLayer) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return rpcwire.DialConn(ctx, string(address), structs.RPCTypeRaft, l.tlsConfig())
}
