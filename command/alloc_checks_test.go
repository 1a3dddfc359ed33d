package command

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/orch-io/orch/structs"
)

// The client runs a service's http checks against a real HTTP server (the
// agent's own API): `alloc checks` and `alloc status` show their results,
// and a check that keeps failing restarts the task through check_restart.
func TestAllocChecksThroughTheCLI(t *testing.T) {
	a := startClientAgent(t)
	u, err := url.Parse(a.addr)
	if err != nil {
		t.Fatal(err)
	}
	src := fmt.Sprintf(`job "checked" {
  group "g" {
    restart {
      attempts = 10
      delay    = "0s"
      mode     = "delay"
    }
    service {
      name = "agent-api"
      port = %s
      check {
        name     = "health"
        type     = "http"
        path     = "/v1/agent/health"
        interval = "1s"
        timeout  = "1s"
      }
      check {
        name      = "broken"
        type      = "http"
        path      = "/v1/nope"
        interval  = "1s"
        timeout   = "1s"
        on_update = "ignore"
        task      = "server"
        check_restart {
          limit = 2
        }
      }
    }
    task "server" {
      driver = "raw_exec"
      config {
        command = "/bin/sleep"
        args    = ["3600"]
      }
    }
  }
}`, u.Port())
	jobFile := filepath.Join(t.TempDir(), "checked.hcl")
	if err := os.WriteFile(jobFile, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := runCLI(t, "job", "run", "-address", a.addr, "-detach", jobFile); r.code != 0 {
		t.Fatalf("job run: %s%s", r.stdout, r.stderr)
	}
	var allocID string
	waitFor(t, "the allocation", func() bool {
		allocs, _, err := a.API.Jobs().Allocations("checked", nil)
		if err != nil || len(allocs) == 0 {
			return false
		}
		allocID = allocs[0].ID
		return true
	})
	waitFor(t, "health passing and broken critical", func() bool {
		res, err := a.API.Allocations().Checks(allocID)
		if err != nil {
			return false
		}
		byName := map[string]*structs.CheckQueryResult{}
		for _, r := range res {
			byName[r.Check] = r
		}
		h, b := byName["health"], byName["broken"]
		return h != nil && b != nil && h.Status == structs.CheckStatusPassing && h.StatusCode == 200 &&
			b.Status == structs.CheckStatusCritical && b.StatusCode == 404
	})
	r := runCLI(t, "alloc", "checks", "-address", a.addr, allocID)
	mustContain(t, "alloc checks", r.stdout, "agent-api", "health", "passing", "broken", "critical", "404", "readiness", "healthiness")

	waitFor(t, "the task restarted by check_restart", func() bool {
		alloc, _, err := a.API.Allocations().Info(allocID, nil)
		if err != nil {
			return false
		}
		ts := alloc.TaskStates["server"]
		if ts == nil {
			return false
		}
		for _, ev := range ts.Events {
			if ev.Type == "Restart Signaled" && strings.Contains(ev.DisplayMessage, `check "broken"`) {
				return ts.Restarts > 0
			}
		}
		return false
	})
	r = runCLI(t, "alloc", "status", "-address", a.addr, allocID)
	mustContain(t, "alloc status", r.stdout, "Checks", "health", "Restart Signaled")
}
