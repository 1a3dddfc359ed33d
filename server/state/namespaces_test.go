package state

import (
	"bytes"
	"errors"
	"testing"

	"github.com/hashicorp/go-msgpack/v2/codec"
	"github.com/orch-io/orch/structs"
)

func inNamespace(j *structs.Job, ns string) *structs.Job {
	j.Namespace = ns
	return j
}

func TestSameJobIDInTwoNamespacesIsTwoJobs(t *testing.T) {
	s := NewStateStore()
	must(t, s.write(1, func(w *WriteTxn) error { return w.UpsertNamespaces([]*structs.Namespace{{Name: "a"}}) }))
	def, other := testJob("web"), inNamespace(testJob("web"), "a")
	other.TaskGroups[0].Count = 3
	must(t, s.UpsertJob(2, def))
	must(t, s.UpsertJob(3, other))
	must(t, s.UpsertJob(4, testJob("web2"))) // an ID that starts with the other
	must(t, s.UpsertPlanResults(5, def, []*structs.Allocation{testAlloc(def, "n1")}))
	must(t, s.UpsertPlanResults(6, other, []*structs.Allocation{testAlloc(other, "n1"), testAlloc(other, "n1")}))
	must(t, s.UpsertEvals(7, []*structs.Evaluation{{ID: structs.GenerateUUID(), Namespace: "a", JobID: "web", Status: structs.EvalStatusComplete}}))

	snap := s.Snapshot()
	if d, a := snap.JobByID("default", "web"), snap.JobByID("a", "web"); d == nil || a == nil || d.TaskGroups[0].Count != 1 || a.TaskGroups[0].Count != 3 {
		t.Fatalf("jobs web: default %+v, a %+v", d, a)
	}
	if n, m := len(snap.AllocsByJob("default", "web")), len(snap.AllocsByJob("a", "web")); n != 1 || m != 2 {
		t.Fatalf("allocations: %d in default, %d in a; want 1 and 2", n, m)
	}
	for _, al := range snap.AllocsByJob("a", "web") {
		if al.Namespace != "a" {
			t.Fatalf("allocation of a's job in namespace %q", al.Namespace)
		}
	}
	if n, m := len(snap.EvalsByJob("default", "web")), len(snap.EvalsByJob("a", "web")); n != 0 || m != 1 {
		t.Fatalf("evaluations: %d in default, %d in a; want 0 and 1", n, m)
	}
	if n := len(snap.Jobs("default", "web")); n != 2 {
		t.Fatalf("default's jobs starting with web: %d, want 2 (web, web2)", n)
	}
	if n := len(snap.Jobs("a", "")); n != 1 {
		t.Fatalf("a's jobs: %d, want 1", n)
	}
	if n := len(snap.Jobs(structs.AllNamespaces, "web")); n != 3 {
		t.Fatalf("every namespace's jobs starting with web: %d, want 3", n)
	}
	if v := snap.JobVersions("default", "web"); len(v) != 1 || v[0].Namespace != "default" {
		t.Fatalf("versions of default's web: %+v (web2's, or a's, must not be among them)", v)
	}

	must(t, s.DeleteJob(8, "a", "web"))
	snap = s.Snapshot()
	if snap.JobByID("a", "web") != nil || snap.JobByID("default", "web") == nil || len(snap.JobVersions("default", "web")) != 1 ||
		len(snap.JobVersions("a", "web")) != 0 || len(snap.JobVersions("default", "web2")) != 1 {
		t.Fatal("purging a's web touched another job or left its versions")
	}
}

func TestJobsOnlyInNamespacesThatExist(t *testing.T) {
	s := NewStateStore()
	if s.Snapshot().NamespaceByName(structs.DefaultNamespace) == nil {
		t.Fatal("a new store has no default namespace")
	}
	if err := s.UpsertJob(1, inNamespace(testJob("web"), "nope")); !errors.Is(err, structs.ErrInvalid) {
		t.Fatalf("a job in an unknown namespace: %v, want invalid", err)
	}
	noNS := testJob("old")
	noNS.Namespace = "" // an entry from before namespaces
	must(t, s.UpsertJob(2, noNS))
	if s.JobByID("default", "old") == nil {
		t.Fatal("a job without a namespace is not in default")
	}
}

func TestDeleteNamespaces(t *testing.T) {
	s := NewStateStore()
	must(t, s.write(1, func(w *WriteTxn) error {
		return w.UpsertNamespaces([]*structs.Namespace{{Name: "a", Description: "A"}, {Name: "b"}})
	}))
	del := func(index uint64, names ...string) error {
		return s.write(index, func(w *WriteTxn) error { return w.DeleteNamespaces(names) })
	}
	if err := del(2, structs.DefaultNamespace); !errors.Is(err, structs.ErrInvalid) {
		t.Fatalf("deleting default: %v", err)
	}
	if err := del(3, "zzz"); !errors.Is(err, structs.ErrNotFound) {
		t.Fatalf("deleting an unknown namespace: %v", err)
	}
	job := inNamespace(testJob("web"), "a")
	must(t, s.UpsertJob(4, job))
	must(t, s.UpsertPlanResults(5, job, []*structs.Allocation{testAlloc(job, "n1")}))
	if err := del(6, "b", "a"); !errors.Is(err, structs.ErrInvalid) {
		t.Fatalf("deleting a namespace with a running job: %v", err)
	}
	if s.Snapshot().NamespaceByName("b") == nil {
		t.Fatal("a refused delete removed another namespace of the same entry")
	}
	stopped := s.JobByID("a", "web").Copy()
	stopped.Stop = true
	must(t, s.UpsertJob(7, stopped))
	a := s.Snapshot().AllocsByJob("a", "web")[0].Copy()
	a.ClientStatus = structs.AllocClientStatusComplete
	must(t, s.UpdateAllocsFromClient(8, []*structs.Allocation{a}))
	if st := s.JobByID("a", "web").Status; st != structs.JobStatusDead {
		t.Fatalf("stopped job with its allocation complete: %s", st)
	}
	must(t, del(9, "a", "b"))
	if got := s.Snapshot().Namespaces(""); len(got) != 1 || got[0].Name != structs.DefaultNamespace {
		t.Fatalf("namespaces after the delete: %+v", got)
	}
}

// A snapshot written before namespaces existed: objects without a
// namespace, no namespaces table. It restores with everything in default.
func TestRestoreSnapshotFromBeforeNamespaces(t *testing.T) {
	var buf bytes.Buffer
	enc := codec.NewEncoder(&buf, structs.MsgpackHandle)
	put := func(kind recordKind, v any) {
		must(t, enc.Encode(kind))
		must(t, enc.Encode(v))
	}
	job := testJob("legacy")
	job.Namespace = ""
	alloc := testAlloc(job, "n1")
	alloc.Job = job
	put(recordIndex, &indexEntry{Key: TableJobs, Value: 7})
	put(recordJob, job)
	put(recordJobVersion, job)
	put(recordAlloc, alloc)
	put(recordEval, &structs.Evaluation{ID: structs.GenerateUUID(), JobID: "legacy", Status: structs.EvalStatusComplete})
	put(recordDeployment, &structs.Deployment{ID: structs.GenerateUUID(), JobID: "legacy", Status: structs.DeploymentStatusSuccessful})

	s := NewStateStore()
	must(t, s.Restore(&buf))
	snap := s.Snapshot()
	if snap.NamespaceByName(structs.DefaultNamespace) == nil {
		t.Fatal("no default namespace after restoring an old snapshot")
	}
	if snap.JobByID("default", "legacy") == nil || len(snap.JobVersions("default", "legacy")) != 1 {
		t.Fatal("the old job is not in default")
	}
	allocs, evals := snap.AllocsByJob("default", "legacy"), snap.EvalsByJob("default", "legacy")
	if len(allocs) != 1 || allocs[0].Namespace != "default" || allocs[0].Job.Namespace != "default" || len(evals) != 1 {
		t.Fatalf("old allocations %+v, evaluations %d: want them in default", allocs, len(evals))
	}
	if d := snap.LatestDeploymentByJobID("default", "legacy"); d == nil || d.Namespace != "default" {
		t.Fatalf("old deployment: %+v", d)
	}

	// And a snapshot of namespaces restores them.
	must(t, s.write(8, func(w *WriteTxn) error {
		return w.UpsertNamespaces([]*structs.Namespace{{Name: "a", Description: "A"}})
	}))
	var out bytes.Buffer
	must(t, s.Snapshot().Persist(&out))
	r := NewStateStore()
	must(t, r.Restore(&out))
	if ns := r.Snapshot().NamespaceByName("a"); ns == nil || ns.Description != "A" || ns.CreateIndex != 8 {
		t.Fatalf("namespace a after a snapshot round trip: %+v", ns)
	}
}
