package server

import (
	"errors"
	"testing"

	"github.com/orch-io/orch/structs"
)

// Entries written before namespaces carry none: a registration's job and a
// deregistration apply in "default". Namespaces entries create and delete
// namespaces, and a job of the same ID in two of them is two jobs.
func TestFSM_NamespacesAndEntriesWithoutOne(t *testing.T) {
	f := testFSM(t)
	old := testJob("web", 1, 64)
	old.Namespace = ""
	eval := newJobEval(old, structs.EvalTriggerJobRegister, 1)
	eval.Namespace = ""
	if resp := applyEntry(t, f, 1, MsgJobRegister, &JobRegisterEntry{Job: old, Eval: eval}); resp != nil {
		t.Fatalf("an old registration: %v", resp)
	}
	if f.state.JobByID("default", "web") == nil {
		t.Fatal("an old registration's job is not in default")
	}
	if resp := applyEntry(t, f, 2, MsgNamespaceUpsert, &NamespaceUpsertEntry{Namespaces: []*structs.Namespace{{Name: "a"}}}); resp != nil {
		t.Fatalf("namespace upsert: %v", resp)
	}
	inA := testJob("web", 2, 64)
	inA.Namespace = "a"
	if resp := applyEntry(t, f, 3, MsgJobRegister, &JobRegisterEntry{Job: inA, Eval: newJobEval(inA, structs.EvalTriggerJobRegister, 3)}); resp != nil {
		t.Fatalf("registration in a: %v", resp)
	}
	// An old deregistration: no namespace in the entry nor in its eval.
	stop := newJobEval(old, structs.EvalTriggerJobDeregister, 4)
	stop.Namespace = ""
	if resp := applyEntry(t, f, 4, MsgJobDeregister, &JobDeregisterEntry{JobID: "web", Eval: stop}); resp != nil {
		t.Fatalf("an old deregistration: %v", resp)
	}
	if !f.state.JobByID("default", "web").Stop || f.state.JobByID("a", "web").Stop {
		t.Fatal("an old deregistration must stop default's web, and only it")
	}
	resp := applyEntry(t, f, 5, MsgNamespaceDelete, &NamespaceDeleteEntry{Namespaces: []string{"a"}})
	if err, ok := resp.(error); !ok || !errors.Is(err, structs.ErrInvalid) {
		t.Fatalf("deleting a namespace with a live job: %v", resp)
	}
	if f.state.Snapshot().NamespaceByName("a") == nil {
		t.Fatal("the refused delete removed the namespace")
	}
}
