// Package tlsutil is orch's TLS: the agent's certificate and CA held in a
// Store that SIGHUP reloads, the tls.Configs built from it for each side of
// each protocol (the RPC port, mutual TLS; the HTTP API), the names agents
// present (server.<region>.nomad, client.<region>.nomad, cli.<region>.nomad;
// servers are also accepted as server.<region>.orch), and the generation of
// a CA and certificates for `orch tls ca create` / `orch tls cert create`.
//
// Data flow: the agent builds a Store from its tls block; the server's RPC
// listener (server/rpc.go) takes IncomingRPC for connections that start with
// structs.RPCTypeTLS and asks PeerRole who is on the other end; every dialer
// of the RPC port (internal/rpcwire, Raft's stream layer, the servers' pool,
// the client agent) takes OutgoingRPC; the HTTP API wraps its listener with
// IncomingHTTP. Each handshake reads the Store's current material, so a
// reload applies to new connections and leaves open ones alone.
package tlsutil
