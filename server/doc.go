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
// new allocations through a blocking Node.GetClientAllocs.
package server
