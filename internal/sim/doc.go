// Package sim is orch's cluster-scale simulator: real servers (1 or 3
// `orch agent -server` processes on loopback, on-disk Raft, started and
// always stopped by the simulator) and thousands of simulated client nodes in
// this process.
//
// A simulated node does on the wire what a client agent does, and nothing
// else: it registers (Node.Register) a node with realistic attributes (one of
// five classes, one of 25 racks, one of three datacenters), heartbeats
// (Node.UpdateStatus) on the TTL the leader hands it, holds the client's
// blocking allocation watch (Node.GetClientAllocs) and reports each new
// allocation running (Node.UpdateAlloc). It runs no task. The calls are real
// msgpack RPCs on real yamux sessions (client.RPCClient); many simulated nodes
// share a few sessions, so 5,000 fit in one process.
//
// Run drives a scenario (jobs submitted at once, optionally a leader kill, a
// node loss, a quiet steady state), samples the cluster once a second into a time series
// (CSV, PNG plot) and returns the figures; Check verifies the invariants at
// the end (no node over-committed, every allocation running exactly once,
// every evaluation terminal). cmd/orch-sim is its command line; the package's
// test runs a small simulation under `make test`.
package sim
