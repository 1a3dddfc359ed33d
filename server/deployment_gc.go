package server

import (
	"context"

	"github.com/orch-io/orch/server/deploywatch"
)

// runDeploymentGC is the leader's deployment GC: every DeploymentGCInterval
// it removes, through Raft (DeploymentUpdateEntry.GC), the deployments that
// ended DeploymentGCThreshold ago or more, except the latest of each job
// (deploywatch.Collectable). It runs until ctx ends (leadership lost); a new
// leader starts it again.
func (s *Server) runDeploymentGC(ctx context.Context) {
	logger := s.logger.With("component", "deployment_watcher")
	tick := make(chan struct{}, 1)
	for {
		t := s.config.Clock.AfterFunc(s.config.DeploymentGCInterval, func() {
			select {
			case tick <- struct{}{}:
			default:
			}
		})
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-tick:
		}
		if n, err := s.collectDeployments(); err != nil {
			logger.Warn("deployment GC failed; trying again at the next interval", "error", err)
		} else if n > 0 {
			logger.Info("deployment GC removed ended deployments", "count", n)
		}
	}
}

// collectDeployments runs one pass of the deployment GC and returns how many
// deployments it removed.
func (s *Server) collectDeployments() (int, error) {
	snap := s.state.Snapshot()
	ids := deploywatch.Collectable(snap.Deployments(""), s.config.Clock.Now(), s.config.DeploymentGCThreshold)
	if len(ids) == 0 {
		return 0, nil
	}
	if _, err := s.raftApply(MsgDeploymentUpdate, &DeploymentUpdateEntry{GC: ids, Time: s.config.Clock.Now().UnixNano()}); err != nil {
		return 0, err
	}
	return len(ids), nil
}
