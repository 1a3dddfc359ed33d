package command

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/orch-io/orch/internal/structstest"
	"github.com/orch-io/orch/structs"
)

// deploymentJobFile writes a job file of a count 2 raw_exec sleep with an
// update block; sleepArg changes the version.
func deploymentJobFile(t *testing.T, sleepArg string, canary int) string {
	t.Helper()
	src := fmt.Sprintf(`job "web" {
  datacenters = ["dc1"]
  update {
    max_parallel      = 1
    canary            = %d
    min_healthy_time  = "300ms"
    healthy_deadline  = "1m"
    progress_deadline = "2m"
  }
  group "web" {
    count = 2
    task "server" {
      driver = "raw_exec"
      config {
        command = "/bin/sleep"
        args    = ["%s"]
      }
      resources {
        cpu    = 100
        memory = 64
      }
    }
  }
}
`, canary, sleepArg)
	path := filepath.Join(t.TempDir(), "web.hcl")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestJobRunFollowsTheDeployment: on a real agent running raw_exec tasks,
// `job run` follows the deployment to its success (health reported by the
// client after min_healthy_time); a version with a canary stops at the
// promotion, which `job promote` gives; `deployment status` says what it
// waited for, `deployment list` and `job deployments` list both.
func TestJobRunFollowsTheDeployment(t *testing.T) {
	a := startClientAgent(t)
	r := runCLI(t, "job", "run", "-address", a.addr, deploymentJobFile(t, "3600", 0))
	if r.code != 0 {
		t.Fatalf("job run: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	mustContain(t, "job run", r.stdout, "Monitoring deployment", "healthy=0", "healthy=2", `successful: Deployment completed successfully`)

	r = runCLI(t, "job", "run", "-address", a.addr, deploymentJobFile(t, "3601", 1))
	if r.code != 0 {
		t.Fatalf("job run of the canary version: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	mustContain(t, "job run", r.stdout, "waiting for promotion: 1/1 canaries healthy", "waits for promotion")

	r = runCLI(t, "deployment", "list", "-address", a.addr)
	if r.code != 0 || strings.Count(r.stdout, "web") != 2 {
		t.Fatalf("deployment list: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	latest := strings.Fields(strings.Split(r.stdout, "\n")[1])[0]
	r = runCLI(t, "deployment", "status", "-address", a.addr, latest)
	mustContain(t, "deployment status", r.stdout, "Status      = running", "requires manual promotion", "Promoted", "Canaries",
		fmt.Sprintf(`web: waiting for promotion: 1/1 canaries healthy (run "orch deployment promote %s"); progress deadline in`, latest))

	if r := runCLI(t, "job", "promote", "-address", a.addr, "web"); r.code != 0 {
		t.Fatalf("job promote: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = runCLI(t, "deployment", "status", "-monitor", "-address", a.addr, latest)
	if r.code != 0 {
		t.Fatalf("deployment status -monitor: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	mustContain(t, "monitor", r.stdout, "Deployment completed successfully")
	if r := runCLI(t, "job", "deployments", "-address", a.addr, "web"); r.code != 0 || strings.Count(r.stdout, "Deployment completed successfully") != 2 {
		t.Fatalf("job deployments: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := runCLI(t, "deployment", "fail", "-address", a.addr, latest); r.code == 0 || !strings.Contains(r.stderr, "can no longer change") {
		t.Errorf("failing an ended deployment: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// TestDeploymentStatusSaysWhyItIsBlocked: a canary the scheduler could not
// place is shown with the reason of the evaluation that tried.
func TestDeploymentStatusSaysWhyItIsBlocked(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	job := structstest.Job("web")
	job.TaskGroups[0].Count = 3
	job.TaskGroups[0].Update = structs.DefaultUpdateStrategy()
	d := structs.NewDeployment("3f2a1b2c-0000-4000-8000-000000000000", job, now)
	d.TaskGroups["web"].DesiredCanaries = 1
	d.CreateIndex = 10
	evals := []*structs.Evaluation{
		{ID: "e1", CreateIndex: 5, Status: structs.EvalStatusComplete,
			FailedTGAllocs: map[string]*structs.AllocMetric{"web": {NodesEvaluated: 1, DimensionExhausted: map[string]int{"cpu": 1}}}},
		{ID: "e2", CreateIndex: 11, Status: structs.EvalStatusComplete,
			FailedTGAllocs: map[string]*structs.AllocMetric{"web": {NodesEvaluated: 3, DimensionExhausted: map[string]int{"memory": 3}}}},
		{ID: "e3", CreateIndex: 12, Status: structs.EvalStatusBlocked},
	}
	got := formatDeployment(d, job, nil, placementFailures(d, evals), now, false)
	mustContain(t, "deployment status", got,
		"web: blocked: 1 canary cannot be placed: memory exhausted on 3 nodes; progress deadline in 10m0s")
}

// TestDeploymentAllocationHealthManual: with health_check = "manual" nothing
// is healthy until an operator says so: `deployment status` says who it
// waits for and how; `deployment allocation-health -healthy` (allocation
// prefixes) marks the allocations healthy and the deployment succeeds;
// without an allocation it is a usage error.
func TestDeploymentAllocationHealthManual(t *testing.T) {
	a := startClientAgent(t)
	path := deploymentJobFile(t, "3600", 0)
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	src = []byte(strings.Replace(string(src), `min_healthy_time  = "300ms"`, `min_healthy_time  = "300ms"
    health_check      = "manual"`, 1))
	if err := os.WriteFile(path, src, 0o644); err != nil {
		t.Fatal(err)
	}
	if r := runCLI(t, "job", "run", "-detach", "-address", a.addr, path); r.code != 0 {
		t.Fatalf("job run: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	var d *structs.Deployment
	var allocs []*structs.AllocListStub
	if !waitFor(t, "the deployment's 2 allocations running", func() bool {
		var err error
		d, _, err = a.API.Jobs().LatestDeployment("web", nil)
		if err != nil || d == nil {
			return false
		}
		allocs, _, err = a.API.Deployments().Allocations(d.ID, nil)
		running := 0
		for _, al := range allocs {
			if al.ClientStatus == structs.AllocClientStatusRunning {
				running++
			}
		}
		return err == nil && running == 2
	}) {
		return
	}
	short := d.ID[:8]
	r := runCLI(t, "deployment", "status", "-address", a.addr, short)
	mustContain(t, "deployment status", r.stdout, fmt.Sprintf(
		`web: waiting: 2 allocations must be set healthy by an operator (health_check "manual": run "orch deployment allocation-health -healthy ALLOC %s")`, short))

	if r := runCLI(t, "deployment", "allocation-health", "-address", a.addr, short); r.code != 2 {
		t.Errorf("allocation-health without an allocation: exit %d, want 2\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := runCLI(t, "deployment", "allocation-health", "-address", a.addr, "-healthy", "zzzz", short); r.code == 0 || !strings.Contains(r.stderr, `prefix "zzzz"`) {
		t.Errorf("allocation-health of an unknown allocation: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = runCLI(t, "deployment", "allocation-health", "-address", a.addr, "-healthy", allocs[0].ID[:8], "-healthy", allocs[1].ID, short)
	if r.code != 0 {
		t.Fatalf("allocation-health: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	mustContain(t, "allocation-health", r.stdout, "2 allocations marked healthy, 0 unhealthy")
	r = runCLI(t, "deployment", "status", "-monitor", "-address", a.addr, short)
	if r.code != 0 {
		t.Fatalf("deployment status -monitor: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	mustContain(t, "monitor", r.stdout, "Deployment completed successfully")
}
