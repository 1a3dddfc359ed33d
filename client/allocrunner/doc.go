// Package allocrunner runs one allocation on a client node: the alloc runner
// builds the allocation's directory, starts a task runner per task and folds
// their states into the allocation's client status; each task runner drives its
// task through a driver (start, wait, restart per the group's restart policy,
// kill) and records what happens as task events.
//
// The client (package client) creates one AllocRunner per allocation the
// servers assign to the node, after persisting the allocation, and tells it
// when the servers change it. The runner reports every change of client state
// through callbacks the client gives it: one that persists, one that sends to
// the servers. The runner never talks to the servers nor to bbolt itself.
package allocrunner
