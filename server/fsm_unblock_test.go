package server

import (
	"context"
	"testing"
	"time"

	"github.com/orch-io/orch/structs"
)

// Capacity on a computed class a blocked evaluation found infeasible leaves
// it blocked; capacity on another class releases it. Both for a node that
// becomes ready and for an allocation stopped by a plan.
func TestFSM_UnblockIsClassAware(t *testing.T) {
	f := testFSM(t)
	f.broker.SetEnabled(true)
	f.blocked.SetEnabled(true)

	windows := testNode()
	windows.Status = structs.NodeStatusReady
	windows.Attributes["kernel.name"] = "windows"
	windows.ComputeClass()
	linux := testNode()
	linux.Status = structs.NodeStatusReady
	linux.ComputeClass()
	if windows.ComputedClass == linux.ComputedClass {
		t.Fatal("test nodes share a computed class")
	}

	job := testJob("web", 1, 128)
	block := func(index uint64) *structs.Evaluation {
		e := newJobEval(job, structs.EvalTriggerQueuedAllocs, int64(index))
		e.Status = structs.EvalStatusBlocked
		e.SnapshotIndex = index
		e.ClassEligibility = map[string]bool{windows.ComputedClass: false}
		if resp := applyEntry(t, f, index, MsgEvalUpdate, &EvalUpdateEntry{Evals: []*structs.Evaluation{e}}); resp != nil {
			t.Fatalf("Apply: %v", resp)
		}
		return e
	}
	wantState := func(blocked, ready int, when string) {
		t.Helper()
		if b, r := f.blocked.Stats().Blocked, f.broker.Stats().Ready; b != blocked || r != ready {
			t.Fatalf("%s: %d blocked and %d ready, want %d and %d", when, b, r, blocked, ready)
		}
	}

	block(1)
	applyEntry(t, f, 2, MsgNodeRegister, &NodeRegisterEntry{Node: windows})
	wantState(1, 0, "after a node of the infeasible class registered")
	applyEntry(t, f, 3, MsgNodeRegister, &NodeRegisterEntry{Node: linux})
	wantState(0, 1, "after a node of another class registered")
	e, tok := mustDequeueEval(t, f)
	if err := f.broker.Ack(e.ID, tok); err != nil {
		t.Fatal(err)
	}

	// Allocations on both nodes, then a blocked eval, then stops.
	mk := func(node *structs.Node) *structs.Allocation {
		return &structs.Allocation{
			ID: structs.GenerateUUID(), Namespace: job.Namespace, NodeID: node.ID, JobID: "other", TaskGroup: "web",
			Name:               "other.web[0]",
			AllocatedResources: &structs.AllocatedResources{Tasks: map[string]*structs.Resources{"server": {CPU: 100, MemoryMB: 64}}},
			DesiredStatus:      structs.AllocDesiredStatusRun, ClientStatus: structs.AllocClientStatusRunning,
		}
	}
	other := testJob("other", 2, 64)
	onWindows, onLinux := mk(windows), mk(linux)
	applyEntry(t, f, 4, MsgApplyPlanResults, &ApplyPlanResultsEntry{Job: other, Allocs: []*structs.Allocation{onWindows, onLinux}})
	block(5)
	stop := func(index uint64, a *structs.Allocation) {
		c := a.Copy()
		c.DesiredStatus = structs.AllocDesiredStatusStop
		applyEntry(t, f, index, MsgApplyPlanResults, &ApplyPlanResultsEntry{Job: other, Allocs: []*structs.Allocation{c}})
	}
	stop(6, onWindows)
	wantState(1, 0, "after an allocation stopped on the infeasible class")
	stop(7, onLinux)
	wantState(0, 1, "after an allocation stopped on another class")
}

func mustDequeueEval(t *testing.T, f *FSM) (*structs.Evaluation, string) {
	t.Helper()
	ctx, cancel := contextWithTimeout()
	defer cancel()
	e, tok, err := f.broker.Dequeue(ctx, workerJobTypes)
	if err != nil {
		t.Fatal(err)
	}
	return e, tok
}

func contextWithTimeout() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 10*time.Second)
}
