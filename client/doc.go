// Package client is orch's node agent: it fingerprints the machine, registers
// the node with the servers and heartbeats, watches the allocations the servers
// assign to the node (a blocking query), runs each one with an alloc runner
// (package client/allocrunner, which starts tasks through the drivers of
// client/driver), and reports their status back in batches.
//
// What the client runs is persisted in a local bbolt file (client/state)
// before it starts, so a restarted agent is the same node and knows its
// allocations. Until the per-node supervisor exists (DESIGN.md, "Clients"),
// tasks do not outlive the agent: Shutdown stops them and NewClient starts them
// again.
//
// The client reaches the servers only through RPCer: the in-process server in
// dev mode, or an RPCClient over the network. It never imports package server.
package client
