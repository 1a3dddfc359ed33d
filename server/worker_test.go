package server

import (
	"strings"
	"testing"
	"time"

	"github.com/orch-io/orch/scheduler"
	"github.com/orch-io/orch/server/broker"
	"github.com/orch-io/orch/structs"
)

// panickingScheduler panics on the evaluations of one job and hands the
// others to the real scheduler.
type panickingScheduler struct {
	jobID string
	real  scheduler.Scheduler
}

func (p *panickingScheduler) Process(eval *structs.Evaluation) error {
	if eval.JobID == p.jobID {
		var m map[string]int
		//lint:ignore SA5000 the nil-map write is the point: a bug a scheduler might have
		m["boom"]++
	}
	return p.real.Process(eval)
}

// startWithScheduler starts a server with one worker, a broker that gives
// up on an evaluation after two deliveries, and wrap around each scheduler
// the worker makes; it registers one node.
func startWithScheduler(t *testing.T, wrap func(c scheduler.Config, real scheduler.Scheduler) scheduler.Scheduler) *Server {
	t.Helper()
	cfg := testConfig(t.TempDir())
	cfg.NumSchedulers = 1 // the worker that failed must be the one that goes on
	cfg.Broker = broker.Config{DeliveryLimit: 2, SubsequentNackDelay: -1, FailedFollowupDelay: time.Hour, FailedFollowupDelayRange: -1}
	cfg.testHooks.newScheduler = func(typ structs.JobType, c scheduler.Config) (scheduler.Scheduler, error) {
		real, err := scheduler.New(typ, c)
		return wrap(c, real), err
	}
	s := startServer(t, cfg)
	registerNode(t, s, testNode())
	return s
}

// checkDoomedFailsFineRuns registers job "doomed" and waits for its
// evaluation to fail with a description holding each of want, then
// registers job "fine" and waits for its evaluation to complete and its two
// allocations to be placed, on a server still leading.
func checkDoomedFailsFineRuns(t *testing.T, s *Server, want ...string) {
	t.Helper()
	doomed := registerJob(t, s, testJob("doomed", 1, 128))
	waitFor(t, 20*time.Second, "the doomed job's eval is failed", func() bool {
		e := s.state.Snapshot().EvalByID(doomed.EvalID)
		return e != nil && e.Status == structs.EvalStatusFailed
	})
	failed := s.state.Snapshot().EvalByID(doomed.EvalID)
	for _, w := range want {
		if !strings.Contains(failed.StatusDescription, w) {
			t.Errorf("failed eval's description = %q, want %q in it", failed.StatusDescription, w)
		}
	}

	fine := registerJob(t, s, testJob("fine", 2, 128))
	waitFor(t, 20*time.Second, "the other job's eval is complete", func() bool {
		e := s.state.Snapshot().EvalByID(fine.EvalID)
		return e != nil && e.Status == structs.EvalStatusComplete
	})
	if n := len(s.state.Snapshot().AllocsByJob("default", "fine")); n != 2 {
		t.Errorf("job fine: %d allocations, want 2", n)
	}
	if !s.IsLeader() {
		t.Error("the server lost its leadership")
	}
}

// A scheduler panic fails its evaluation, not the leader: the worker recovers,
// nacks the evaluation until the broker's delivery limit, the reaper marks it
// failed with the panic as the reason, and the same worker goes on to
// schedule other jobs.
func TestWorker_SchedulerPanicFailsOnlyItsEval(t *testing.T) {
	s := startWithScheduler(t, func(_ scheduler.Config, real scheduler.Scheduler) scheduler.Scheduler {
		return &panickingScheduler{jobID: "doomed", real: real}
	})
	checkDoomedFailsFineRuns(t, s, "scheduler panicked", "assignment to entry in nil map")
}

// badStatusScheduler sends, for the evaluations of one job, a final status
// the state store refuses (an evaluation without an ID), and hands the
// others to the real scheduler.
type badStatusScheduler struct {
	jobID   string
	planner scheduler.Planner
	real    scheduler.Scheduler
}

func (b *badStatusScheduler) Process(eval *structs.Evaluation) error {
	if eval.JobID != b.jobID {
		return b.real.Process(eval)
	}
	bad := eval.Copy()
	bad.ID, bad.Status = "", structs.EvalStatusComplete
	return b.planner.UpdateEval(bad)
}

// The worker takes the next evaluation while the last one's status commits
// and acks only once it has: a status that fails to commit nacks the
// evaluation (the reaper marks it failed at the delivery limit, with the
// commit's error), and the worker goes on.
func TestWorker_StatusCommitFailureNacks(t *testing.T) {
	s := startWithScheduler(t, func(c scheduler.Config, real scheduler.Scheduler) scheduler.Scheduler {
		return &badStatusScheduler{jobID: "doomed", planner: c.Planner, real: real}
	})
	checkDoomedFailsFineRuns(t, s, "committing the evaluation's status")
}
