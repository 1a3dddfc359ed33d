// Package broker holds the leader's in-memory machinery between a committed
// evaluation and a committed plan:
//
//   - Broker queues evaluations ready to schedule. The FSM on the leader
//     enqueues each pending evaluation as it commits; workers Dequeue one for
//     their scheduler types, run the scheduler, and Ack it (or Nack it to let
//     another worker try). It keeps at most one evaluation per job in flight,
//     orders by priority, redelivers what is not acked in time, and sets aside
//     what keeps failing (FailedQueue) for the leader to mark failed.
//   - Blocked keeps the evaluations that could not place everything, one per
//     job, and hands them back to the Broker when capacity may have appeared
//     (Unblock), without losing an unblock that raced with the Block.
//   - EvaluatePlan is the plan applier's check: a pure function that decides,
//     node by node, what of a scheduler's plan still fits the latest state.
//
// Broker and Blocked live only on the leader: the server enables them when it
// gains leadership (after restoring pending and blocked evaluations from the
// state store) and disables them, dropping everything, when it loses it.
// Nothing here is replicated: every decision that must survive (an
// evaluation canceled, failed or unblocked) is written through Raft by the
// server, which drains Cancelable and the FailedQueue for that purpose.
//
// Time comes from Config.Clock, so tests drive nack timers with a fake clock.
package broker
