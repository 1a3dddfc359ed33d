package server

import (
	"context"
	"crypto/tls"
	"net"

	"github.com/orch-io/orch/internal/tlsutil"
	"github.com/orch-io/orch/structs"
)

// TLS on the RPC port (Config.TLS). A connection that starts with
// structs.RPCTypeTLS is a TLS handshake (mutual: the caller's certificate must
// be signed by the cluster's CA), and the first byte inside it says again
// whether it is Raft or a multiplexed session. With TLS configured, plain
// connections are refused (a server never serves a caller it cannot
// identify), except in the migration modes of RPCTLSMode.
//
// Who the caller is (its certificate's role, tlsutil.PeerRole) matters for
// server-only traffic when verify_server_hostname is on: Raft, and requests a
// server forwards to another (marked Forwarded; the receiver trusts the
// forwarder to have routed them). A client's certificate is good for
// everything else: its calls are authorized as any other (ACL tokens, node
// secrets).

// peer is what the RPC port knows of the other end of a connection.
type peer struct {
	tls  bool
	role tlsutil.Role
}

// peerCtxKey carries, in an RPC handler's context, the peer of the
// connection the call arrived on. In-process calls carry none.
type peerCtxKey struct{}

func withPeer(ctx context.Context, p peer) context.Context {
	return context.WithValue(ctx, peerCtxKey{}, p)
}

// mayActAsServer reports whether p may send server-only traffic: always
// without TLS or without verify_server_hostname, else only with a server's
// certificate.
func (s *Server) mayActAsServer(p peer) bool {
	if s.config.TLS == nil || !s.config.TLS.Options().VerifyServerHostname {
		return true
	}
	if !p.tls && s.acceptsPlain() {
		return true // upgrade modes: a plain peer is trusted as without TLS
	}
	return p.tls && p.role == tlsutil.RoleServer
}

// checkServerOnly refuses a forwarded request that arrived over the network
// from a peer that may not act as a server. It runs before every network
// call (dispatcher.checkPeer) and for forwarded streaming calls.
func (s *Server) checkServerOnly(ctx context.Context, method string, args any) error {
	if !isForwarded(args) {
		return nil
	}
	p, ok := ctx.Value(peerCtxKey{}).(peer)
	if !ok || s.mayActAsServer(p) {
		return nil
	}
	s.logger.Warn("refused a forwarded request from a peer whose certificate is not a server's (verify_server_hostname)",
		"method", method, "peer_role", p.role)
	return structs.NewError(structs.CodePermissionDenied,
		"%s: forwarded requests are accepted from servers only: the caller's certificate does not name %s (verify_server_hostname)",
		method, tlsutil.ServerName(s.config.Region))
}

// isForwarded reports whether args are marked as sent on by another server.
func isForwarded(args any) bool {
	switch a := args.(type) {
	case structs.RPCInfo:
		return a.IsForwarded()
	case *structs.DialNodeRequest:
		return a.Forwarded
	}
	return false
}

// acceptTLS runs the server side of the handshake of a connection that
// started with structs.RPCTypeTLS, within the first-byte timeout. It returns
// the TLS connection and its peer, or false (the connection closed, the
// reason logged).
func (s *Server) acceptTLS(conn net.Conn) (net.Conn, peer, bool) {
	if s.config.TLS == nil {
		s.logger.Warn("refused a TLS RPC connection: this server has no tls block with rpc = true (or rpc_upgrade_mode = true)", "remote", conn.RemoteAddr())
		conn.Close()
		return nil, peer{}, false
	}
	tconn := tls.Server(conn, s.config.TLS.IncomingRPC())
	ctx, cancel := context.WithTimeout(s.shutdownCtx, firstByteTimeout)
	defer cancel()
	if err := tconn.HandshakeContext(ctx); err != nil {
		s.logger.Warn("refused an RPC connection: TLS handshake failed", "remote", conn.RemoteAddr(), "error", err)
		conn.Close()
		return nil, peer{}, false
	}
	return tconn, peer{tls: true, role: tlsutil.PeerRole(tconn.ConnectionState(), s.config.Region)}, true
}

// outgoingTLS is the TLS configuration of a new connection this server
// dials to another's RPC port (Raft, forwarding), or nil without TLS.
func (s *Server) outgoingTLS() *tls.Config {
	if s.config.TLS == nil || s.config.RPCTLSMode == RPCTLSAccept {
		return nil
	}
	return s.config.TLS.OutgoingRPC()
}

// RPCTLSMode is how a server with TLS material (Config.TLS) uses it on the
// RPC port. A cluster moves from plain RPC to TLS without downtime through
// the modes in order, one rolling restart each: every server first accepts
// TLS (RPCTLSAccept), then dials with it (RPCTLSUpgrade), then refuses plain
// connections (RPCTLSRequire). At each step every connection is between a
// dialer and a server that speak a common protocol.
type RPCTLSMode int

const (
	// RPCTLSRequire (tls { rpc = true }): every connection, accepted or
	// dialled, is mutual TLS; plain connections are refused.
	RPCTLSRequire RPCTLSMode = iota
	// RPCTLSUpgrade (rpc = true, rpc_upgrade_mode = true): dials with TLS,
	// accepts TLS and plain connections. A plain peer is trusted as in a
	// cluster without TLS (it may send Raft and forwarded requests even with
	// verify_server_hostname): the mode is for a migration, not to stay.
	RPCTLSUpgrade
	// RPCTLSAccept (rpc = false, rpc_upgrade_mode = true): dials plain,
	// accepts TLS and plain connections: the first step of a migration, so
	// that servers already dialling with TLS find every server accepting it.
	RPCTLSAccept
)

// acceptsPlain reports whether the RPC port serves plain connections.
func (s *Server) acceptsPlain() bool {
	return s.config.TLS == nil || s.config.RPCTLSMode != RPCTLSRequire
}
