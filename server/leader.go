package server

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/raft"
	"github.com/orch-io/orch/server/broker"
	"github.com/orch-io/orch/structs"
)

// Leadership. Raft tells the server through raftNotify when it gains or loses
// leadership; monitorLeadership runs the leader's duties for exactly as long
// as it leads: the eval broker and blocked evals, the scheduler workers, the
// plan applier, the failed and cancelable eval reapers, and the heartbeat
// timers of the client nodes.

const (
	// barrierTimeout bounds the wait for the FSM to catch up on a new leader.
	barrierTimeout = time.Minute
	// reapInterval is how often the leader marks superseded evaluations
	// canceled.
	reapInterval = 5 * time.Second
)

// leaderTerm is one run of leaderLoop.
type leaderTerm struct {
	stop context.CancelFunc
	done chan struct{} // closed when leaderLoop has returned
}

// monitorLeadership runs until shutdown, starting and stopping leaderLoop.
func (s *Server) monitorLeadership() {
	defer close(s.leaderMonitorDone)
	var term *leaderTerm
	stopLeading := func() {
		if term != nil {
			term.stop()
			<-term.done
			term = nil
		}
	}
	startLeading := func() {
		ctx, stop := context.WithCancel(s.shutdownCtx)
		term = &leaderTerm{stop: stop, done: make(chan struct{})}
		go func(t *leaderTerm) {
			defer close(t.done)
			s.leaderLoop(ctx)
		}(term)
	}
	for {
		select {
		case isLeader := <-s.raftNotify:
			switch {
			case isLeader && term == nil:
				startLeading()
			case !isLeader:
				stopLeading()
			}
		case done := <-s.reassertLeader:
			// The state was replaced under the leader (a snapshot
			// restore): stop its duties and start them again from the
			// new state.
			if term == nil {
				done <- fmt.Errorf("%w: this server no longer leads", structs.ErrNoLeader)
				continue
			}
			stopLeading()
			startLeading()
			done <- nil
		case <-s.shutdownCtx.Done():
			stopLeading()
			return
		}
	}
}

// leaderLoop makes this server act as leader until ctx ends: it waits until
// the FSM has applied everything committed before (a Raft barrier), then
// starts the leader's duties, and stops them when ctx ends.
func (s *Server) leaderLoop(ctx context.Context) {
	s.logger.Info("gained cluster leadership")
	s.metrics.leaderChanges.WithLabelValues("acquired").Inc()
	for {
		err := s.raft.Barrier(barrierTimeout).Error()
		if err == nil {
			break
		}
		s.logger.Error("raft barrier failed; retrying", "error", err)
		select {
		case <-time.After(time.Second):
		case <-ctx.Done():
			return
		}
	}
	if hook := s.config.testHooks.beforeEstablish; hook != nil {
		hook(ctx)
	}
	s.reconcileOwnAddress()
	var wg sync.WaitGroup
	s.establishLeadership(ctx, &wg)
	s.established.Store(true)
	s.wakeLeaderWaiters()
	<-ctx.Done()
	s.established.Store(false)
	// The heartbeat timers stop first: the workers may take seconds to
	// finish their evaluation, and a follower must not mark nodes down.
	s.heartbeats.setEnabled(false)
	wg.Wait()
	s.revokeLeadership()
	s.logger.Info("lost cluster leadership")
	s.metrics.leaderChanges.WithLabelValues("lost").Inc()
}

// reconcileOwnAddress updates this server's address in the Raft
// configuration when it changed since the configuration was written (a
// restart on another port or IP), so that what the configuration tells
// others (and clients, through Node.Register) is reachable.
func (s *Server) reconcileOwnAddress() {
	f := s.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		s.logger.Warn("reading raft configuration", "error", err)
		return
	}
	addr := raft.ServerAddress(s.RPCAddr())
	for _, srv := range f.Configuration().Servers {
		if srv.ID != s.raftID || srv.Address == addr {
			continue
		}
		s.logger.Info("updating this server's address in the raft configuration", "from", srv.Address, "to", addr)
		if err := s.raft.AddVoter(srv.ID, addr, 0, 0).Error(); err != nil {
			s.logger.Error("updating this server's raft address", "error", err)
		}
	}
}

// establishLeadership enables the broker, restores the evaluations the state
// store holds into it, and starts the leader's goroutines (added to wg; they
// end with ctx).
func (s *Server) establishLeadership(ctx context.Context, wg *sync.WaitGroup) {
	s.broker.SetEnabled(true)
	s.blocked.SetEnabled(true)
	s.restoreEvals()

	plans := newPlanQueue()
	plans.SetEnabled(true)
	s.plans.Store(plans)
	run := func(f func()) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f()
		}()
	}
	run(func() { s.runPlanApplier(ctx, plans, planApplyWindow) })
	failures := newEvalFailures()
	for i := range s.config.NumSchedulers {
		w := newWorker(s, i, plans, failures)
		run(func() { w.run(ctx) })
	}
	run(func() { s.reapFailedEvals(ctx, failures) })
	run(func() { s.reapCancelableEvals(ctx) })
	run(func() { s.reconcileServers(ctx) })
	run(func() { s.runDrainer(ctx) })
	run(func() { s.runDeploymentWatcher(ctx) })
	run(func() { s.runDeploymentGC(ctx) })
	run(func() { s.runCoreGC(ctx) })
	run(func() { s.runPeriodicLauncher(ctx) })

	s.resumeHeartbeats()
	s.logger.Info("leader duties started", "workers", s.config.NumSchedulers)
}

// resumeHeartbeats starts the heartbeat timers on a new leader: every node
// that is not down gets the longest TTL a client of a cluster this size may
// hold (and the grace) from now, since a node must not be marked down because
// the previous leader died with its heartbeat or gave it a long TTL; a client
// whose agent gossip saw fail (during the failover, say) does not get that
// grace.
func (s *Server) resumeHeartbeats() {
	nodes := s.state.Snapshot().Nodes("")
	var live []string
	for _, n := range nodes {
		if n.Status != structs.NodeStatusDown {
			live = append(live, n.ID)
		}
	}
	s.heartbeats.setEnabled(true)
	s.heartbeats.resume(live, len(nodes))
	s.heartbeats.expireGossipFailed()
}

// revokeLeadership undoes establishLeadership once its goroutines have ended.
func (s *Server) revokeLeadership() {
	s.plans.Store(nil)
	s.heartbeats.setEnabled(false)
	s.blocked.SetEnabled(false)
	s.broker.SetEnabled(false)
	s.fsm.pre.clear()
}

// restoreEvals puts the state store's open evaluations into the broker and
// the blocked evals, as the FSM did when it applied them on the old leader.
func (s *Server) restoreEvals() {
	pending, blocked := 0, 0
	for _, e := range s.state.Snapshot().Evals("") {
		switch e.Status {
		case structs.EvalStatusPending:
			s.broker.Enqueue(e)
			pending++
		case structs.EvalStatusBlocked:
			s.blocked.Block(e)
			blocked++
		}
	}
	if pending+blocked > 0 {
		s.logger.Info("restored evaluations into the broker", "pending", pending, "blocked", blocked)
	}
}

// reapFailedEvals marks failed, through Raft, the evaluations the broker gave
// up on after its delivery limit, so that every evaluation ends (DESIGN.md §5).
// In the same entry it creates a follow-up evaluation of the job (triggered by
// failed-eval-retry, PreviousEval the failed one) that the broker holds until
// its WaitUntil (broker.FollowupWaitUntil): the job is scheduled again later,
// when what made its scheduler fail may have passed, without spinning.
func (s *Server) reapFailedEvals(ctx context.Context, failures *evalFailures) {
	for {
		eval, token, err := s.broker.Dequeue(ctx, []structs.JobType{broker.FailedQueue})
		if err != nil {
			return // ctx ended
		}
		now := s.config.Clock.Now().UnixNano()
		failed := eval.Copy()
		failed.Status = structs.EvalStatusFailed
		failed.StatusDescription = "evaluation reached the eval broker's delivery limit"
		why := failures.take(eval.ID) // the worker's last nack, a scheduler panic say
		if why != "" {
			failed.StatusDescription += "; last failure: " + why
		}
		failed.ModifyTime = now
		followup := failedEvalFollowup(failed, s.broker.FollowupWaitUntil(), now)
		failed.NextEval = followup.ID
		logger := s.logger.With("eval_id", eval.ID, "job_id", eval.JobID)
		if _, err := s.raftApply(MsgEvalUpdate, &EvalUpdateEntry{Evals: []*structs.Evaluation{failed, followup}}); err != nil {
			logger.Error("marking evaluation failed", "error", err)
			failures.record(eval.ID, why)
			_ = s.broker.Nack(eval.ID, token)
			continue
		}
		logger.Warn("evaluation failed: delivery limit reached; follow-up created", "followup_eval_id", followup.ID, "wait_until", followup.WaitUntil)
		if err := s.broker.Ack(eval.ID, token); err != nil {
			logger.Debug("acking failed evaluation", "error", err)
		}
	}
}

// failedEvalFollowup returns the pending evaluation that retries failed's
// job at waitUntil.
func failedEvalFollowup(failed *structs.Evaluation, waitUntil time.Time, now int64) *structs.Evaluation {
	return &structs.Evaluation{
		ID:             structs.GenerateUUID(),
		Namespace:      failed.Namespace,
		Priority:       failed.Priority,
		Type:           failed.Type,
		TriggeredBy:    structs.EvalTriggerRetryFailed,
		JobID:          failed.JobID,
		JobModifyIndex: failed.JobModifyIndex,
		Status:         structs.EvalStatusPending,
		PreviousEval:   failed.ID,
		WaitUntil:      waitUntil,
		CreateTime:     now,
		ModifyTime:     now,
	}
}

// reapCancelableEvals marks canceled, through Raft, the evaluations the broker
// and the blocked evals dropped because newer ones of the same job superseded
// them.
func (s *Server) reapCancelableEvals(ctx context.Context) {
	t := time.NewTicker(reapInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		evals := append(s.broker.Cancelable(0), s.blocked.Cancelable(0)...)
		if len(evals) == 0 {
			continue
		}
		now := s.config.Clock.Now().UnixNano()
		update := make([]*structs.Evaluation, len(evals))
		for i, e := range evals {
			c := e.Copy()
			c.Status = structs.EvalStatusCanceled
			c.StatusDescription = fmt.Sprintf("superseded by a newer evaluation of job %q", e.JobID)
			c.ModifyTime = now
			update[i] = c
		}
		if _, err := s.raftApply(MsgEvalUpdate, &EvalUpdateEntry{Evals: update}); err != nil {
			s.logger.Error("marking superseded evaluations canceled", "count", len(update), "error", err)
			continue
		}
		s.logger.Debug("superseded evaluations canceled", "count", len(update))
	}
}
