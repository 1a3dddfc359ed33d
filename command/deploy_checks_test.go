package command

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/orch-io/orch/structs"
)

// checkedJob is a job of one raw_exec task whose group service's http check
// asks the agent's API for path; version tells the versions apart (the
// task's argument and the service's tags); canary is the update block's.
func checkedJob(port, path, version string, canary int) string {
	return fmt.Sprintf(`job "gated" {
  update {
    max_parallel      = 1
    canary            = %d
    health_check      = "checks"
    min_healthy_time  = "1s"
    healthy_deadline  = "5s"
    progress_deadline = "30s"
  }
  group "g" {
    service {
      name        = "gated"
      port        = %s
      tags        = ["%s"]
      canary_tags = ["canary"]
      check {
        name     = "api"
        type     = "http"
        path     = "%s"
        interval = "1s"
        timeout  = "1s"
      }
    }
    task "server" {
      driver = "raw_exec"
      config {
        command = "/bin/sleep"
        args    = ["36%s"]
      }
    }
  }
}`, canary, port, version, path, version[1:])
}

// health_check = "checks" gates a deployment on the service's checks, and
// canary_tags tag a canary's instance until its promotion, on a real agent:
// v0 deploys once its check passes; v1's canary registers with the canary
// tags, and with its tags once promoted; v2's check fails while its task
// runs, so its canary is unhealthy at the healthy deadline and the
// deployment fails.
func TestDeploymentGatedOnChecksAndCanaryTags(t *testing.T) {
	a := startClientAgent(t)
	u, err := url.Parse(a.addr)
	if err != nil {
		t.Fatal(err)
	}
	run := func(path, version string, canary int) {
		t.Helper()
		file := filepath.Join(t.TempDir(), "gated.hcl")
		if err := os.WriteFile(file, []byte(checkedJob(u.Port(), path, version, canary)), 0o644); err != nil {
			t.Fatal(err)
		}
		if r := runCLI(t, "job", "run", "-address", a.addr, "-detach", file); r.code != 0 {
			t.Fatalf("job run %s: %s%s", version, r.stdout, r.stderr)
		}
	}
	latest := func(version uint64) *structs.Deployment {
		d, _, err := a.API.Jobs().LatestDeployment("gated", nil)
		if err != nil || d == nil || d.JobVersion != version {
			return nil
		}
		return d
	}
	waitStatus := func(version uint64, want structs.DeploymentStatus) *structs.Deployment {
		t.Helper()
		var d *structs.Deployment
		waitFor(t, fmt.Sprintf("version %d's deployment %s", version, want), func() bool {
			d = latest(version)
			return d != nil && d.Status == want
		})
		return d
	}
	tagsByAlloc := func() map[string][]string {
		regs, _, err := a.API.Services().Get("gated", nil, nil)
		if err != nil {
			return nil
		}
		out := map[string][]string{}
		for _, r := range regs {
			out[r.AllocID] = r.Tags
		}
		return out
	}

	run("/v1/agent/health", "v0", 0)
	d0 := waitStatus(0, structs.DeploymentStatusSuccessful)
	allocs, _, err := a.API.Deployments().Allocations(d0.ID, nil)
	if err != nil || len(allocs) != 1 {
		t.Fatalf("v0's allocations: %v, %v", allocs, err)
	}
	old := allocs[0].ID
	checks, err := a.API.Allocations().Checks(old)
	if err != nil || len(checks) != 1 {
		t.Fatalf("v0's checks: %+v, %v", checks, err)
	}
	for _, c := range checks {
		if c.Status != structs.CheckStatusPassing {
			t.Fatalf("v0's check: %+v", c)
		}
	}
	alloc, _, err := a.API.Allocations().Info(old, nil)
	if err != nil || !alloc.DeploymentStatus.IsHealthy() {
		t.Fatalf("v0's allocation: %+v, %v; want healthy", alloc, err)
	}

	run("/v1/agent/health", "v1", 1)
	var canary string
	waitFor(t, "v1's canary registered with the canary tags, v0's with its tags", func() bool {
		d := latest(1)
		if d == nil || len(d.TaskGroups["g"].PlacedCanaries) != 1 {
			return false
		}
		canary = d.TaskGroups["g"].PlacedCanaries[0]
		tags := tagsByAlloc()
		return slices.Equal(tags[canary], []string{"canary"}) && slices.Equal(tags[old], []string{"v0"})
	})
	d1 := waitStatus(1, structs.DeploymentStatusRunning)
	waitFor(t, "the canary healthy", func() bool {
		a, _, err := a.API.Allocations().Info(canary, nil)
		return err == nil && a.DeploymentStatus.IsHealthy()
	})
	if r := runCLI(t, "deployment", "promote", "-address", a.addr, d1.ID); r.code != 0 {
		t.Fatalf("deployment promote: %s%s", r.stdout, r.stderr)
	}
	waitFor(t, "the promoted canary registered with its tags", func() bool {
		return slices.Equal(tagsByAlloc()[canary], []string{"v1"})
	})
	waitStatus(1, structs.DeploymentStatusSuccessful)

	run("/v1/nope", "v2", 1)
	d2 := waitStatus(2, structs.DeploymentStatusFailed)
	bad := d2.TaskGroups["g"].PlacedCanaries
	if len(bad) != 1 {
		t.Fatalf("v2's canaries: %v", bad)
	}
	alloc, _, err = a.API.Allocations().Info(bad[0], nil)
	if err != nil || !alloc.DeploymentStatus.IsUnhealthy() || alloc.ClientStatus != structs.AllocClientStatusRunning {
		t.Fatalf("v2's canary: %+v, %v; want running and unhealthy (its check fails)", alloc, err)
	}
}
