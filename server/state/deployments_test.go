package state

import (
	"errors"
	"testing"
	"time"

	"github.com/orch-io/orch/structs"
)

// TestDeploymentCountersFollowTheAllocations: placed, healthy, unhealthy and
// canaries are derived from the deployment's allocations as they change, and
// the progress deadline moves with the latest healthy one.
func TestDeploymentCountersFollowTheAllocations(t *testing.T) {
	s := NewStateStore()
	job := testJob("web")
	job.TaskGroups[0].Count = 3
	job.TaskGroups[0].Update = structs.DefaultUpdateStrategy()
	must(t, s.UpsertJob(1, job))
	t0 := time.Unix(1_000_000, 0)
	d := structs.NewDeployment("d1", s.JobByID("default", "web"), t0)
	d.TaskGroups["web"].DesiredCanaries = 1
	canary, other := testAlloc(job, "n1"), testAlloc(job, "n1")
	canary.DeploymentID, other.DeploymentID = "d1", "d1"
	canary.DeploymentStatus = &structs.AllocDeploymentStatus{Canary: true}
	w := s.Begin(2)
	must(t, w.UpsertDeployment(d))
	must(t, w.UpsertPlanResults(job, []*structs.Allocation{canary, other}))
	must(t, w.Commit())
	got := s.Snapshot().DeploymentByID("d1").TaskGroups["web"]
	if got.PlacedAllocs != 2 || len(got.PlacedCanaries) != 1 || got.PlacedCanaries[0] != canary.ID || got.HealthyAllocs != 0 {
		t.Fatalf("after placement: %+v", got)
	}
	if !got.RequireProgressBy.Equal(t0.Add(structs.DefaultUpdateProgressDeadline)) {
		t.Errorf("progress deadline %s, want creation + 10m", got.RequireProgressBy)
	}

	healthy := true
	must(t, s.UpdateAllocsFromClient(3, []*structs.Allocation{{ID: canary.ID, ClientStatus: structs.AllocClientStatusRunning,
		DeploymentStatus: &structs.AllocDeploymentStatus{Healthy: &healthy, Timestamp: t0.Add(time.Minute)}}}))
	got = s.Snapshot().DeploymentByID("d1").TaskGroups["web"]
	if got.HealthyAllocs != 1 || !got.RequireProgressBy.Equal(t0.Add(time.Minute+structs.DefaultUpdateProgressDeadline)) {
		t.Fatalf("after a healthy report: %+v", got)
	}
	if a := s.AllocByID(canary.ID); !a.DeploymentStatus.Canary {
		t.Fatal("the client's report dropped the canary flag")
	}
	// A health once decided stays.
	unhealthy := false
	must(t, s.UpdateAllocsFromClient(4, []*structs.Allocation{{ID: canary.ID, ClientStatus: structs.AllocClientStatusRunning,
		DeploymentStatus: &structs.AllocDeploymentStatus{Healthy: &unhealthy}}}))
	if !s.AllocByID(canary.ID).DeploymentStatus.IsHealthy() {
		t.Fatal("a second report changed a decided health")
	}

	w = s.Begin(5)
	must(t, w.SetAllocHealth("d1", nil, []string{other.ID}, t0.Add(2*time.Minute)))
	must(t, w.PromoteDeployment("d1", nil, t0.UnixNano()))
	must(t, w.Commit())
	got = s.Snapshot().DeploymentByID("d1").TaskGroups["web"]
	if got.UnhealthyAllocs != 1 || !got.Promoted {
		t.Fatalf("after manual health and promotion: %+v", got)
	}
	w = s.Begin(6)
	if err := w.SetAllocHealth("d1", []string{"nope"}, nil, t0); !errors.Is(err, structs.ErrInvalid) {
		t.Errorf("health of an allocation outside the deployment: %v", err)
	}
	w.Abort()

	w = s.Begin(7)
	must(t, w.UpdateDeploymentStatus(&structs.DeploymentStatusUpdate{DeploymentID: "d1", Status: structs.DeploymentStatusSuccessful}, 0))
	must(t, w.UpdateDeploymentStatus(&structs.DeploymentStatusUpdate{DeploymentID: "d1", Status: structs.DeploymentStatusFailed}, 0))
	must(t, w.Commit())
	if st := s.Snapshot().DeploymentByID("d1").Status; st != structs.DeploymentStatusSuccessful {
		t.Fatalf("an ended deployment changed status to %s", st)
	}
	w = s.Begin(8)
	if err := w.PromoteDeployment("d1", nil, 0); !errors.Is(err, structs.ErrInvalid) {
		t.Errorf("promoting an ended deployment: %v", err)
	}
	w.Abort()
}
