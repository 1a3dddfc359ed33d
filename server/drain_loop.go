package server

import (
	"context"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/orch-io/orch/server/drainer"
	"github.com/orch-io/orch/server/state"
	"github.com/orch-io/orch/structs"
)

// Descriptions of what the drain does to allocations.
const (
	allocDrainDeadline = "alloc stopped by the drain deadline of its node"
)

// drainRetryDelay is how long the drain loop waits after a failed write.
const drainRetryDelay = time.Second

// runDrainer is the leader's drain loop: for every draining node it asks
// drainer.Decide what to do, commits that through Raft, and waits until
// something it read changes or the earliest NextCheck. It keeps no state of
// its own, so a new leader simply starts it again (establishLeadership) and
// picks every drain up where the state says it is. It returns when ctx ends.
func (s *Server) runDrainer(ctx context.Context) {
	logger := s.logger.With("component", "drainer")
	waiting := map[string]string{} // last waiting reasons logged, by node
	for {
		snap, watch := s.state.WatchSnapshot()
		now := time.Now()
		var next time.Time
		failed := false
		for _, n := range snap.Nodes("") {
			if n.DrainStrategy == nil {
				delete(waiting, n.ID)
				continue
			}
			d := drainer.Decide(drainInput(snap, n, now))
			if w := strings.Join(d.Waiting, "; "); w != waiting[n.ID] && w != "" {
				logger.Info("drain waiting", "node_id", n.ID, "reasons", w)
				waiting[n.ID] = w
			}
			if err := s.applyDrainDecision(ctx, n, d, now); err != nil {
				logger.Warn("drain step failed; retrying", "node_id", n.ID, "error", err)
				failed = true
			}
			if !d.NextCheck.IsZero() && (next.IsZero() || d.NextCheck.Before(next)) {
				next = d.NextCheck
			}
		}
		if failed && (next.IsZero() || next.After(now.Add(drainRetryDelay))) {
			next = now.Add(drainRetryDelay)
		}
		wctx, cancel := ctx, context.CancelFunc(func() {})
		if !next.IsZero() {
			wctx, cancel = context.WithDeadline(ctx, next)
		}
		_ = watch.Wait(wctx) // a change, the next check, or the end
		cancel()
		if ctx.Err() != nil {
			return
		}
	}
}

// drainInput gathers from snap what Decide needs for node n.
func drainInput(snap *state.Snapshot, n *structs.Node, now time.Time) drainer.Input {
	in := drainer.Input{Now: now, Node: n, Allocs: snap.AllocsByNode(n.ID),
		Jobs: map[structs.NamespacedID]*structs.Job{}, JobAllocs: map[structs.NamespacedID][]*structs.Allocation{}}
	for _, a := range in.Allocs {
		if a.ClientTerminal() {
			continue
		}
		key := drainer.JobKey(a)
		if _, ok := in.JobAllocs[key]; ok {
			continue
		}
		if job := snap.JobByID(key.Namespace, key.ID); job != nil {
			in.Jobs[key] = job
		}
		in.JobAllocs[key] = snap.AllocsByJob(key.Namespace, key.ID)
	}
	return in
}

// applyDrainDecision commits one decision for node n: the marks and stops
// with an evaluation per job they touch, or the drain's completion.
func (s *Server) applyDrainDecision(ctx context.Context, n *structs.Node, d drainer.Decision, now time.Time) (err error) {
	defer func() { s.metrics.drained(d, err) }()
	if d.Complete {
		_, err = s.raftApply(MsgNodeDrain, &NodeDrainEntry{NodeID: n.ID, Complete: true, UpdatedAt: now.UnixNano(),
			Event: &structs.NodeEvent{Message: structs.NodeEventDrainComplete, Subsystem: structs.NodeEventSubsystemDrain, Timestamp: now}})
		if err == nil {
			s.logger.Info("node drain complete", "node_id", n.ID)
		}
		return err
	}
	if len(d.Migrate) == 0 && len(d.Stop) == 0 {
		return nil
	}
	entry := &AllocDesiredTransitionEntry{Transitions: map[string]structs.DesiredTransition{}}
	jobs := map[structs.NamespacedID]bool{}
	for _, a := range d.Migrate {
		entry.Transitions[a.ID] = structs.DesiredTransition{Migrate: true}
		jobs[drainer.JobKey(a)] = true
	}
	if len(d.Stop) > 0 {
		entry.Stop = map[string]string{}
		for _, a := range d.Stop {
			entry.Stop[a.ID] = allocDrainDeadline
			jobs[drainer.JobKey(a)] = true
		}
	}
	snap := s.state.Snapshot()
	for _, id := range sortedJobKeys(jobs) {
		if job := snap.JobByID(id.Namespace, id.ID); job != nil {
			e := newJobEval(job, structs.EvalTriggerNodeDrain, now.UnixNano())
			e.NodeID, e.JobModifyIndex = n.ID, job.JobModifyIndex
			entry.Evals = append(entry.Evals, e)
		}
	}
	_, err = s.raftApply(MsgAllocDesiredTransition, entry)
	if err == nil {
		s.logger.Info("drain step", "node_id", n.ID, "migrate", len(d.Migrate), "stop", len(d.Stop), "evals", len(entry.Evals))
	}
	return err
}

// sortedJobKeys returns the keys of jobs in order (namespace, then ID).
func sortedJobKeys(jobs map[structs.NamespacedID]bool) []structs.NamespacedID {
	return slices.SortedFunc(maps.Keys(jobs), structs.NamespacedID.Compare)
}
