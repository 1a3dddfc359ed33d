package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/orch-io/orch/structs"
)

// deploymentJobHCL is a service job of count raw_exec tasks running script,
// with the given update block body.
func deploymentJobHCL(t testing.TB, count int, update, script string) string {
	t.Helper()
	src := fmt.Sprintf(`job "web" {
  datacenters = ["dc1"]
  update {
%s
  }
  group "web" {
    count = %d
    restart {
      attempts = 0
      mode     = "fail"
    }
    task "server" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", %q]
      }
      resources {
        cpu    = 20
        memory = 10
      }
    }
  }
}
`, update, count, script)
	path := filepath.Join(t.TempDir(), "web.hcl")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// jobAllocs returns the job's allocations through the HTTP API.
func jobAllocs(t testing.TB, a *agentProc, job string) []*structs.AllocListStub {
	t.Helper()
	var allocs []*structs.AllocListStub
	if err := a.get("/v1/job/"+job+"/allocations", &allocs); err != nil {
		t.Fatal(err)
	}
	return allocs
}

// TestDeploymentRollingUpdate: on a real agent with raw_exec tasks, a
// rolling update of count 5, max_parallel 2 with a real min_healthy_time is
// followed by `orch job run` to its success, every allocation ends on the new
// version, and the version is stable.
func TestDeploymentRollingUpdate(t *testing.T) {
	a := startDevAgent(t, t.TempDir(), freePorts(t))
	update := `    max_parallel = 2
    min_healthy_time = "1s"
    healthy_deadline = "1m"
    progress_deadline = "2m"`
	for v, script := range []string{"exec sleep 3600", "exec sleep 3601"} {
		out, errOut, code := a.orch("job", "run", deploymentJobHCL(t, 5, update, script))
		if code != 0 {
			t.Fatalf("job run of version %d: exit %d\n%s%s", v, code, out, errOut)
		}
		mustContain(t, "job run", out, "Deployment completed successfully")
	}
	running := 0
	for _, al := range jobAllocs(t, a, "web") {
		if al.ClientStatus == structs.AllocClientStatusRunning && al.DesiredStatus == structs.AllocDesiredStatusRun {
			running++
			if al.JobVersion != 1 || !al.DeploymentStatus.IsHealthy() {
				t.Errorf("allocation %s runs version %d, health %+v", al.ID, al.JobVersion, al.DeploymentStatus)
			}
		}
	}
	if running != 5 {
		t.Fatalf("%d allocations running, want 5", running)
	}
	var job structs.Job
	if err := a.get("/v1/job/web", &job); err != nil || !job.Stable {
		t.Fatalf("job: stable=%v, err %v; want version 1 stable", job.Stable, err)
	}
}

// TestDeploymentBadCanaryAutoReverts: a version whose task exits 1, with a
// canary and auto_revert, ends failed (`job run` exits 1 and says why) and
// the job runs the previous version again.
func TestDeploymentBadCanaryAutoReverts(t *testing.T) {
	a := startDevAgent(t, t.TempDir(), freePorts(t))
	update := `    max_parallel = 1
    canary = 1
    auto_revert = true
    min_healthy_time = "1s"
    healthy_deadline = "1m"
    progress_deadline = "2m"`
	if out, errOut, code := a.orch("job", "run", deploymentJobHCL(t, 3, update, "exec sleep 3600")); code != 0 {
		t.Fatalf("good version: exit %d\n%s%s", code, out, errOut)
	}
	out, _, code := a.orch("job", "run", deploymentJobHCL(t, 3, update, "exit 1"))
	if code != 1 {
		t.Fatalf("bad version: exit %d, want 1\n%s", code, out)
	}
	mustContain(t, "job run", out, "Failed due to unhealthy allocations - rolling back to job version 0")
	a.waitFor("the job back on the good version, 3 running", 30*time.Second, func() (bool, error) {
		var job structs.Job
		if err := a.get("/v1/job/web", &job); err != nil {
			return false, err
		}
		running := 0
		for _, al := range jobAllocs(t, a, "web") {
			if al.ClientStatus == structs.AllocClientStatusRunning && al.DesiredStatus == structs.AllocDesiredStatusRun && al.JobVersion == job.Version {
				running++
			}
		}
		return job.Version == 2 && strings.Contains(fmt.Sprint(job.TaskGroups[0].Tasks[0].Config["args"]), "sleep 3600") && running == 3, nil
	})
}

// TestDeploymentFigures measures, on a real agent, the figures of issue 8:
// a rolling update of count 100 (max_parallel 10, min_healthy_time 1s) and a
// canary (count 3, canary 1, auto_promote, min_healthy_time 2s), from `job
// run` to the deployment's success. Only with ORCH_FIGURES=1 (it runs 100
// processes).
func TestDeploymentFigures(t *testing.T) {
	if os.Getenv("ORCH_FIGURES") == "" {
		t.Skip("set ORCH_FIGURES=1 to measure the deployment figures")
	}
	a := startDevAgent(t, t.TempDir(), freePorts(t))
	measure := func(name string, count int, update string) {
		for v, script := range []string{"exec sleep 3600", "exec sleep 3601"} {
			start := time.Now()
			if out, errOut, code := a.orch("job", "run", deploymentJobHCL(t, count, update, script)); code != 0 {
				t.Fatalf("%s version %d: exit %d\n%s%s", name, v, code, out, errOut)
			}
			if v == 1 {
				fmt.Printf("FIGURE name=%s value=%.2f unit=s\n", name, time.Since(start).Seconds())
			}
		}
		if _, _, code := a.orch("job", "stop", "-purge", "web"); code != 0 {
			t.Fatalf("stopping %s", name)
		}
	}
	measure("deployment_rolling_count100_maxparallel10", 100, `    max_parallel = 10
    min_healthy_time = "1s"
    healthy_deadline = "1m"
    progress_deadline = "2m"`)
	canary := func(maxParallel int) string {
		return fmt.Sprintf(`    max_parallel = %d
    canary = 1
    auto_promote = true
    min_healthy_time = "2s"
    healthy_deadline = "1m"
    progress_deadline = "2m"`, maxParallel)
	}
	measure("deployment_canary1_count3_autopromote", 3, canary(1))
	// The same with max_parallel 2: after the canary, the other two roll
	// together (three 2s health waits in a row become two).
	measure("deployment_canary1_count3_autopromote_maxparallel2", 3, canary(2))
}
