package scheduler

import (
	"testing"

	"github.com/orch-io/orch/server/state"
	"github.com/orch-io/orch/structs"
)

func TestPlanUsageFollowsTheSnapshotAndThePlan(t *testing.T) {
	store := state.NewStateStore()
	node := mockNode("n1").Build()
	must(t, store.UpsertNode(1, node))
	job := mockJob().CPU(100).Mem(100).Disk(10).Build()
	mk := func(id string, client structs.AllocClientStatus, desired structs.AllocDesiredStatus) *structs.Allocation {
		return &structs.Allocation{ID: id, JobID: job.ID, NodeID: node.ID, TaskGroup: "web", Name: "job.web[0]",
			AllocatedResources: allocatedResources(job.TaskGroups[0]), DesiredStatus: desired, ClientStatus: client}
	}
	live := mk("live", structs.AllocClientStatusRunning, structs.AllocDesiredStatusRun)
	other := mk("other", structs.AllocClientStatusRunning, structs.AllocDesiredStatusRun)
	other.JobID = "other-job"
	done := mk("done", structs.AllocClientStatusComplete, structs.AllocDesiredStatusRun)
	stopped := mk("stopped", structs.AllocClientStatusRunning, structs.AllocDesiredStatusStop)
	must(t, store.UpsertPlanResults(2, job, []*structs.Allocation{live, other, done, stopped}))
	snap := store.Snapshot()

	u := newPlanUsage(snap, snap.AllocsByJob("default", job.ID))
	nu := u.candidates([]*structs.Node{node})[0]
	if nu.collisions("web") != 1 {
		t.Fatalf("collisions %d, want 1 (the live allocation only)", nu.collisions("web"))
	}
	u.scan(nu)
	u.scan(nu) // scanning twice counts once
	one := structs.ComparableResources{CPU: 100, MemoryMB: 100, DiskMB: 10}
	if want := (structs.ComparableResources{CPU: 200, MemoryMB: 200, DiskMB: 20}); nu.used != want {
		t.Fatalf("used %+v, want %+v (two live allocations, whichever job)", nu.used, want)
	}

	u.stop(live)
	if nu.used != one || nu.collisions("web") != 0 {
		t.Fatalf("after stop: used %+v collisions %d", nu.used, nu.collisions("web"))
	}
	u.stop(done) // terminal: frees nothing
	if nu.used != one {
		t.Fatalf("stopping a terminal allocation changed usage: %+v", nu.used)
	}
	u.unstop(live)
	placed := mk("new", structs.AllocClientStatusPending, structs.AllocDesiredStatusRun)
	u.place(nu, placed)
	if want := (structs.ComparableResources{CPU: 300, MemoryMB: 300, DiskMB: 30}); nu.used != want || nu.collisions("web") != 2 {
		t.Fatalf("after unstop and place: used %+v collisions %d", nu.used, nu.collisions("web"))
	}
}

func TestPlanUsageRefusesToStopAllocationsOfOtherJobs(t *testing.T) {
	u := newPlanUsage(state.NewStateStore().Snapshot(), nil)
	defer func() {
		if recover() == nil {
			t.Fatal("stopping an allocation the usage does not know must panic: it is a bug")
		}
	}()
	u.stop(&structs.Allocation{ID: "x", NodeID: "n", DesiredStatus: structs.AllocDesiredStatusRun})
}
