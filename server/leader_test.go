package server

import (
	"context"
	"testing"
	"time"

	"github.com/orch-io/orch/server/broker"
	"github.com/orch-io/orch/structs"
)

// An evaluation nacked up to the delivery limit is marked failed through Raft
// by the leader's reaper: every evaluation ends. A follow-up evaluation of
// its job is created with it, and runs only after its delay.
func TestLeader_FailedEvalsAreMarkedFailed(t *testing.T) {
	cfg := testConfig(t.TempDir())
	const followupDelay = 300 * time.Millisecond
	cfg.Broker = broker.Config{DeliveryLimit: 2, SubsequentNackDelay: -1, FailedFollowupDelay: followupDelay, FailedFollowupDelayRange: -1}
	s := startServer(t, cfg)

	// No worker dequeues this type, so the test plays a failing worker.
	const typ structs.JobType = "test-failing"
	eval := &structs.Evaluation{
		ID: structs.GenerateUUID(), Namespace: structs.DefaultNamespace, Priority: 50, Type: typ,
		TriggeredBy: structs.EvalTriggerJobRegister, JobID: "doomed", Status: structs.EvalStatusPending,
	}
	if _, err := s.raftApply(MsgEvalUpdate, &EvalUpdateEntry{Evals: []*structs.Evaluation{eval}}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := range 2 {
		got, token, err := s.broker.Dequeue(ctx, []structs.JobType{typ})
		if err != nil {
			t.Fatalf("delivery %d: %v", i+1, err)
		}
		if err := s.broker.Nack(got.ID, token); err != nil {
			t.Fatalf("nack %d: %v", i+1, err)
		}
	}
	// The reaper acks the failed eval once its write is applied, so the
	// state shows it failed a moment before the broker lets go of it.
	waitFor(t, 10*time.Second, "eval marked failed, and the broker holding nothing failed or unacked", func() bool {
		e := s.state.Snapshot().EvalByID(eval.ID)
		st := s.broker.Stats()
		return e != nil && e.Status == structs.EvalStatusFailed && st.Failed == 0 && st.Unacked == 0
	})

	failed := s.state.Snapshot().EvalByID(eval.ID)
	followup := s.state.Snapshot().EvalByID(failed.NextEval)
	switch {
	case followup == nil:
		t.Fatalf("failed eval's NextEval %q: no such eval in the state", failed.NextEval)
	case followup.Status != structs.EvalStatusPending || followup.TriggeredBy != structs.EvalTriggerRetryFailed ||
		followup.PreviousEval != eval.ID || followup.JobID != eval.JobID || followup.Type != typ || followup.Priority != eval.Priority:
		t.Fatalf("follow-up = %+v, want a pending %s eval of job %s following %s", followup, structs.EvalTriggerRetryFailed, eval.JobID, eval.ID)
	case followup.WaitUntil.Before(time.Unix(0, failed.ModifyTime).Add(followupDelay)):
		t.Fatalf("follow-up WaitUntil %s, want at least %s after the failure (%s)", followup.WaitUntil, followupDelay, time.Unix(0, failed.ModifyTime))
	}
	got, token, err := s.broker.Dequeue(ctx, []structs.JobType{typ})
	dequeued := time.Now()
	if err != nil {
		t.Fatalf("dequeue follow-up: %v", err)
	}
	if got.ID != followup.ID {
		t.Fatalf("dequeued %s, want the follow-up %s", got.ID, followup.ID)
	}
	if dequeued.Before(followup.WaitUntil) {
		t.Fatalf("follow-up handed out at %s, before its WaitUntil %s", dequeued, followup.WaitUntil)
	}
	if err := s.broker.Ack(got.ID, token); err != nil {
		t.Fatal(err)
	}
}

// A new leader puts the pending and blocked evaluations of the state back
// into the broker and the blocked evals.
func TestLeader_RestoresEvalsAfterRestart(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, testConfig(dir))
	const typ structs.JobType = "test-idle" // no worker takes it: it stays pending
	pending := &structs.Evaluation{ID: structs.GenerateUUID(), Priority: 50, Type: typ, JobID: "p", Status: structs.EvalStatusPending}
	blocked := &structs.Evaluation{ID: structs.GenerateUUID(), Priority: 50, Type: structs.JobTypeService, JobID: "b", Status: structs.EvalStatusBlocked, SnapshotIndex: 1 << 40}
	if _, err := s.raftApply(MsgEvalUpdate, &EvalUpdateEntry{Evals: []*structs.Evaluation{pending, blocked}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Shutdown(); err != nil {
		t.Fatal(err)
	}

	s2 := startServer(t, testConfig(dir))
	if st := s2.broker.Stats(); st.Ready != 1 {
		t.Errorf("broker after restart = %+v, want the pending eval ready", st)
	}
	if st := s2.blocked.Stats(); st.Blocked != 1 {
		t.Errorf("blocked evals after restart = %+v, want the blocked eval", st)
	}
}
