package server

import (
	"sync"
	"testing"

	"github.com/orch-io/orch/server/state"
	"github.com/orch-io/orch/structs"
)

// writeEntry wraps a register of job (a fresh eval) in a WriteEntry with
// requestID, stamped at time at.
func writeEntry(t *testing.T, requestID string, at int64, inner *JobRegisterEntry) *WriteEntry {
	t.Helper()
	body, err := structs.Encode(inner)
	if err != nil {
		t.Fatal(err)
	}
	return &WriteEntry{RequestID: requestID, Time: at, Type: MsgJobRegister, Body: body}
}

func registerEntry(job *structs.Job) *JobRegisterEntry {
	return &JobRegisterEntry{Job: job, Eval: newJobEval(job, structs.EvalTriggerJobRegister, 1)}
}

// outcomeOf fails the test unless resp is a *state.RequestOutcome.
func outcomeOf(t *testing.T, resp any) *state.RequestOutcome {
	t.Helper()
	o, ok := resp.(*state.RequestOutcome)
	if !ok {
		t.Fatalf("FSM response = %T %v, want a *state.RequestOutcome", resp, resp)
	}
	return o
}

func TestFSM_EntryFailingHalfWayAppliesNothing(t *testing.T) {
	f := testFSM(t)
	bad := registerEntry(testJob("half", 1, 128))
	bad.Eval.ID = "" // the second part of the entry cannot be stored

	if _, ok := applyEntry(t, f, 1, MsgJobRegister, bad).(error); !ok {
		t.Fatalf("a register whose eval cannot be stored applied without error")
	}
	if f.state.JobByID("default", "half") != nil || f.state.LatestIndex() != 0 {
		t.Errorf("the failed entry left its job behind (latest index %d)", f.state.LatestIndex())
	}

	// Wrapped, the failure is the recorded outcome, and still nothing of
	// the entry is applied.
	o := outcomeOf(t, applyEntry(t, f, 2, MsgWrite, writeEntry(t, "r1", 1, bad)))
	if o.Err() == nil || o.EvalID != "" {
		t.Errorf("outcome of the failed wrapped entry = %+v, want its error and no eval", o)
	}
	if f.state.JobByID("default", "half") != nil || f.state.LatestIndex() != 0 {
		t.Errorf("the failed wrapped entry left its job behind (latest index %d)", f.state.LatestIndex())
	}
	if got := f.state.RequestByID("r1"); got == nil || got.ErrMsg != o.ErrMsg {
		t.Errorf("request window holds %+v for r1, want the failure %q", got, o.ErrMsg)
	}
}

// A reader racing the FSM sees each registered job with its evaluation:
// never one without the other.
func TestFSM_SnapshotNeverSeesJobWithoutItsEval(t *testing.T) {
	f := testFSM(t)
	const jobs = 600
	var (
		wg              sync.WaitGroup
		stop            = make(chan struct{})
		snapped         = make(chan struct{}, 1) // the reader took a snapshot
		midway, checked int                      // snapshots taken with some but not all jobs; jobs checked
		violations      []string
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			snap := f.state.Snapshot()
			all := snap.Jobs("*", "")
			for _, j := range all {
				checked++
				if len(snap.EvalsByJob("default", j.ID)) != 1 {
					violations = append(violations, j.ID)
				}
			}
			if len(all) > 0 && len(all) < jobs {
				midway++
			}
			select {
			case snapped <- struct{}{}:
			default:
			}
			select {
			case <-stop:
				return
			default:
			}
		}
	}()
	for i := range jobs {
		job := testJob("j"+structs.GenerateUUID()[:8], 1, 64)
		if resp := applyEntry(t, f, uint64(i+1), MsgJobRegister, registerEntry(job)); resp != nil {
			t.Fatalf("Apply: %v", resp)
		}
		if i%50 == 25 {
			<-snapped // make sure the reader looks in the middle of the stream
			<-snapped
		}
	}
	close(stop)
	wg.Wait()
	if len(violations) > 0 {
		t.Fatalf("snapshots saw %d jobs without exactly one eval, e.g. %q", len(violations), violations[0])
	}
	if midway == 0 || checked == 0 {
		t.Fatalf("the reader never looked while jobs were being written (%d snapshots midway, %d jobs checked)", midway, checked)
	}
	t.Logf("%d snapshots midway, %d jobs checked", midway, checked)
}

func TestFSM_WriteAppliesOncePerRequestID(t *testing.T) {
	f := testFSM(t)
	entry := writeEntry(t, "req-1", 1_000, registerEntry(testJob("once", 1, 128)))
	first := outcomeOf(t, applyEntry(t, f, 5, MsgWrite, entry))
	if first.Err() != nil || first.Index != 5 || first.EvalID == "" || first.JobModifyIndex != 5 {
		t.Fatalf("first outcome = %+v, want success at index 5 with an eval", first)
	}
	// The retry carries another eval (the endpoint mints one per attempt).
	retry := writeEntry(t, "req-1", 2_000, registerEntry(testJob("once", 2, 128)))
	again := outcomeOf(t, applyEntry(t, f, 6, MsgWrite, retry))
	if *again != *first {
		t.Errorf("retry outcome = %+v, want the first %+v", again, first)
	}
	if got := f.state.JobByID("default", "once"); got.Version != 0 || got.TaskGroups[0].Count != 1 {
		t.Errorf("the retry changed the job: version %d, count %d", got.Version, got.TaskGroups[0].Count)
	}
	if evals := f.state.Snapshot().EvalsByJob("default", "once"); len(evals) != 1 {
		t.Errorf("%d evals after a retried register, want 1", len(evals))
	}

	// The same ID for another kind of write is refused, and applies nothing.
	body, _ := structs.Encode(&JobDeregisterEntry{JobID: "once", Eval: newJobEval(testJob("once", 1, 128), structs.EvalTriggerJobDeregister, 1)})
	other := outcomeOf(t, applyEntry(t, f, 7, MsgWrite, &WriteEntry{RequestID: "req-1", Time: 3_000, Type: MsgJobDeregister, Body: body}))
	if other.ErrCode != structs.CodeInvalid || f.state.JobByID("default", "once").Stop {
		t.Errorf("reused request ID for a deregister: outcome %+v, job stopped %v; want invalid, not stopped", other, f.state.JobByID("default", "once").Stop)
	}
}

func TestFSM_RequestWindowSurvivesSnapshotRestore(t *testing.T) {
	f := testFSM(t)
	first := outcomeOf(t, applyEntry(t, f, 1, MsgWrite, writeEntry(t, "kept", 1, registerEntry(testJob("snap", 1, 128)))))
	restored := restoredCopy(t, f)
	again := outcomeOf(t, applyEntry(t, restored, 2, MsgWrite, writeEntry(t, "kept", 2, registerEntry(testJob("snap", 3, 128)))))
	if *again != *first {
		t.Errorf("after restore, retry outcome = %+v, want the first %+v", again, first)
	}
	if evals := restored.state.Snapshot().EvalsByJob("default", "snap"); len(evals) != 1 {
		t.Errorf("%d evals after restore and retry, want 1", len(evals))
	}
}

func TestFSM_CheckIndexDecidedInTheTransaction(t *testing.T) {
	f := testFSM(t)
	// Two registrations of a new job, both checked against "does not exist"
	// before either committed (the endpoint's pre-check passes for both).
	cas := func() *JobRegisterEntry {
		e := registerEntry(testJob("cas", 1, 128))
		e.EnforceIndex, e.JobModifyIndex = true, 0
		return e
	}
	a := outcomeOf(t, applyEntry(t, f, 1, MsgWrite, writeEntry(t, "a", 1, cas())))
	b := outcomeOf(t, applyEntry(t, f, 2, MsgWrite, writeEntry(t, "b", 2, cas())))
	if a.Err() != nil || b.ErrCode != structs.CodeConflict {
		t.Fatalf("outcomes = %+v and %+v, want a success then a conflict", a, b)
	}
	if evals := f.state.Snapshot().EvalsByJob("default", "cas"); len(evals) != 1 {
		t.Errorf("%d evals, want 1 (only the winner's)", len(evals))
	}
	// Bare (a cluster still upgrading) the fields are not honoured: every
	// server must apply the entry alike, old ones ignore them.
	if resp := applyEntry(t, f, 3, MsgJobRegister, cas()); resp != nil {
		t.Errorf("bare register with EnforceIndex = %v, want applied", resp)
	}
}
