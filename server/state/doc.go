// Package state is the servers' state store: jobs, nodes, allocations and
// evaluations in go-memdb, an in-memory database of immutable radix trees.
//
// The Raft FSM is its only writer: every write method takes the Raft index of
// the entry being applied and runs in one memdb write transaction, so a write is
// all or nothing. Readers take a Snapshot, a consistent read-only view that
// costs nothing to take and never blocks writers: the scheduler plans against
// one, the plan applier checks plans against one, the RPC endpoints answer from
// one. A WatchSnapshot also records what each read covered into a Watch that
// fires when that changes (watch.go): the server's blocking queries
// (`?index=N`, the client's allocation watch) re-run on it, so a write wakes
// only the queries that read what it changed.
//
// The store exposes typed methods only; memdb stays inside this package.
package state
