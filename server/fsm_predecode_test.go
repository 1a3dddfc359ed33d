package server

import (
	"testing"

	"github.com/orch-io/orch/structs"
)

// The predecoder hands back the decoding of exactly the bytes it was
// started on, once; types it does not decode ahead, broken bytes and
// dropped entries give nothing, and the FSM decodes them itself.
func TestPredecoderTakesTheSameBytesOnce(t *testing.T) {
	var p predecoder
	entry := &AllocClientUpdateEntry{Allocs: []*structs.Allocation{{ID: "a1", ClientStatus: structs.AllocClientStatusRunning}}}
	buf, err := encodeEntry(MsgAllocClientUpdate, entry)
	if err != nil {
		t.Fatal(err)
	}
	if !p.start(buf) {
		t.Fatal("a client update entry was not decoded ahead")
	}
	if got := p.take(append([]byte(nil), buf...)); got != nil {
		t.Fatalf("a copy of the bytes took %v: only the very slice sent may", got)
	}
	got, ok := p.take(buf).(*AllocClientUpdateEntry)
	if !ok || len(got.Allocs) != 1 || got.Allocs[0].ID != "a1" || got.Allocs[0].ClientStatus != structs.AllocClientStatusRunning {
		t.Fatalf("took %#v, want the entry", got)
	}
	if again := p.take(buf); again != nil {
		t.Fatal("an entry was taken twice")
	}

	other, _ := encodeEntry(MsgEvalUpdate, &EvalUpdateEntry{})
	if p.start(other) {
		t.Error("an evaluation entry was decoded ahead")
	}
	broken := []byte{byte(MsgApplyPlanResults), 0x81, 0xa1} // truncated
	if !p.start(broken) || p.take(broken) != nil {
		t.Error("a broken entry's decoding was handed over")
	}
	dropped, _ := encodeEntry(MsgApplyPlanResults, &ApplyPlanResultsEntry{EvalID: "e1"})
	p.start(dropped)
	p.drop(dropped)
	if p.take(dropped) != nil {
		t.Error("a dropped entry was handed over")
	}
	for range maxPredecoded {
		b, _ := encodeEntry(MsgAllocClientUpdate, entry)
		p.start(b)
	}
	if b, _ := encodeEntry(MsgAllocClientUpdate, entry); p.start(b) {
		t.Errorf("more than %d entries decoded ahead", maxPredecoded)
	}
	p.clear()
	if b, _ := encodeEntry(MsgAllocClientUpdate, entry); !p.start(b) {
		t.Error("nothing decoded ahead after a clear")
	}
}

// On a leader, the FSM applies a plan from the decoding started as the plan
// was sent: none is left over once the plan is committed.
func TestLeaderAppliesPlansDecodedAhead(t *testing.T) {
	s := startServer(t, testConfig(t.TempDir()))
	node := testNode()
	node.Status = structs.NodeStatusReady
	if _, err := s.raftApply(MsgNodeRegister, &NodeRegisterEntry{Node: node}); err != nil {
		t.Fatal(err)
	}
	job := testJob("ahead", 1, 64)
	job.Canonicalize()
	plan := &structs.Plan{EvalID: structs.GenerateUUID(), Priority: job.Priority, Job: job}
	alloc := &structs.Allocation{ID: structs.GenerateUUID(), Namespace: job.Namespace, EvalID: plan.EvalID,
		Name: structs.AllocName(job.ID, "web", 0), NodeID: node.ID, NodeName: node.Name, JobID: job.ID, Job: job, TaskGroup: "web",
		AllocatedResources: &structs.AllocatedResources{Tasks: map[string]*structs.Resources{"server": {CPU: 100, MemoryMB: 64}}},
		DesiredStatus:      structs.AllocDesiredStatusRun, ClientStatus: structs.AllocClientStatusPending}
	plan.AppendAlloc(alloc)
	result, err := s.applyPlan(plan)
	if err != nil {
		t.Fatal(err)
	}
	if full, _, _ := result.FullCommit(plan); !full {
		t.Fatal("plan not committed")
	}
	if got := s.state.AllocByID(alloc.ID); got == nil || got.NodeID != node.ID || got.CreateIndex != result.AllocIndex {
		t.Fatalf("stored allocation %+v, want it at index %d", got, result.AllocIndex)
	}
	s.fsm.pre.mu.Lock()
	left, taken := len(s.fsm.pre.entries), s.fsm.pre.taken
	s.fsm.pre.mu.Unlock()
	if taken != 1 || left != 0 {
		t.Fatalf("the FSM took %d entries decoded ahead, %d left; want the plan's, none left", taken, left)
	}
}
