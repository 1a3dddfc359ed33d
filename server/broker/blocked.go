package broker

import (
	"log/slog"
	"sync"

	"github.com/orch-io/orch/structs"
)

// Blocked holds the leader's blocked evaluations: those a scheduler ended
// because some allocations could not be placed. It keeps at most one per job
// and hands them back to the Broker when capacity may have appeared.
//
// The race it closes: a scheduler plans against a snapshot at index S, finds
// no room, and asks for a blocked evaluation; if capacity appeared at an index
// U > S before Block is called, the Unblock(U) already happened and a naive
// Block would wait for a capacity change that may never come. Blocked records
// the highest index Unblock has seen, per computed node class, and enqueues at
// once any evaluation blocked with a SnapshotIndex below that of a class that
// could help it.
//
// Capacity helps a blocked evaluation only on a node class its scheduler did
// not find infeasible (Evaluation.ClassEligibility false: the class checks,
// drivers and constraints, reject every node of that class whatever its free
// resources, as in Nomad). Unblock(class, index) therefore leaves alone the
// evaluations that found class infeasible, and re-enqueues those that found
// it eligible but exhausted, or never saw it. A class the scheduler judged by
// its class checks cannot become feasible without its nodes changing the
// attributes it hashes, which gives them another computed class.
//
// Every method is safe for concurrent use. Blocked calls into the Broker, never
// the reverse.
type Blocked struct {
	broker *Broker
	logger *slog.Logger

	mu struct {
		sync.Mutex
		enabled bool
		// byJob holds the one blocked evaluation of each job.
		byJob map[jobKey]*structs.Evaluation
		// unblockIndex is the highest index passed to Unblock with no class
		// (capacity that may help every evaluation) since enabled.
		unblockIndex uint64
		// classIndex is, per computed class, the highest index passed to
		// Unblock for that class since enabled.
		classIndex map[string]uint64
		// cancelable holds superseded or untracked evaluations until
		// Cancelable drains them.
		cancelable []*structs.Evaluation
	}
}

// NewBlocked returns a disabled Blocked that unblocks into b; the server
// enables it, with b, when it becomes leader.
func NewBlocked(b *Broker) *Blocked {
	bl := &Blocked{broker: b, logger: b.logger.With("component", "blocked_evals")}
	bl.mu.byJob = make(map[jobKey]*structs.Evaluation)
	bl.mu.classIndex = make(map[string]uint64)
	return bl
}

// SetEnabled turns tracking on or off. Disabling drops every blocked
// evaluation, the cancelable ones and the recorded unblock index: the next
// leader rebuilds them from the state store.
func (bl *Blocked) SetEnabled(enabled bool) {
	bl.mu.Lock()
	defer bl.mu.Unlock()
	if bl.mu.enabled == enabled {
		return
	}
	bl.mu.enabled = enabled
	if !enabled {
		bl.mu.byJob = make(map[jobKey]*structs.Evaluation)
		bl.mu.unblockIndex = 0
		bl.mu.classIndex = make(map[string]uint64)
		bl.mu.cancelable = nil
	}
}

// Enabled reports whether Blocked tracks evaluations.
func (bl *Blocked) Enabled() bool {
	bl.mu.Lock()
	defer bl.mu.Unlock()
	return bl.mu.enabled
}

// Block tracks eval (status blocked, SnapshotIndex set) until capacity may
// have appeared. If its job already has a blocked evaluation, the newer of
// the two (by CreateIndex, then ModifyIndex; the incoming one on a tie) is
// kept and the other becomes cancelable. If an Unblock that would have
// released eval (see Unblock) already happened at an index above
// eval.SnapshotIndex, eval is enqueued into the Broker at once (see Blocked). Ignored when disabled. Blocked keeps eval; nobody may
// modify it afterwards.
func (bl *Blocked) Block(eval *structs.Evaluation) {
	bl.mu.Lock()
	if !bl.mu.enabled {
		bl.mu.Unlock()
		bl.logger.Debug("blocked eval dropped: disabled", "eval_id", eval.ID, "job_id", eval.JobID)
		return
	}
	key := jobKeyOf(eval)
	if old, ok := bl.mu.byJob[key]; ok {
		if old.ID == eval.ID {
			bl.mu.Unlock()
			return
		}
		if olderBlocked(eval, old) {
			bl.mu.cancelable = append(bl.mu.cancelable, eval)
			bl.mu.Unlock()
			bl.logger.Debug("blocked eval superseded on arrival", "eval_id", eval.ID, "job_id", eval.JobID, "superseded_by", old.ID)
			return
		}
		delete(bl.mu.byJob, key)
		bl.mu.cancelable = append(bl.mu.cancelable, old)
		bl.logger.Debug("blocked eval superseded", "eval_id", old.ID, "job_id", old.JobID, "superseded_by", eval.ID)
	}
	if missed, class, index := bl.missedUnblockLocked(eval); missed {
		bl.mu.Unlock()
		bl.logger.Debug("capacity appeared after the eval's snapshot: enqueued at once",
			"eval_id", eval.ID, "job_id", eval.JobID, "snapshot_index", eval.SnapshotIndex, "class", class, "unblock_index", index)
		bl.broker.Enqueue(unblockedCopy(eval))
		return
	}
	bl.mu.byJob[key] = eval
	bl.mu.Unlock()
	bl.logger.Debug("eval blocked", "eval_id", eval.ID, "job_id", eval.JobID, "snapshot_index", eval.SnapshotIndex)
}

// missedUnblockLocked reports whether an Unblock after eval's snapshot would
// have released eval, and which (class "" for an Unblock of every class).
func (bl *Blocked) missedUnblockLocked(eval *structs.Evaluation) (missed bool, class string, index uint64) {
	if eval.SnapshotIndex < bl.mu.unblockIndex {
		return true, "", bl.mu.unblockIndex
	}
	for c, i := range bl.mu.classIndex {
		if eval.SnapshotIndex < i && classMayHelp(eval, c) {
			return true, c, i
		}
	}
	return false, "", 0
}

// classMayHelp reports whether capacity on computed class class may help
// eval: unless eval's scheduler found class infeasible.
func classMayHelp(eval *structs.Evaluation, class string) bool {
	if class == "" {
		return true
	}
	eligible, seen := eval.ClassEligibility[class]
	return !seen || eligible
}

// olderBlocked reports whether a is strictly older than b by CreateIndex,
// then ModifyIndex.
func olderBlocked(a, b *structs.Evaluation) bool {
	if a.CreateIndex != b.CreateIndex {
		return a.CreateIndex < b.CreateIndex
	}
	return a.ModifyIndex < b.ModifyIndex
}

// unblockedCopy is what goes back to the Broker: a copy of eval with status
// pending. The server decides whether and how to persist the change.
func unblockedCopy(eval *structs.Evaluation) *structs.Evaluation {
	c := eval.Copy()
	c.Status = structs.EvalStatusPending
	c.StatusDescription = ""
	return c
}

// Unblock reports that capacity may have appeared at Raft index index on a
// node of computed class class (the node became ready, or one of its
// allocations became terminal): every blocked evaluation that planned against
// an older snapshot (SnapshotIndex < index) and did not find class infeasible
// is enqueued into the Broker as a pending copy. Class "" (a node without a
// computed class) releases every such evaluation. The index is remembered,
// per class, for Block. Ignored when disabled.
func (bl *Blocked) Unblock(class string, index uint64) {
	bl.mu.Lock()
	if !bl.mu.enabled {
		bl.mu.Unlock()
		return
	}
	if class == "" {
		bl.mu.unblockIndex = max(bl.mu.unblockIndex, index)
	} else {
		bl.mu.classIndex[class] = max(bl.mu.classIndex[class], index)
	}
	var unblocked []*structs.Evaluation
	for key, eval := range bl.mu.byJob {
		if eval.SnapshotIndex < index && classMayHelp(eval, class) {
			delete(bl.mu.byJob, key)
			unblocked = append(unblocked, eval)
		}
	}
	bl.mu.Unlock()

	// Enqueue outside our lock. A Block racing with us either saw the new
	// unblockIndex (and enqueues itself) or was in byJob before we scanned.
	for _, eval := range unblocked {
		bl.logger.Debug("eval unblocked", "eval_id", eval.ID, "job_id", eval.JobID, "class", class, "index", index)
		bl.broker.Enqueue(unblockedCopy(eval))
	}
}

// Untrack stops tracking the blocked evaluation of job jobID of namespace,
// because the job was deregistered or an evaluation of it completed without
// blocking. The evaluation becomes cancelable, so that it still ends.
func (bl *Blocked) Untrack(namespace, jobID string) {
	bl.mu.Lock()
	defer bl.mu.Unlock()
	key := jobKey{namespace: structs.NamespaceOr(namespace), jobID: jobID}
	if eval, ok := bl.mu.byJob[key]; ok {
		delete(bl.mu.byJob, key)
		bl.mu.cancelable = append(bl.mu.cancelable, eval)
		bl.logger.Debug("blocked eval untracked", "eval_id", eval.ID, "job_id", jobID, "namespace", key.namespace)
	}
}

// Cancelable removes and returns up to n evaluations (all of them when n <=
// 0), oldest first, that Blocked no longer tracks because a newer blocked
// evaluation of their job replaced them or Untrack dropped them. The leader
// marks them canceled through Raft. The slice is the caller's; the
// evaluations are shared.
func (bl *Blocked) Cancelable(n int) []*structs.Evaluation {
	bl.mu.Lock()
	defer bl.mu.Unlock()
	return drainEvals(&bl.mu.cancelable, n)
}

// BlockedStats counts what Blocked holds.
type BlockedStats struct {
	Blocked    int
	Cancelable int
	ByType     map[structs.JobType]int // blocked evaluations per scheduler type
}

// Stats returns a snapshot of the counters. ByType is the caller's.
func (bl *Blocked) Stats() BlockedStats {
	bl.mu.Lock()
	defer bl.mu.Unlock()
	s := BlockedStats{Blocked: len(bl.mu.byJob), Cancelable: len(bl.mu.cancelable), ByType: make(map[structs.JobType]int)}
	for _, e := range bl.mu.byJob {
		s.ByType[e.Type]++
	}
	return s
}
