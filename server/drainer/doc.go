// Package drainer decides what a node drain does next: which allocations of
// a draining node to mark for migration (paced by each service group's
// migrate block), which to stop at the deadline, and whether the drain is
// complete — every allocation on the node terminal as its client reported
// it. Decide is a pure function of the state and the time; the leader's
// drain loop (server/drain_loop.go) reads the state, calls it, and commits
// what it returns through Raft, again whenever the state changes or the
// decision's NextCheck comes.
package drainer
