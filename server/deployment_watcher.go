package server

import (
	"context"
	"time"

	"github.com/orch-io/orch/server/deploywatch"
	"github.com/orch-io/orch/server/state"
	"github.com/orch-io/orch/structs"
)

// The deployment watcher: the leader's thin loop around deploywatch.Decide.
// It reads every active deployment with its job and allocations from one
// watched snapshot, decides for each, commits the decisions in one
// DeploymentUpdateEntry, registers the reverts, then sleeps until something
// it read changes or the earliest deadline passes. It holds no state that
// matters: a new leader rebuilds it from the state store (the only memory,
// the progress the last evaluation it asked for saw, at
// worst costs one extra evaluation after a failover).

// deploymentWatcherRetry is how long the watcher waits after a failed
// commit before trying again.
const deploymentWatcherRetry = time.Second

// runDeploymentWatcher runs until ctx ends (leadership lost).
func (s *Server) runDeploymentWatcher(ctx context.Context) {
	logger := s.logger.With("component", "deployment_watcher")
	evaluated := map[string]int{}
	for ctx.Err() == nil {
		snap, watch := s.state.WatchSnapshot()
		now := time.Now()
		entry, reverts, next := s.decideDeployments(snap, evaluated, now)
		wait := ctx
		if len(entry.StatusUpdates)+len(entry.Promotions)+len(entry.StableVersions)+len(entry.Evals) > 0 {
			entry.Time = now.UnixNano()
			_, err := s.raftApply(MsgDeploymentUpdate, entry)
			s.metrics.deploymentsDecided(entry, len(reverts), err)
			if err != nil {
				logger.Warn("committing deployment decisions failed; retrying", "error", err)
				next = now.Add(deploymentWatcherRetry)
			} else {
				for _, r := range reverts {
					if _, err := s.revertJob(ctx, r.d, r.to); err != nil {
						logger.Warn("auto-revert failed", "deployment_id", r.d.ID, "job_id", r.d.JobID, "error", err)
					}
				}
				continue // read what the commit changed
			}
		}
		var cancel context.CancelFunc = func() {}
		if !next.IsZero() {
			wait, cancel = context.WithDeadline(ctx, next)
		}
		_ = watch.Wait(wait)
		cancel()
	}
}

// revert is a job to bring back to a stable version after d failed.
type revert struct {
	d  *structs.Deployment
	to *structs.Job
}

// decideDeployments decides for every active deployment of snap at now. It
// returns the entry to commit, the reverts to register after it, and when to
// look again at the latest. It updates evaluated (deployment ID → progress
// allocations at its last evaluation) for the evaluations it asks for.
func (s *Server) decideDeployments(snap *state.Snapshot, evaluated map[string]int, now time.Time) (*DeploymentUpdateEntry, []revert, time.Time) {
	entry := &DeploymentUpdateEntry{}
	var reverts []revert
	var next time.Time
	active := map[string]bool{}
	for _, d := range snap.Deployments("") {
		if !d.Active() {
			continue
		}
		active[d.ID] = true
		job := snap.JobByID(d.Namespace, d.JobID)
		dec := deploywatch.Decide(deploywatch.Input{
			Deployment: d, Job: job, Allocs: snap.AllocsByJob(d.Namespace, d.JobID),
			LatestStable:      snap.LatestStableVersion(d.Namespace, d.JobID, d.JobVersion),
			EvaluatedProgress: evaluated[d.ID], Now: now,
		})
		if dec.End != nil {
			entry.StatusUpdates = append(entry.StatusUpdates, dec.End)
			s.logger.Info("deployment ended", "deployment_id", d.ID, "job_id", d.JobID,
				"status", dec.End.Status, "description", dec.End.StatusDescription)
		}
		if dec.MarkStable {
			entry.StableVersions = append(entry.StableVersions, &JobStabilityEntry{Namespace: d.Namespace, JobID: d.JobID, Version: d.JobVersion, Stable: true})
		}
		if dec.RevertTo != nil {
			reverts = append(reverts, revert{d: d, to: dec.RevertTo})
		}
		if len(dec.Promote) > 0 {
			entry.Promotions = append(entry.Promotions, &DeploymentPromotion{DeploymentID: d.ID, Groups: dec.Promote})
		}
		if dec.Evaluate && job != nil {
			entry.Evals = append(entry.Evals, deploymentEval(job, now))
			evaluated[d.ID] = dec.Progress
		}
		if !dec.NextCheck.IsZero() && (next.IsZero() || dec.NextCheck.Before(next)) {
			next = dec.NextCheck
		}
	}
	for id := range evaluated {
		if !active[id] {
			delete(evaluated, id)
		}
	}
	return entry, reverts, next
}
