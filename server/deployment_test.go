package server

import (
	"fmt"
	"testing"
	"time"

	"github.com/orch-io/orch/structs"
)

// deploymentJob is testJob with an update block.
func deploymentJob(count, maxParallel, canary int, autoRevert bool) *structs.Job {
	job := testJob("web", count, 64)
	u := structs.DefaultUpdateStrategy()
	u.MaxParallel, u.Canary, u.AutoRevert = maxParallel, canary, autoRevert
	u.MinHealthyTime, u.HealthyDeadline, u.ProgressDeadline = time.Second, time.Minute, 10*time.Minute
	job.Update = u
	return job
}

// reportHealth reports, as the node's client would, the allocations of the
// job's latest deployment that have no health yet: running, with health.
// It returns how many it reported.
func reportHealth(t *testing.T, s *Server, jobID string, healthy bool) int {
	t.Helper()
	snap := s.state.Snapshot()
	d := snap.LatestDeploymentByJobID("default", jobID)
	if d == nil {
		return 0
	}
	var report []*structs.Allocation
	for _, a := range snap.AllocsByDeployment(d.ID) {
		if a.TerminalStatus() || (a.DeploymentStatus != nil && a.DeploymentStatus.Healthy != nil) {
			continue
		}
		h := healthy
		report = append(report, &structs.Allocation{ID: a.ID, ClientStatus: structs.AllocClientStatusRunning,
			DeploymentStatus: &structs.AllocDeploymentStatus{Healthy: &h, Timestamp: time.Now()}})
	}
	if len(report) == 0 {
		return 0
	}
	var upd structs.GenericResponse
	if err := s.RPC(t.Context(), "Node.UpdateAlloc", &structs.AllocUpdateRequest{Alloc: report}, &upd); err != nil {
		t.Fatal(err)
	}
	return len(report)
}

// liveOutOfService counts the job's live allocations placed by a
// deployment that are not healthy.
func liveOutOfService(s *Server, jobID string) (live, out int) {
	for _, a := range s.state.Snapshot().AllocsByJob("default", jobID) {
		if a.TerminalStatus() {
			continue
		}
		live++
		if a.DeploymentID != "" && !a.DeploymentStatus.IsHealthy() && !a.DeploymentStatus.IsCanary() {
			out++
		}
	}
	return live, out
}

func latestDeployment(s *Server, jobID string) *structs.Deployment {
	return s.state.Snapshot().LatestDeploymentByJobID("default", jobID)
}

// TestDeploymentRollsAndRevertsOnAServer: on a real server (scheduler, plan
// applier, deployment watcher, Raft), a job's first version deploys and
// becomes stable; a second version rolls 2 at a time as allocations report
// healthy, never more than 2 out of service; a third, bad version's canary
// reports unhealthy, its deployment fails and the job is reverted to the
// second version.
func TestDeploymentRollsAndRevertsOnAServer(t *testing.T) {
	s := startServer(t, testConfig(t.TempDir()))
	registerNode(t, s, testNode())

	registerJob(t, s, deploymentJob(5, 2, 0, false))
	waitFor(t, 10*time.Second, "version 0 placed under a deployment", func() bool {
		d := latestDeployment(s, "web")
		live, _ := liveOutOfService(s, "web")
		return d != nil && live == 5
	})
	reportHealth(t, s, "web", true)
	waitFor(t, 10*time.Second, "version 0's deployment successful and the version stable", func() bool {
		d := latestDeployment(s, "web")
		return d.Status == structs.DeploymentStatusSuccessful && s.state.JobByID("default", "web").Stable
	})

	v1 := deploymentJob(5, 2, 0, false)
	v1.TaskGroups[0].Tasks[0].Config["args"] = []any{"2000"}
	registerJob(t, s, v1)
	first := latestDeployment(s, "web").ID
	rounds := 0
	waitFor(t, 30*time.Second, "version 1 rolled out", func() bool {
		if _, out := liveOutOfService(s, "web"); out > 2 {
			t.Fatalf("%d allocations out of service, max_parallel is 2", out)
		}
		if d := latestDeployment(s, "web"); d.ID != first && d.Status == structs.DeploymentStatusSuccessful {
			return true
		}
		if reportHealth(t, s, "web", true) > 0 {
			rounds++
		}
		return false
	})
	if rounds < 3 {
		t.Errorf("version 1 went out in %d health rounds, want at least 3 batches of at most 2", rounds)
	}
	if j := s.state.JobByID("default", "web"); j.Version != 1 || !j.Stable {
		t.Fatalf("job version %d stable %v, want 1 stable", j.Version, j.Stable)
	}

	bad := deploymentJob(5, 2, 1, true)
	bad.TaskGroups[0].Tasks[0].Config["args"] = []any{"bad"}
	registerJob(t, s, bad)
	waitFor(t, 10*time.Second, "the canary placed", func() bool {
		d := latestDeployment(s, "web")
		return d.JobVersion == 2 && len(d.TaskGroups["web"].PlacedCanaries) == 1
	})
	failed := latestDeployment(s, "web")
	reportHealth(t, s, "web", false)
	waitFor(t, 10*time.Second, "the bad version's deployment failed and the job reverted", func() bool {
		d := s.state.Snapshot().DeploymentByID(failed.ID)
		j := s.state.JobByID("default", "web")
		return d.Status == structs.DeploymentStatusFailed && j.Version == 3 &&
			fmt.Sprint(j.TaskGroups[0].Tasks[0].Config["args"]) == "[2000]"
	})
	if got := s.state.Snapshot().DeploymentByID(failed.ID).StatusDescription; got != "Failed due to unhealthy allocations - rolling back to job version 1" {
		t.Errorf("description %q", got)
	}
	// The reverted version only changes the running allocations in place:
	// its deployment ends successful on their health, and it is stable.
	waitFor(t, 10*time.Second, "the reverted version's deployment successful and the version stable", func() bool {
		d := latestDeployment(s, "web")
		j := s.state.JobByID("default", "web")
		return d.JobVersion == 3 && d.Status == structs.DeploymentStatusSuccessful && j.Version == 3 && j.Stable
	})
}

// TestDeploymentSurvivesLeaderCrash: a rolling update in progress when the
// leader crashes completes under the new leader, whose deployment watcher
// is rebuilt from the replicated state.
func TestDeploymentSurvivesLeaderCrash(t *testing.T) {
	servers := startCluster(t, 3)
	leader := leaderOf(servers)
	registerNode(t, leader, testNode())
	registerJob(t, leader, deploymentJob(4, 1, 0, false))
	waitFor(t, 10*time.Second, "version 0 placed", func() bool {
		live, _ := liveOutOfService(leader, "web")
		return live == 4
	})
	reportHealth(t, leader, "web", true)
	waitFor(t, 10*time.Second, "version 0 successful", func() bool {
		return latestDeployment(leader, "web").Status == structs.DeploymentStatusSuccessful
	})

	v1 := deploymentJob(4, 1, 0, false)
	v1.TaskGroups[0].Tasks[0].Config["args"] = []any{"2000"}
	registerJob(t, leader, v1)
	waitFor(t, 10*time.Second, "the first batch of version 1 placed", func() bool {
		d := latestDeployment(leader, "web")
		return d.JobVersion == 1 && d.TaskGroups["web"].PlacedAllocs == 1
	})
	reportHealth(t, leader, "web", true)
	waitFor(t, 10*time.Second, "the second batch placed", func() bool {
		return latestDeployment(leader, "web").TaskGroups["web"].PlacedAllocs == 2
	})

	crash(t, leader)
	rest := without(servers, leader)
	var next *Server
	waitFor(t, 20*time.Second, "a new leader", func() bool {
		next = leaderOf(rest)
		return next != nil && next.broker.Enabled()
	})
	id := latestDeployment(next, "web").ID
	waitFor(t, 30*time.Second, "version 1's deployment successful under the new leader", func() bool {
		if _, out := liveOutOfService(next, "web"); out > 1 {
			t.Fatalf("%d allocations out of service, max_parallel is 1", out)
		}
		reportHealth(t, next, "web", true)
		d := next.state.Snapshot().DeploymentByID(id)
		return d.Status == structs.DeploymentStatusSuccessful
	})
}

// TestDeploymentGC: the leader's GC removes, through Raft, the deployments
// that ended DeploymentGCThreshold ago, keeping the latest of each job.
func TestDeploymentGC(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.DeploymentGCThreshold, cfg.DeploymentGCInterval = time.Millisecond, 20*time.Millisecond
	s := startServer(t, cfg)
	registerNode(t, s, testNode())
	var ids []string
	for v := range 2 {
		job := deploymentJob(2, 2, 0, false)
		job.TaskGroups[0].Tasks[0].Config["args"] = []any{fmt.Sprint(1000 + v)}
		registerJob(t, s, job)
		waitFor(t, 10*time.Second, fmt.Sprintf("version %d deployed", v), func() bool {
			reportHealth(t, s, "web", true)
			d := latestDeployment(s, "web")
			return d != nil && d.JobVersion == uint64(v) && d.Status == structs.DeploymentStatusSuccessful
		})
		ids = append(ids, latestDeployment(s, "web").ID)
	}
	waitFor(t, 10*time.Second, "the first deployment collected", func() bool {
		return s.state.Snapshot().DeploymentByID(ids[0]) == nil
	})
	if s.state.Snapshot().DeploymentByID(ids[1]) == nil {
		t.Fatal("the GC removed the job's latest deployment")
	}
}
