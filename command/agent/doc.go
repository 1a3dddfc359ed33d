// Package agent is the orch agent process: its configuration file, the wiring
// of a server, a client or both in one process, and the HTTP API that serves
// /v1/... by calling the servers' RPC endpoints in process.
//
// `orch agent` (command/agent.go) builds a Config from DefaultConfig or
// DevConfig, the -config file and the flags, then calls New; Shutdown stops the
// HTTP API, then the client (which stops its tasks), then the server.
package agent
