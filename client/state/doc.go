// Package state is the client agent's local state: one bbolt file,
// <data_dir>/client/state.db, holding the node's identity (so a restarted agent
// is the same node) and every allocation the client runs, with its last known
// client status and task states (so a restarted agent knows what it was
// running). Values are msgpack-encoded with structs.MsgpackHandle.
//
// The client is its only user. A DB is safe for concurrent use; every write is
// its own bbolt transaction, durable when the call returns.
package state
