package server

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/orch-io/orch/structs"
)

// A register whose reply is lost (the caller saw none, the leader changed)
// and that is sent again with the same request ID, to another server, is
// applied once: the retry answers the first outcome.
func TestRaftApplyWrite_RetryAfterLeaderChangeAppliesOnce(t *testing.T) {
	servers := startCluster(t, 3)
	leader := leaderOf(servers)
	waitFor(t, 15*time.Second, "gossip shows every server reads Write entries", func() bool {
		return leader.checkEntryVersion(MsgWrite) == nil
	})
	var follower *Server
	for _, s := range servers {
		if s != leader {
			follower = s
		}
	}
	req := func() *structs.JobRegisterRequest {
		return &structs.JobRegisterRequest{Job: testJob("retried", 1, 128), WriteRequest: structs.WriteRequest{RequestID: "rid-lost-reply"}}
	}
	var first structs.JobRegisterResponse
	if err := follower.RPC(t.Context(), "Job.Register", req(), &first); err != nil {
		t.Fatalf("first register: %v", err)
	}

	if err := leader.raft.LeadershipTransfer().Error(); err != nil {
		t.Fatalf("transferring leadership: %v", err)
	}
	waitFor(t, 15*time.Second, "a new leader", func() bool {
		l := leaderOf(servers)
		return l != nil && l != leader && l.broker.Enabled()
	})
	newLeader := leaderOf(servers)

	for _, via := range []*Server{leader, newLeader} { // the old leader forwards
		var again structs.JobRegisterResponse
		if err := via.RPC(t.Context(), "Job.Register", req(), &again); err != nil {
			t.Fatalf("retry via %s: %v", via.config.NodeName, err)
		}
		if again.EvalID != first.EvalID || again.Index != first.Index || again.JobModifyIndex != first.JobModifyIndex {
			t.Errorf("retry via %s = %+v, want the first reply %+v", via.config.NodeName, again, first)
		}
	}
	if evals := registerEvals(newLeader, "retried"); len(evals) != 1 {
		t.Errorf("%d job-register evals after a retried register, want 1", len(evals))
	}

	// A new logical write (a new request ID) is applied.
	var next structs.JobRegisterResponse
	changed := &structs.JobRegisterRequest{Job: testJob("retried", 2, 128), WriteRequest: structs.WriteRequest{RequestID: "rid-next"}}
	if err := newLeader.RPC(t.Context(), "Job.Register", changed, &next); err != nil || next.EvalID == first.EvalID {
		t.Errorf("a new write after the retry: reply %+v, error %v; want a new eval", next, err)
	}
}

// Concurrent registrations of a new job, all with check index 0: exactly one
// succeeds, whatever the endpoints' pre-checks saw.
func TestJobEndpoint_ConcurrentCheckIndexOneWins(t *testing.T) {
	s := startServer(t, testConfig(t.TempDir()))
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := &structs.JobRegisterRequest{Job: testJob("race", 1+i, 128), EnforceIndex: true, JobModifyIndex: 0,
				WriteRequest: structs.WriteRequest{RequestID: structs.GenerateUUID()}}
			errs[i] = s.RPC(t.Context(), "Job.Register", req, &structs.JobRegisterResponse{})
		}()
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, structs.ErrConflict):
			t.Errorf("a losing registration failed with %v, want a check-index conflict", err)
		}
	}
	if won != 1 {
		t.Errorf("%d of %d registrations with check index 0 succeeded, want exactly 1", won, n)
	}
	if evals := registerEvals(s, "race"); len(evals) != 1 {
		t.Errorf("%d job-register evals, want 1", len(evals))
	}
}

// registerEvals returns the job-register evaluations of a job (the
// scheduler adds others: blocked, follow-ups).
func registerEvals(s *Server, jobID string) []*structs.Evaluation {
	var out []*structs.Evaluation
	for _, e := range s.state.Snapshot().EvalsByJob("default", jobID) {
		if e.TriggeredBy == structs.EvalTriggerJobRegister {
			out = append(out, e)
		}
	}
	return out
}
