package deploywatch

import (
	"slices"
	"testing"
	"time"

	"github.com/orch-io/orch/structs"
)

func TestCollectable(t *testing.T) {
	now := time.Date(2026, 1, 2, 12, 0, 0, 0, time.UTC)
	dep := func(id, job string, index uint64, status structs.DeploymentStatus, endedAgo time.Duration) *structs.Deployment {
		return &structs.Deployment{ID: id, JobID: job, CreateIndex: index, Status: status, ModifyTime: now.Add(-endedAgo).UnixNano()}
	}
	ds := []*structs.Deployment{
		dep("old-ok", "web", 1, structs.DeploymentStatusSuccessful, 3*time.Hour),
		dep("old-failed", "web", 2, structs.DeploymentStatusFailed, 2*time.Hour),
		dep("recent", "web", 3, structs.DeploymentStatusCancelled, 10*time.Minute),
		dep("latest-web", "web", 4, structs.DeploymentStatusSuccessful, 2*time.Hour),
		dep("latest-api", "api", 5, structs.DeploymentStatusFailed, 5*time.Hour),
		dep("running", "db", 6, structs.DeploymentStatusRunning, 5*time.Hour),
		dep("older-db", "db", 1, structs.DeploymentStatusPaused, 5*time.Hour),
	}
	got := Collectable(ds, now, time.Hour)
	slices.Sort(got)
	if want := []string{"old-failed", "old-ok"}; !slices.Equal(got, want) {
		t.Fatalf("collectable %v, want %v (ended an hour ago or more, not the latest of its job, not active)", got, want)
	}
}
