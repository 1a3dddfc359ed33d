package command

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/orch-io/orch/internal/agenttest"
	"github.com/orch-io/orch/structs"
)

// redisLikeJob registers service %SERVICE% (tags global and cache) from
// a raw_exec task of job %JOB%.
const redisLikeJob = `job "%JOB%" {
  group "cache" {
    network {
      port "db" { to = -1 }
    }
    service {
      name     = "%SERVICE%"
      port     = "db"
      provider = "nomad"
      tags     = ["global", "cache"]
    }
    task "redis" {
      driver = "raw_exec"
      config {
        command = "/bin/sleep"
        args    = ["3600"]
      }
    }
  }
}`

// A template written for Nomad (jobspec/testdata/nomad/service-lookup.nomad.hcl,
// in the style of Nomad's own end-to-end test) renders as in Nomad: files
// named "${NOMAD_TASK_DIR}/...", Nomad's field names (.Name, .Datacenter,
// .AllocID, .Node), the node's names through env. When the registry
// changes, its change_mode "restart" template restarts the task at once
// (asked for, not a failure: no restart-policy delay).
func TestNomadStyleTemplateRendersAndRestarts(t *testing.T) {
	dir := t.TempDir()
	a, err := agenttest.New(dir, agenttest.Options{Client: true, NodeName: "node-1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := a.Stop(); err != nil {
			t.Errorf("stopping the agent: %v", err)
		}
	})
	runJob := func(path string) {
		t.Helper()
		if r := runCLI(t, "job", "run", "-address", a.URL, "-detach", path); r.code != 0 {
			t.Fatalf("job run %s: %s%s", path, r.stdout, r.stderr)
		}
	}
	jobFile := func(job, service string) string {
		path := filepath.Join(t.TempDir(), job+".hcl")
		src := strings.NewReplacer("%JOB%", job, "%SERVICE%", service).Replace(redisLikeJob)
		if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	runJob(jobFile("redis", "redis-cache"))
	var redisAlloc string
	waitFor(t, "redis-cache registered", func() bool {
		regs, _, err := a.API.Services().Get("redis-cache", nil, nil)
		if err != nil || len(regs) != 1 {
			return false
		}
		redisAlloc = regs[0].AllocID
		return true
	})
	runJob("../jobspec/testdata/nomad/service-lookup.nomad.hcl")

	var allocID string
	read := func(name string) string {
		b, _ := os.ReadFile(filepath.Join(dir, "client", "allocs", allocID, "test", "local", name))
		return string(b)
	}
	if !waitFor(t, "service-lookup's files rendered", func() bool {
		allocs, _, err := a.API.Jobs().Allocations("service-lookup", nil)
		if err != nil || len(allocs) != 1 {
			return false
		}
		allocID = allocs[0].ID
		// nomadServices: the union of the instances' tags, sorted.
		return strings.Contains(read("services.conf"), "service redis-cache [cache global]") &&
			strings.Contains(read("service.conf"), "service redis-cache [global cache] dc1 "+redisAlloc)
	}) {
		t.Fatalf("services.conf %q, service.conf %q", read("services.conf"), read("service.conf"))
	}
	if got := read("service.conf"); !strings.Contains(got, "node = node-1") {
		t.Errorf(`service.conf: {{ env "node.unique.name" }} rendered %q`, got)
	}

	// A second service: services.conf (change_mode "restart") changes.
	runJob(jobFile("webapp", "demo-webapp"))
	if !waitFor(t, "service-lookup restarted by its template", func() bool {
		alloc, _, err := a.API.Allocations().Info(allocID, nil)
		if err != nil {
			return false
		}
		ts := alloc.TaskStates["test"]
		return ts != nil && ts.Restarts >= 1 && ts.State == structs.TaskStateRunning
	}) {
		return
	}
	alloc, _, err := a.API.Allocations().Info(allocID, nil)
	if err != nil {
		t.Fatal(err)
	}
	var signaled, delayed []string
	for _, ev := range alloc.TaskStates["test"].Events {
		if ev.Type == structs.TaskRestartSignal {
			signaled = append(signaled, ev.DisplayMessage)
		}
		if ev.Type == structs.TaskRestarting && ev.DisplayMessage != "Task restarting in 0s" {
			delayed = append(delayed, ev.DisplayMessage)
		}
	}
	if len(signaled) == 0 || !strings.Contains(signaled[0], "Template with change_mode restart re-rendered") || len(delayed) > 0 {
		t.Errorf("restart events %q, delayed restarts %q; want the template's, at once", signaled, delayed)
	}
}

// An env = true template's variables reach the task's environment and, as
// in Nomad, its config's ${...} references; its dotenv quotes are read.
func TestEnvTemplateFeedsTheConfig(t *testing.T) {
	dir := t.TempDir()
	a, err := agenttest.New(dir, agenttest.Options{Client: true, NodeName: "node-1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := a.Stop(); err != nil {
			t.Errorf("stopping the agent: %v", err)
		}
	})
	path := filepath.Join(t.TempDir(), "envjob.hcl")
	src := `job "envjob" {
  group "g" {
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "printf '%s|%s' \"$1\" \"$GREETING\" > local/out; sleep 3600", "sh", "${GREETING}"]
      }
      template {
        data        = "GREETING = \"hello {{ env \"NOMAD_TASK_NAME\" }}\"\n"
        destination = "secrets/file.env"
        env         = true
      }
    }
  }
}`
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := runCLI(t, "job", "run", "-address", a.URL, "-detach", path); r.code != 0 {
		t.Fatalf("job run: %s%s", r.stdout, r.stderr)
	}
	var out string
	if !waitFor(t, "the task's output", func() bool {
		allocs, _, err := a.API.Jobs().Allocations("envjob", nil)
		if err != nil || len(allocs) != 1 {
			return false
		}
		b, _ := os.ReadFile(filepath.Join(dir, "client", "allocs", allocs[0].ID, "t", "local", "out"))
		out = string(b)
		return out != ""
	}) {
		return
	}
	if out != "hello t|hello t" {
		t.Errorf("config argument | environment = %q, want %q", out, "hello t|hello t")
	}
}
