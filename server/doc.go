// Package server is orch's control plane: the Raft-replicated servers that
// accept jobs, decide where their allocations run and track client nodes.
//
// One Server owns, under <DataDir>/server/:
//
//   - Raft (hashicorp/raft on raft-boltdb, file snapshots) whose FSM applies
//     log entries to the state store (server/state);
//   - one TCP listener on the RPC port whose first byte selects Raft's
//     transport or a yamux session of msgpack net/rpc streams (rpc.go);
//   - the RPC endpoints listed in structs/rpc.go (*_endpoint.go), which the
//     HTTP API and in-process clients call through (*Server).RPC, exactly as
//     remote clients do over the network;
//   - gossip membership (memberlist) on the gossip port.
//
// While it is the Raft leader it also runs the eval broker and blocked evals
// (server/broker), the scheduler workers (worker.go), the plan applier
// (plan_apply.go) and a heartbeat timer per client node (heartbeat.go); see
// leader.go for how these start and stop with leadership.
//
// Data flow of a job registration: Job.Register commits the job and its
// evaluation in one Raft entry; the FSM applies it and, on the leader,
// enqueues the evaluation; a worker dequeues it, runs the scheduler on a state
// snapshot and submits the plan; the plan applier re-checks the plan against
// the latest state and commits what fits in one Raft entry; clients see their
// new allocations through a blocking Node.GetClientAllocs (IDs and
// AllocModifyIndex) and fetch the new or changed ones with Alloc.GetAllocs.
//
// Upgrades. A cluster is upgraded one server at a time, so servers of
// different builds share one Raft log. Every log entry type has an entry
// version, the release of the log format that introduced it
// (entry_versions.go); a server reads every type up to its MaxEntryVersion
// and advertises that number in gossip. The rule: a new entry type is
// written only once every server of the Raft configuration reads it —
// raftApply on the leader refuses it before that, naming the servers to
// upgrade — except types flagged MsgIgnoreUnknownFlag, which older servers
// skip and which must therefore carry only information they can do without.
// Entries of the first version are read by every server and never gated. A
// server is never downgraded below a version the log already holds.
package server
