package server

import (
	"errors"
	"io"
	"testing"

	"github.com/hashicorp/raft"
	"github.com/orch-io/orch/server/broker"
	"github.com/orch-io/orch/server/state"
	"github.com/orch-io/orch/structs"
)

// testFSM is an FSM over a fresh state store with a disabled broker, as on a
// follower.
func testFSM(t *testing.T) *FSM {
	t.Helper()
	b := broker.New(broker.Config{}, testLogger())
	return NewFSM(state.NewStateStore(), b, broker.NewBlocked(b), testLogger())
}

func applyEntry(t *testing.T, f *FSM, index uint64, typ MessageType, body any) any {
	t.Helper()
	buf, err := encodeEntry(typ, body)
	if err != nil {
		t.Fatalf("encoding %s: %v", typ, err)
	}
	return f.Apply(&raft.Log{Index: index, Term: 1, Type: raft.LogCommand, Data: buf})
}

func TestFSM_UnknownTypes(t *testing.T) {
	f := testFSM(t)
	const unknown MessageType = 0x3f

	// With the ignore flag: skipped, no error, nothing written.
	if resp := applyEntry(t, f, 1, unknown|MsgIgnoreUnknownFlag, map[string]string{"new": "thing"}); resp != nil {
		t.Errorf("Apply(unknown|ignore) = %v, want nil (skipped)", resp)
	}
	if got := f.state.LatestIndex(); got != 0 {
		t.Errorf("state index after a skipped entry = %d, want 0", got)
	}

	// Without it: an error naming the type and index.
	resp := applyEntry(t, f, 2, unknown, map[string]string{"new": "thing"})
	err, ok := resp.(error)
	if !ok || !errors.Is(err, ErrUnknownMessageType) {
		t.Fatalf("Apply(unknown) = %v, want ErrUnknownMessageType", resp)
	}

	// A known type with the flag is still applied.
	job := testJob("flagged", 1, 128)
	eval := newJobEval(job, structs.EvalTriggerJobRegister, 1)
	if resp := applyEntry(t, f, 3, MsgJobRegister|MsgIgnoreUnknownFlag, &JobRegisterEntry{Job: job, Eval: eval}); resp != nil {
		t.Fatalf("Apply(JobRegister|ignore) = %v", resp)
	}
	if f.state.JobByID("default", "flagged") == nil {
		t.Errorf("a known type carrying the ignore flag was not applied")
	}
}

func TestFSM_EmptyAndCorruptEntries(t *testing.T) {
	f := testFSM(t)
	if _, ok := f.Apply(&raft.Log{Index: 1, Type: raft.LogCommand}).(error); !ok {
		t.Errorf("Apply(empty entry) returned no error")
	}
	if _, ok := f.Apply(&raft.Log{Index: 2, Type: raft.LogCommand, Data: []byte{byte(MsgJobRegister), 0xc1}}).(error); !ok {
		t.Errorf("Apply(corrupt body) returned no error")
	}
	if _, ok := applyEntry(t, f, 3, MsgJobRegister, &JobRegisterEntry{}).(error); !ok {
		t.Errorf("Apply(JobRegister without job) returned no error")
	}
}

func TestFSM_SnapshotRestoreRoundTrip(t *testing.T) {
	f := testFSM(t)
	job := testJob("round", 2, 256)
	eval := newJobEval(job, structs.EvalTriggerJobRegister, 1)
	node := testNode()
	node.Status = structs.NodeStatusReady
	alloc := &structs.Allocation{
		ID: structs.GenerateUUID(), EvalID: eval.ID, Name: structs.AllocName("round", "web", 0), NodeID: node.ID,
		JobID: "round", TaskGroup: "web", DesiredStatus: structs.AllocDesiredStatusRun, ClientStatus: structs.AllocClientStatusPending,
		AllocatedResources: &structs.AllocatedResources{Tasks: map[string]*structs.Resources{"server": {CPU: 100, MemoryMB: 256}}},
	}
	for i, e := range []struct {
		typ  MessageType
		body any
	}{
		{MsgJobRegister, &JobRegisterEntry{Job: job, Eval: eval}},
		{MsgNodeRegister, &NodeRegisterEntry{Node: node}},
		{MsgApplyPlanResults, &ApplyPlanResultsEntry{EvalID: eval.ID, Job: job, Allocs: []*structs.Allocation{alloc}}},
		{MsgAllocClientUpdate, &AllocClientUpdateEntry{Allocs: []*structs.Allocation{{ID: alloc.ID, ClientStatus: structs.AllocClientStatusRunning}}}},
	} {
		if resp := applyEntry(t, f, uint64(i+1), e.typ, e.body); resp != nil {
			t.Fatalf("Apply(%s) = %v", e.typ, resp)
		}
	}

	g := restoredCopy(t, f)
	got := g.state.Snapshot()
	if j := got.JobByID("default", "round"); j == nil || j.TaskGroups[0].Count != 2 || j.CreateIndex != 1 {
		t.Errorf("restored job = %+v, want job round with count 2 created at 1", j)
	}
	if e := got.EvalByID(eval.ID); e == nil || e.Status != structs.EvalStatusPending {
		t.Errorf("restored eval = %+v, want the pending eval", e)
	}
	if n := got.NodeByID(node.ID); n == nil || n.Status != structs.NodeStatusReady {
		t.Errorf("restored node = %+v, want the ready node", n)
	}
	a := got.AllocByID(alloc.ID)
	if a == nil || a.ClientStatus != structs.AllocClientStatusRunning || a.Job == nil || a.Job.ID != "round" {
		t.Errorf("restored alloc = %+v, want the running alloc with its job", a)
	}
	if got.LatestIndex() != 4 {
		t.Errorf("restored latest index = %d, want 4", got.LatestIndex())
	}
}

// restoredCopy returns a new FSM restored from a raft snapshot of f.
func restoredCopy(t *testing.T, f *FSM) *FSM {
	t.Helper()
	snap, err := f.Snapshot()
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	store := raft.NewInmemSnapshotStore()
	sink, err := store.Create(raft.SnapshotVersionMax, 4, 1, raft.Configuration{}, 1, nil)
	if err != nil {
		t.Fatalf("creating snapshot sink: %v", err)
	}
	if err := snap.Persist(sink); err != nil {
		t.Fatalf("Persist: %v", err)
	}
	snap.Release()
	_, rc, err := store.Open(sink.ID())
	if err != nil {
		t.Fatalf("opening snapshot: %v", err)
	}
	g := testFSM(t)
	if err := g.Restore(rc); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	return g
}

func TestFSM_RestoreRejectsGarbage(t *testing.T) {
	f := testFSM(t)
	if err := f.Restore(io.NopCloser(&garbageReader{})); err == nil {
		t.Errorf("Restore(garbage) = nil, want an error")
	}
}

type garbageReader struct{ done bool }

func (g *garbageReader) Read(p []byte) (int, error) {
	if g.done {
		return 0, io.EOF
	}
	g.done = true
	return copy(p, []byte{0xc1, 0xc1, 0xc1}), nil
}

func TestFSM_LeaderEnqueuesPendingEvalsAndBlocksBlockedOnes(t *testing.T) {
	f := testFSM(t)
	f.broker.SetEnabled(true)
	f.blocked.SetEnabled(true)

	job := testJob("queued", 1, 128)
	eval := newJobEval(job, structs.EvalTriggerJobRegister, 1)
	if resp := applyEntry(t, f, 1, MsgJobRegister, &JobRegisterEntry{Job: job, Eval: eval}); resp != nil {
		t.Fatalf("Apply: %v", resp)
	}
	blocked := newJobEval(job, structs.EvalTriggerQueuedAllocs, 2)
	blocked.Status = structs.EvalStatusBlocked
	if resp := applyEntry(t, f, 2, MsgEvalUpdate, &EvalUpdateEntry{Evals: []*structs.Evaluation{blocked}}); resp != nil {
		t.Fatalf("Apply: %v", resp)
	}
	if st := f.broker.Stats(); st.Ready != 1 {
		t.Errorf("broker stats = %+v, want the pending eval ready", st)
	}
	if st := f.blocked.Stats(); st.Blocked != 1 {
		t.Errorf("blocked stats = %+v, want the blocked eval tracked", st)
	}
}
