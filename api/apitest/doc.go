// Package apitest is an in-memory fake of an orch cluster, seen through the
// Backend interface of the agent's HTTP API (command/agent.Backend): jobs, nodes,
// allocations and evaluations in maps, one global Raft-like index, blocking
// queries on that index, and knobs to inject errors.
//
// It exists so that the HTTP API, the Go client in package api and the CLI can
// be tested over real sockets without a real server, which is written
// separately (package server). Tests start the real HTTP server
// (agent.NewHTTPServer) over a *Backend on 127.0.0.1:0.
//
// The fake schedules nothing by itself: a test seeds nodes, allocations and
// evaluation outcomes with the Upsert methods, or plays the scheduler in
// OnEval. It imports only structs, so any test may use it.
package apitest
