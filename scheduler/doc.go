// Package scheduler decides where allocations run. A server worker hands it one
// evaluation and a read-only snapshot of the cluster state; it answers with a
// plan (allocations to place, update or stop) submitted through a Planner, and
// with the evaluation's final status.
//
// The package is pure: it never reads the clock, never uses the global random
// source and does no I/O. The time and a seeded *rand.Rand come in Config, so
// the same scheduler runs in server workers, in `orch job plan` (a dry run whose
// Planner commits nothing) and in tests, and the same inputs give the same plan.
//
// Processing an evaluation has three steps:
//
//  1. reconcile (reconcile.go): compare a job's allocations with its groups'
//     counts and decide, per group, what to stop, what to place, what to update
//     in place and what to leave alone. Pure and table-driven.
//  2. place (stack.go wires the stages): for each placement, walk the shuffled
//     ready nodes of the job's datacenters and node pool (source.go) through
//     feasibility (feasible.go: drivers and constraints, driver.go and
//     constraint.go, cached per computed node class; distinct_hosts and
//     distinct_property over the plan, distinct.go), a resource fit that also
//     scores bin-packing (binpack.go, over the plan's per-node usage in
//     usage.go; or the spread algorithm of the cluster's
//     SchedulerConfiguration), job anti-affinity (antiaffinity.go), affinities
//     (affinity.go) and spreads (spread.go, which also orders the search by
//     the values it wants most), and pick the best mean score of a small
//     sample. Every decision is explained in a structs.AllocMetric
//     (metric.go, which also renders it for humans: FailureSummary).
//     When no node fits and the cluster's configuration enables preemption
//     for the job's type, preempt.go picks a node and a minimal set of
//     allocations of jobs at least 10 priority lower to evict
//     (Plan.NodePreemptions).
//  3. submit (generic.go): hand the plan to the Planner; if the plan applier
//     committed only part of it, start again from the fresher state it returns.
//     What cannot be placed is left to a blocked evaluation.
//
// Tests run the scheduler against the real state store (server/state) through
// an in-memory Planner (harness_test.go); scenario files in
// testdata/scenarios read as text.
//
// scheduler imports structs and nothing else of orch; in particular it never
// imports server. The State and Planner interfaces it reads and writes through
// are defined here and satisfied by the server's state snapshot and worker.
package scheduler
