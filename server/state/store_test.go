package state

import (
	"bytes"
	"errors"
	"testing"

	"github.com/orch-io/orch/structs"
)

func testJob(id string) *structs.Job {
	return &structs.Job{
		ID: id, Name: id, Namespace: structs.DefaultNamespace, Type: structs.JobTypeService, Priority: 50,
		TaskGroups: []*structs.TaskGroup{{Name: "web", Count: 1, Tasks: []*structs.Task{{Name: "t", Driver: "raw_exec"}}}},
	}
}

func testAlloc(job *structs.Job, node string) *structs.Allocation {
	return &structs.Allocation{
		ID: structs.GenerateUUID(), JobID: job.ID, NodeID: node, TaskGroup: "web", Name: structs.AllocName(job.ID, "web", 0),
		DesiredStatus: structs.AllocDesiredStatusRun, ClientStatus: structs.AllocClientStatusPending,
	}
}

func TestUpsertJobBumpsVersionOnlyWhenTheSpecChanges(t *testing.T) {
	s := NewStateStore()
	must(t, s.UpsertJob(10, testJob("web")))
	must(t, s.UpsertJob(11, testJob("web"))) // same spec again
	j := s.JobByID("default", "web")
	if j.Version != 0 || j.JobModifyIndex != 10 || j.ModifyIndex != 11 || j.CreateIndex != 10 {
		t.Fatalf("re-registering the same spec: version=%d jobModify=%d modify=%d create=%d, want 0/10/11/10",
			j.Version, j.JobModifyIndex, j.ModifyIndex, j.CreateIndex)
	}
	changed := testJob("web")
	changed.TaskGroups[0].Count = 3
	must(t, s.UpsertJob(12, changed))
	if j := s.JobByID("default", "web"); j.Version != 1 || j.JobModifyIndex != 12 {
		t.Fatalf("changed spec: version=%d jobModify=%d, want 1/12", j.Version, j.JobModifyIndex)
	}
	if got := s.Index(TableJobs); got != 12 {
		t.Fatalf("jobs index = %d, want 12", got)
	}
}

func TestUpsertJobIgnoresMapOrder(t *testing.T) {
	// Maps encode in random order; a spec with several keys in its maps must
	// still compare equal to itself, every time.
	withMaps := func() *structs.Job {
		j := testJob("web")
		j.Meta = map[string]string{"a": "1", "b": "2", "c": "3", "d": "4"}
		j.TaskGroups[0].Tasks[0].Config = map[string]any{"command": "/bin/sleep", "args": []any{"1"}, "x": 1, "y": "z"}
		j.TaskGroups[0].Tasks[0].Env = map[string]string{"A": "1", "B": "2", "C": "3"}
		return j
	}
	s := NewStateStore()
	must(t, s.UpsertJob(1, withMaps()))
	for i := uint64(2); i < 30; i++ {
		must(t, s.UpsertJob(i, withMaps()))
	}
	if j := s.JobByID("default", "web"); j.Version != 0 || j.JobModifyIndex != 1 {
		t.Fatalf("re-registering the same spec 28 times: version=%d jobModify=%d, want 0/1", j.Version, j.JobModifyIndex)
	}
}

func TestJobStatusFollowsEvalsAndAllocs(t *testing.T) {
	s := NewStateStore()
	job := testJob("web")
	must(t, s.UpsertJob(1, job))
	status := func() structs.JobStatus { return s.JobByID("default", "web").Status }
	eval := &structs.Evaluation{ID: structs.GenerateUUID(), JobID: "web", Status: structs.EvalStatusPending}
	must(t, s.UpsertEvals(2, []*structs.Evaluation{eval}))
	if status() != structs.JobStatusPending {
		t.Fatalf("with an open eval: %s, want pending", status())
	}
	alloc := testAlloc(job, "n1")
	must(t, s.UpsertPlanResults(3, job, []*structs.Allocation{alloc}))
	if status() != structs.JobStatusRunning {
		t.Fatalf("with a placed alloc: %s, want running", status())
	}
	if a := s.AllocByID(alloc.ID); a.Job == nil || a.CreateIndex != 3 || a.AllocModifyIndex != 3 {
		t.Fatalf("placed alloc not stored with its job and indexes: %+v", a)
	}
	done := &structs.Allocation{ID: alloc.ID, ClientStatus: structs.AllocClientStatusComplete}
	must(t, s.UpdateAllocsFromClient(4, []*structs.Allocation{done}))
	closed := eval.Copy()
	closed.Status = structs.EvalStatusComplete
	must(t, s.UpsertEvals(5, []*structs.Evaluation{closed}))
	if status() != structs.JobStatusDead {
		t.Fatalf("all allocs terminal, evals done: %s, want dead", status())
	}
	a := s.AllocByID(alloc.ID)
	if a.ClientStatus != structs.AllocClientStatusComplete || a.DesiredStatus != structs.AllocDesiredStatusRun || a.AllocModifyIndex != 3 || a.ModifyIndex != 4 {
		t.Fatalf("client update must change only client fields and ModifyIndex: %+v", a)
	}
}

func TestPlanResultsKeepClientFieldsOfExistingAllocs(t *testing.T) {
	s := NewStateStore()
	job := testJob("web")
	must(t, s.UpsertJob(1, job))
	alloc := testAlloc(job, "n1")
	must(t, s.UpsertPlanResults(2, job, []*structs.Allocation{alloc}))
	running := &structs.Allocation{ID: alloc.ID, ClientStatus: structs.AllocClientStatusRunning,
		TaskStates: map[string]*structs.TaskState{"t": {State: structs.TaskStateRunning}}}
	must(t, s.UpdateAllocsFromClient(3, []*structs.Allocation{running}))

	stop := &structs.Allocation{ID: alloc.ID, NodeID: "n1", JobID: "web", DesiredStatus: structs.AllocDesiredStatusStop, DesiredDescription: "job stopped"}
	must(t, s.UpsertPlanResults(4, nil, []*structs.Allocation{stop}))
	a := s.AllocByID(alloc.ID)
	if a.DesiredStatus != structs.AllocDesiredStatusStop || a.ClientStatus != structs.AllocClientStatusRunning || a.TaskStates["t"] == nil || a.Job == nil {
		t.Fatalf("stop must keep client status, task states and job: %+v", a)
	}
}

func TestPersistRestoreRoundTrip(t *testing.T) {
	s := NewStateStore()
	job := testJob("web")
	must(t, s.UpsertJob(1, job))
	must(t, s.UpsertNode(2, &structs.Node{ID: "n1", Name: "node-1", Status: structs.NodeStatusReady}))
	alloc := testAlloc(job, "n1")
	must(t, s.UpsertPlanResults(3, job, []*structs.Allocation{alloc}))
	must(t, s.UpsertEvals(4, []*structs.Evaluation{{ID: "e1", JobID: "web", Status: structs.EvalStatusComplete}}))

	var buf bytes.Buffer
	must(t, s.Snapshot().Persist(&buf))
	r := NewStateStore()
	must(t, r.Restore(&buf))
	snap := r.Snapshot()
	if snap.JobByID("default", "web") == nil || snap.NodeByID("n1") == nil || snap.AllocByID(alloc.ID) == nil || snap.EvalByID("e1") == nil {
		t.Fatal("restore lost objects")
	}
	if snap.LatestIndex() != 4 || snap.Index(TableAllocs) != 3 {
		t.Fatalf("restored indexes: latest=%d allocs=%d, want 4/3", snap.LatestIndex(), snap.Index(TableAllocs))
	}
	if got := snap.AllocsByNode("n1"); len(got) != 1 || got[0].Job.ID != "web" {
		t.Fatalf("restored alloc by node: %+v", got)
	}
	if err := r.Restore(bytes.NewReader([]byte{0x07, 0x01})); err == nil {
		t.Fatal("restoring garbage must fail")
	}
	if r.JobByID("default", "web") == nil {
		t.Fatal("a failed restore must leave the store as it was")
	}
}

func TestPrefixLists(t *testing.T) {
	s := NewStateStore()
	for i, id := range []string{"web", "web-2", "api"} {
		must(t, s.UpsertJob(uint64(i+1), testJob(id)))
	}
	if got := s.Snapshot().Jobs("default", "web"); len(got) != 2 || got[0].ID != "web" || got[1].ID != "web-2" {
		t.Fatalf("Jobs(web) = %v", got)
	}
	if got := s.Snapshot().Jobs("*", ""); len(got) != 3 {
		t.Fatalf("Jobs() = %d jobs, want 3", len(got))
	}
}

func TestUpdateNodeStatusOfUnknownNode(t *testing.T) {
	s := NewStateStore()
	if err := s.UpdateNodeStatus(1, "nope", structs.NodeStatusDown, 0); !errors.Is(err, structs.ErrNotFound) {
		t.Fatalf("err = %v, want not found", err)
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// storeWithJob is a store holding job (at index 1) and a ready node of each
// ID (at the next indexes).
func storeWithJob(t *testing.T, job *structs.Job, nodes ...string) *StateStore {
	t.Helper()
	s := NewStateStore()
	must(t, s.UpsertJob(1, job))
	for i, id := range nodes {
		must(t, s.UpsertNode(uint64(2+i), &structs.Node{ID: id, Status: structs.NodeStatusReady}))
	}
	return s
}

func TestStoppingAnAllocationOnADownNodeMarksItLost(t *testing.T) {
	job := testJob("web")
	s := storeWithJob(t, job, "up", "down")
	onUp, onDown, done := testAlloc(job, "up"), testAlloc(job, "down"), testAlloc(job, "down")
	must(t, s.UpsertPlanResults(4, job, []*structs.Allocation{onUp, onDown, done}))
	must(t, s.UpdateAllocsFromClient(5, []*structs.Allocation{
		{ID: onUp.ID, ClientStatus: structs.AllocClientStatusRunning},
		{ID: onDown.ID, ClientStatus: structs.AllocClientStatusRunning},
		{ID: done.ID, ClientStatus: structs.AllocClientStatusComplete},
	}))
	must(t, s.UpdateNodeStatus(6, "down", structs.NodeStatusDown, 0))
	var stops []*structs.Allocation
	for _, a := range []*structs.Allocation{onUp, onDown, done} {
		stops = append(stops, &structs.Allocation{ID: a.ID, NodeID: a.NodeID, JobID: "web",
			DesiredStatus: structs.AllocDesiredStatusStop, DesiredDescription: "stop"})
	}
	must(t, s.UpsertPlanResults(7, nil, stops))
	for _, c := range []struct {
		alloc *structs.Allocation
		want  structs.AllocClientStatus
	}{
		{onUp, structs.AllocClientStatusRunning},  // its client will stop it and say so
		{onDown, structs.AllocClientStatusLost},   // nobody will report it
		{done, structs.AllocClientStatusComplete}, // it had finished: nothing lost
	} {
		if got := s.AllocByID(c.alloc.ID).ClientStatus; got != c.want {
			t.Errorf("alloc on %s (was %s): client status %s, want %s", c.alloc.NodeID, c.alloc.ClientStatus, got, c.want)
		}
	}
}

// AllocsByEval, without an index by evaluation, finds the allocations of the
// evaluation's job that name it: not those of the job's other evaluations,
// not another job's; none once the evaluation is gone.
func TestAllocsByEvalReadsTheJobsAllocations(t *testing.T) {
	s := NewStateStore()
	web, api := testJob("web"), testJob("api")
	must(t, s.UpsertJob(1, web))
	must(t, s.UpsertJob(2, api))
	first := &structs.Evaluation{ID: structs.GenerateUUID(), Namespace: "default", JobID: "web", Status: structs.EvalStatusComplete}
	second := &structs.Evaluation{ID: structs.GenerateUUID(), Namespace: "default", JobID: "web", Status: structs.EvalStatusComplete}
	must(t, s.UpsertEvals(3, []*structs.Evaluation{first, second}))
	a1, a2, b := testAlloc(web, "n1"), testAlloc(web, "n2"), testAlloc(api, "n1")
	a1.EvalID, a2.EvalID, b.EvalID = first.ID, second.ID, first.ID
	must(t, s.UpsertPlanResults(4, web, []*structs.Allocation{a1, a2}))
	must(t, s.UpsertPlanResults(5, api, []*structs.Allocation{b}))
	got := s.Snapshot().AllocsByEval(first.ID)
	if len(got) != 1 || got[0].ID != a1.ID {
		t.Fatalf("AllocsByEval(first) = %d allocations, want only %s", len(got), a1.ID)
	}
	if got := s.Snapshot().AllocsByEval("no-such-eval"); got != nil {
		t.Errorf("AllocsByEval of an unknown evaluation = %d allocations, want none", len(got))
	}
}
