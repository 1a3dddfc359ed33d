// Package structs is orch's domain model: jobs, task groups, tasks, nodes,
// allocations, evaluations, plans and the resource arithmetic that decides whether
// allocations fit on a node. It also holds the request and response types of the
// internal RPC interface, because they are the contract between the client agent,
// the servers and the HTTP API.
//
// Every other package of orch imports structs; structs imports nothing of ours.
// It does no I/O and starts no goroutines. Canonicalize fills defaults,
// Validate reports every problem at once, Copy makes deep copies: values read
// from the state store are shared and must be copied before they are modified.
//
// JSON field names follow Nomad's public API (ID, Name, TaskGroups, Count, ...),
// so that the HTTP API speaks the same language as Nomad's.
package structs
