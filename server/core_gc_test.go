package server

import (
	"slices"
	"testing"
	"time"

	"github.com/orch-io/orch/internal/clock/clocktest"
	"github.com/orch-io/orch/internal/structstest"
	"github.com/orch-io/orch/server/state"
	"github.com/orch-io/orch/structs"
)

// gcFixture is a state with, at t0: a stopped job with a complete
// allocation (collectable as a whole), a running service job with an old
// complete allocation of an earlier evaluation (collectable) and a running
// one (not), a failed allocation waiting for its replacement (not), and a
// dead batch job that is not stopped (collectable as a whole).
func gcFixture(t *testing.T, t0 time.Time) *state.StateStore {
	t.Helper()
	st := state.NewStateStore()
	node := structstest.Node("n1", "node1")
	at := t0.UnixNano()
	idx := uint64(10)
	next := func() uint64 { idx++; return idx }

	stopped := structstest.Job("stopped")
	stopped.Stop, stopped.SubmitTime = true, at
	running := structstest.Job("running")
	running.SubmitTime = at
	batch := structstest.Job("batch")
	batch.Type, batch.SubmitTime = structs.JobTypeBatch, at
	for _, j := range []*structs.Job{stopped, running, batch} {
		if err := st.UpsertJob(next(), j); err != nil {
			t.Fatal(err)
		}
	}
	eval := func(id string, j *structs.Job) *structs.Evaluation {
		e := structstest.Eval(id, j)
		e.ModifyTime = at
		return e
	}
	alloc := func(id, evalID string, j *structs.Job, i int, status structs.AllocClientStatus) *structs.Allocation {
		a := structstest.Alloc(id, evalID, j, node, "web", i)
		a.ClientStatus, a.ModifyTime = status, at
		return a
	}
	if err := st.UpsertEvals(next(), []*structs.Evaluation{eval("e-stopped", stopped), eval("e-old", running),
		eval("e-now", running), eval("e-failed", running), eval("e-batch", batch)}); err != nil {
		t.Fatal(err)
	}
	for j, allocs := range map[*structs.Job][]*structs.Allocation{
		stopped: {alloc("a-stopped", "e-stopped", stopped, 0, structs.AllocClientStatusComplete)},
		running: {alloc("a-old", "e-old", running, 0, structs.AllocClientStatusComplete),
			alloc("a-now", "e-now", running, 1, structs.AllocClientStatusRunning),
			alloc("a-failed", "e-failed", running, 2, structs.AllocClientStatusFailed)},
		batch: {alloc("a-batch", "e-batch", batch, 0, structs.AllocClientStatusComplete)},
	} {
		if err := st.UpsertPlanResults(next(), j, allocs); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

func TestDecideGCRespectsThresholdsAndLiveness(t *testing.T) {
	t0 := time.Unix(1_000_000, 0)
	st := gcFixture(t, t0)
	snap := st.Snapshot()
	for _, id := range []string{"stopped", "batch"} {
		if j := snap.JobByID("default", id); j.Status != structs.JobStatusDead {
			t.Fatalf("fixture: job %s is %s, want dead", id, j.Status)
		}
	}
	th := gcThresholds{Eval: time.Hour, Job: 4 * time.Hour, Deployment: time.Hour}

	// Younger than every threshold: nothing.
	if e := decideGC(snap, t0.Add(30*time.Minute), th); !e.empty() {
		t.Errorf("at 30m: %+v, want nothing", e)
	}
	// Past the eval threshold only: the old evaluation of the running job
	// and its allocation; not the batch job's history, not the failure
	// waiting for a replacement, not the stopped job (job threshold).
	e := decideGC(snap, t0.Add(2*time.Hour), th)
	if !slices.Equal(e.EvalIDs, []string{"e-old"}) || !slices.Equal(e.AllocIDs, []string{"a-old"}) || len(e.Jobs) != 0 {
		t.Errorf("at 2h: %+v, want eval e-old and alloc a-old only", e)
	}
	// Past every threshold (and the forced GC, thresholds zero): the dead
	// jobs go whole.
	for _, at := range []struct {
		now time.Time
		th  gcThresholds
	}{{t0.Add(5 * time.Hour), th}, {t0, gcThresholds{}}} {
		e := decideGC(snap, at.now, at.th)
		var jobIDs []string
		for _, j := range e.Jobs {
			jobIDs = append(jobIDs, j.ID)
		}
		slices.Sort(jobIDs)
		slices.Sort(e.EvalIDs)
		slices.Sort(e.AllocIDs)
		if !slices.Equal(jobIDs, []string{"batch", "stopped"}) ||
			!slices.Equal(e.EvalIDs, []string{"e-batch", "e-old", "e-stopped"}) ||
			!slices.Equal(e.AllocIDs, []string{"a-batch", "a-old", "a-stopped"}) {
			t.Errorf("at %v with %+v: %+v", at.now.Sub(t0), at.th, e)
		}
	}
}

// TestCoreGCThroughRaftIsIdempotent drives the leader's periodic collection
// with a fake clock and then a forced one through the RPC, twice with the
// same request ID.
func TestCoreGCThroughRaftIsIdempotent(t *testing.T) {
	clk := clocktest.NewFake()
	cfg := testConfig(t.TempDir())
	cfg.Clock = clk
	cfg.JobGCInterval, cfg.EvalGCThreshold, cfg.JobGCThreshold = time.Minute, time.Hour, 4*time.Hour
	armed, ran := make(chan struct{}, 16), make(chan struct{}, 16)
	cfg.testHooks.gcArmed = func() { armed <- struct{}{} }
	cfg.testHooks.gcRan = func() { ran <- struct{}{} }
	s := startServer(t, cfg)
	// tick waits for the leader's collection loop to arm its timer, advances
	// the fake clock past it and waits for the collection to have finished.
	wait := func(ch chan struct{}, what string) {
		t.Helper()
		select {
		case <-ch:
		case <-time.After(30 * time.Second):
			t.Fatal(what)
		}
	}
	tick := func(d time.Duration) {
		t.Helper()
		wait(armed, "the periodic collection never armed its timer")
		clk.Advance(d)
		wait(ran, "no periodic collection after the interval")
	}

	j := structstest.Job("gone")
	j.SubmitTime = clk.Now().UnixNano()
	job := storeJobUnscheduled(t, s, j)
	stop := job.Copy()
	stop.Stop = true
	eval := newJobEval(stop, structs.EvalTriggerJobDeregister, clk.Now().UnixNano())
	eval.Type, eval.Status = "test-unscheduled", structs.EvalStatusComplete
	if _, err := s.raftApply(MsgJobDeregister, &JobDeregisterEntry{JobID: job.ID, Eval: eval}); err != nil {
		t.Fatal(err)
	}
	evals := s.state.Snapshot().EvalsByJob("default", job.ID)
	done := make([]*structs.Evaluation, len(evals))
	for i, e := range evals {
		c := e.Copy()
		c.Status, c.ModifyTime = structs.EvalStatusComplete, clk.Now().UnixNano()
		done[i] = c
	}
	if _, err := s.raftApply(MsgEvalUpdate, &EvalUpdateEntry{Evals: done}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "job is dead", func() bool {
		j := s.state.JobByID("default", job.ID)
		return j != nil && j.Status == structs.JobStatusDead
	})

	// The periodic collection waits for the job threshold.
	tick(time.Minute)
	if s.state.JobByID("default", job.ID) == nil {
		t.Fatal("job collected before its threshold")
	}
	// A collection sees the time its timer came due, not where Advance
	// ends (the loop may read the clock before Advance moves it on): each
	// collection is one interval later, until past the threshold.
	for end := clk.Now().Add(4 * time.Hour); clk.Now().Before(end); {
		tick(time.Minute)
	}
	if s.state.JobByID("default", job.ID) != nil || len(s.state.Snapshot().EvalsByJob("default", job.ID)) != 0 {
		t.Fatal("the periodic GC left the dead job past its threshold")
	}

	// A forced collection, repeated with the same request ID, and again
	// with another: nothing left, no error.
	storeJobUnscheduled(t, s, structstest.Job("kept"))
	for _, id := range []string{"req-1", "req-1", "req-2"} {
		var reply structs.GenericResponse
		if err := s.RPC(t.Context(), "System.GarbageCollect", &structs.SystemWriteRequest{WriteRequest: structs.WriteRequest{RequestID: id}}, &reply); err != nil {
			t.Fatalf("System.GarbageCollect %s: %v", id, err)
		}
	}
	if s.state.JobByID("default", "kept") == nil {
		t.Error("a pending job was collected")
	}
	var reply structs.GenericResponse
	if err := s.RPC(t.Context(), "System.ReconcileJobSummaries", &structs.SystemWriteRequest{}, &reply); err != nil || reply.Index == 0 {
		t.Errorf("System.ReconcileJobSummaries: %+v %v", reply, err)
	}
}
