package allocrunner

import (
	"testing"
	"time"

	"github.com/orch-io/orch/structs"
)

func deploymentAlloc(job *structs.Job, update *structs.UpdateStrategy) *structs.Allocation {
	job.TaskGroups[0].Update = update
	a := testAlloc(job)
	a.DeploymentID = "d1"
	a.DeploymentStatus = &structs.AllocDeploymentStatus{Canary: true}
	return a
}

// sentHealth returns the health last sent, nil while undecided.
func sentHealth(rec *recorder) *bool {
	if a := rec.lastSent(); a != nil && a.DeploymentStatus != nil {
		return a.DeploymentStatus.Healthy
	}
	return nil
}

// An allocation of a deployment whose task keeps running is reported
// healthy once min_healthy_time passed, with its canary flag kept.
func TestAllocRunnerReportsHealthy(t *testing.T) {
	policy := structs.DefaultRestartPolicy(structs.JobTypeService)
	job := testJob(structs.JobTypeService, policy, shellTask("server", `exec sleep 1000`))
	update := &structs.UpdateStrategy{MaxParallel: 1, HealthCheck: structs.UpdateHealthCheckTaskStates,
		MinHealthyTime: 100 * time.Millisecond, HealthyDeadline: time.Minute}
	ar, rec, _ := newTestAllocRunner(t, deploymentAlloc(job, update))
	ar.Run()
	waitFor(t, "health sent", func() bool { return sentHealth(rec) != nil })
	a := rec.lastSent()
	if !*a.DeploymentStatus.Healthy || !a.DeploymentStatus.Canary || a.DeploymentStatus.Timestamp.IsZero() {
		t.Fatalf("deployment status %+v, want healthy canary with a timestamp", a.DeploymentStatus)
	}
	started := time.Unix(0, a.TaskStates["server"].StartedAt)
	if a.DeploymentStatus.Timestamp.Sub(started) < update.MinHealthyTime {
		t.Errorf("healthy %s after the start, before min_healthy_time", a.DeploymentStatus.Timestamp.Sub(started))
	}
}

// A task that fails makes the allocation unhealthy at once.
func TestAllocRunnerReportsUnhealthy(t *testing.T) {
	policy := &structs.RestartPolicy{Attempts: 0, Interval: time.Hour, Mode: structs.RestartPolicyModeFail}
	job := testJob(structs.JobTypeService, policy, shellTask("server", `exit 1`))
	update := &structs.UpdateStrategy{MaxParallel: 1, HealthCheck: structs.UpdateHealthCheckChecks,
		MinHealthyTime: time.Hour, HealthyDeadline: 2 * time.Hour}
	ar, rec, _ := newTestAllocRunner(t, deploymentAlloc(job, update))
	ar.Run()
	waitFor(t, "health sent", func() bool { return sentHealth(rec) != nil })
	if *sentHealth(rec) {
		t.Fatal("a failed task reported healthy")
	}
}

// In manual mode the runner leaves the health to the operator.
func TestAllocRunnerManualHealthIsNotTracked(t *testing.T) {
	job := testJob(structs.JobTypeService, structs.DefaultRestartPolicy(structs.JobTypeService), shellTask("server", `exec sleep 1000`))
	update := &structs.UpdateStrategy{MaxParallel: 1, HealthCheck: structs.UpdateHealthCheckManual, HealthyDeadline: time.Minute}
	if _, ok := healthToTrack(deploymentAlloc(job, update), job.TaskGroups[0]); ok {
		t.Fatal("manual health tracked")
	}
	update.HealthCheck = structs.UpdateHealthCheckChecks
	a := deploymentAlloc(job, update)
	if _, ok := healthToTrack(a, job.TaskGroups[0]); !ok {
		t.Fatal("checks mode without checks is not tracked as task states")
	}
	a.DeploymentID = ""
	job.TaskGroups[0].Migrate = &structs.MigrateStrategy{MaxParallel: 1, MinHealthyTime: 7 * time.Second, HealthyDeadline: time.Minute}
	if cfg, ok := healthToTrack(a, job.TaskGroups[0]); !ok || cfg.MinHealthyTime != 7*time.Second {
		t.Fatalf("an allocation outside deployments, with a migrate block: %+v, %v; want tracked with the migrate settings", cfg, ok)
	}
	job.TaskGroups[0].Migrate = nil
	if _, ok := healthToTrack(a, job.TaskGroups[0]); ok {
		t.Fatal("an allocation outside deployments and without a migrate block tracked")
	}
}
