// Package serviceregistration keeps the servers' built-in service registry
// (provider "nomad") in step with the allocations a client runs.
//
// Instances is the brain: a pure function from an allocation's state (and
// its node) to the service instances it should have registered now — a
// group's services while the allocation runs, a task's while the task runs.
// The Registrar is the plumbing: the client hands it every new state of
// every allocation (the same states it sends the servers), it diffs the
// instances against those it registered and sends the changes in batches
// (ServiceRegistration.Upsert), retrying with backoff. The servers remove an
// allocation's instances themselves once it is terminal or its node down,
// so a client that dies leaves nothing behind for longer than its heartbeat
// TTL.
package serviceregistration
