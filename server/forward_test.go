package server

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/orch-io/orch/structs"
)

// A leader that stops answering (paused, cut off one way) must not hold a
// forwarded write until it comes back: the follower abandons the attempt as
// soon as its Raft knows another leader, and the write is applied once, by
// the new leader.
func TestForward_AbandonsALeaderThatStopsAnswering(t *testing.T) {
	hold := make(chan struct{})
	t.Cleanup(func() { close(hold) })
	var held, abandoned atomic.Int32
	cfgs := make([]Config, 3)
	for i := range cfgs {
		cfgs[i] = testConfig(t.TempDir())
		cfgs[i].testHooks.rpcReceived = func(ctx context.Context, method string) {
			// Only the first call is held: the old leader stops answering,
			// the new one answers.
			if method != "Job.Register" || held.Add(1) > 1 {
				return
			}
			select {
			case <-hold:
			case <-ctx.Done():
				abandoned.Add(1)
			}
		}
	}
	servers := startClusterOf(t, cfgs...)
	old := leaderOf(servers)
	var follower *Server
	for _, s := range servers {
		if s != old {
			follower = s
			break
		}
	}
	waitFor(t, 10*time.Second, "the request-ID entry type to be usable", func() bool { return old.checkEntryVersion(MsgWrite) == nil })

	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	type result struct {
		reply structs.JobRegisterResponse
		err   error
	}
	done := make(chan result, 1)
	go func() {
		var r result
		r.err = follower.RPC(ctx, "Job.Register", &structs.JobRegisterRequest{Job: testJob("held", 1, 64)}, &r.reply)
		done <- r
	}()
	waitFor(t, 10*time.Second, "the write to reach the old leader", func() bool { return held.Load() >= 1 })

	// Another server takes over; the old leader still holds the call.
	// A transfer can time out under load: try again, but not at every poll.
	// Each try is a chance for hashicorp/raft#696 (a transfer under way when
	// the leader steps down for another reason never ends, and Raft's
	// Shutdown then waits for it forever).
	var lastTry time.Time
	waitFor(t, 20*time.Second, "another leader", func() bool {
		if l := leaderOf(servers); l != nil && l != old {
			return true
		}
		if time.Since(lastTry) > 2*time.Second {
			lastTry = time.Now()
			_ = old.raft.LeadershipTransfer().Error()
		}
		return false
	})
	var r result
	select {
	case r = <-done:
	case <-ctx.Done():
		t.Fatal("the forwarded write was still held by the old leader")
	}
	if r.err != nil {
		t.Fatalf("Job.Register through the follower = %v", r.err)
	}
	waitFor(t, 10*time.Second, "the old leader's held call to be cancelled", func() bool { return abandoned.Load() >= 1 })

	leader := leaderOf(servers)
	evals := 0
	for _, e := range leader.state.Snapshot().EvalsByJob("default", "held") {
		if e.TriggeredBy == structs.EvalTriggerJobRegister {
			evals++
		}
	}
	if leader.state.JobByID("default", "held") == nil || evals != 1 {
		t.Errorf("after the takeover: job stored = %v, %d job-register evaluations; want the job and exactly 1", leader.state.JobByID("default", "held") != nil, evals)
	}
}

// A server Raft has just elected may not have applied what earlier leaders
// committed (a restarted server replays its log only once an entry of its
// own term commits): until its leadership is established it answers nothing
// only the leader answers — a client heard "node not found" from such a
// leader — and a request waits for it instead.
func TestForward_WaitsUntilTheLeadershipIsEstablished(t *testing.T) {
	release := make(chan struct{})
	var releaseOnce sync.Once
	cfg := testConfig(t.TempDir())
	cfg.testHooks.beforeEstablish = func(ctx context.Context) {
		select {
		case <-release:
		case <-ctx.Done():
		}
	}
	s, err := NewServer(cfg)
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	t.Cleanup(func() {
		releaseOnce.Do(func() { close(release) })
		if err := s.Shutdown(); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	waitFor(t, 10*time.Second, "Raft to elect the server", s.IsLeader)

	register := func(timeout time.Duration) error {
		ctx, cancel := context.WithTimeout(t.Context(), timeout)
		defer cancel()
		var reply structs.NodeUpdateResponse
		return s.RPC(ctx, "Node.Register", &structs.NodeRegisterRequest{Node: testNode()}, &reply)
	}
	if err := register(300 * time.Millisecond); structs.CodeOf(err) != structs.CodeNoLeader {
		t.Fatalf("register on a leader not established: err = %v, want a %s error", err, structs.CodeNoLeader)
	}
	if s.leads() {
		t.Fatal("the server leads before its leader loop established it")
	}

	done := make(chan error, 1)
	go func() { done <- register(30 * time.Second) }()
	releaseOnce.Do(func() { close(release) })
	if err := <-done; err != nil {
		t.Fatalf("register once the leadership is established: %v", err)
	}
	if !s.leads() {
		t.Fatal("the server answered as leader without leading")
	}
}
