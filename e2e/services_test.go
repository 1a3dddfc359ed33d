package e2e

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/orch-io/orch/structs"
)

// python3 returns the real interpreter (not a version manager's shim, whose
// start is slow and depends on the caller's environment), or skips.
func python3(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 not installed: the HTTP servers of these tests are python's")
	}
	out, err := exec.Command("python3", "-c", "import sys; print(sys.executable)").Output()
	if err != nil {
		t.Skipf("python3: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// cat reads a file of an allocation through the HTTP API ("" when it
// cannot).
func (a *agentProc) cat(allocID, path string) string {
	resp, err := http.Get(a.addr() + "/v1/client/fs/cat/" + allocID + "?path=" + url.QueryEscape(path))
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return ""
	}
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// running returns the job's running allocations.
func (a *agentProc) running(t *testing.T, job string) []*structs.AllocListStub {
	t.Helper()
	return runningAllocs(jobAllocs(t, a, job))
}

// apiJob is count python HTTP servers registered as service "api", each
// with an http check.
func apiJob(python string, count int) string {
	return fmt.Sprintf(`job "api" {
  datacenters = ["dc1"]
  group "api" {
    count = %d
    network {
      port "http" {}
    }
    service {
      name = "api"
      port = "http"
      check {
        type     = "http"
        path     = "/"
        interval = "1s"
        timeout  = "1s"
      }
    }
    task "server" {
      driver = "raw_exec"
      config {
        command = %q
        args    = ["-m", "http.server", "${NOMAD_PORT_http}", "--bind", "127.0.0.1"]
      }
      resources {
        cpu    = 20
        memory = 30
      }
    }
  }
}
`, count, python)
}

// webJob renders api's addresses twice: local/api.txt signals the task
// (SIGHUP, which it counts in local/hups) and local/api.env runs a
// change_script (which counts in local/reloads), both without splay.
const webJob = `job "web" {
  datacenters = ["dc1"]
  group "web" {
    task "server" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "trap 'echo hup >> local/hups' HUP; while :; do sleep 1 & wait; done"]
      }
      template {
        data          = <<EOT
{{ range nomadService "api" }}{{ .Address }}:{{ .Port }}
{{ end }}
EOT
        destination   = "local/api.txt"
        change_mode   = "signal"
        change_signal = "SIGHUP"
        splay         = "0s"
      }
      template {
        data        = "API_COUNT={{ len (nomadService \"api\") }}\n"
        destination = "local/api.env"
        change_mode = "script"
        splay       = "0s"
        change_script {
          command = "/bin/sh"
          args    = ["-c", "echo \"reloaded $(cat local/api.env)\" >> local/reloads"]
          fail_on_error = true
        }
      }
      resources {
        cpu    = 20
        memory = 10
      }
    }
  }
}
`

// lines returns the non-empty lines of s.
func lines(s string) []string {
	return slices.DeleteFunc(strings.Split(s, "\n"), func(l string) bool { return strings.TrimSpace(l) == "" })
}

// TestServicesFindEachOtherThroughTemplates: web's templates render the
// addresses of api's two instances (registered once their tasks run, each
// answering its http check); scaling api to 3 re-renders web's files, and
// their change modes apply: web is signalled (SIGHUP) and its change_script
// runs in its environment. It prints the latency from the registry showing
// the new instance to web's file showing it.
func TestServicesFindEachOtherThroughTemplates(t *testing.T) {
	python := python3(t)
	a := startDevAgent(t, t.TempDir(), freePorts(t))
	if out, errOut, code := a.orch("job", "run", "-detach", writeJob(t, "api", apiJob(python, 2))); code != 0 {
		t.Fatalf("job run api: exit %d\n%s%s", code, out, errOut)
	}
	instances := func() []*structs.ServiceRegistration {
		var regs []*structs.ServiceRegistration
		if err := a.get("/v1/service/api", &regs); err != nil {
			return nil
		}
		return regs
	}
	a.waitFor("api's 2 instances registered", 30*time.Second, func() (bool, error) { return len(instances()) == 2, nil })
	if out, errOut, code := a.orch("job", "run", "-detach", writeJob(t, "web", webJob)); code != 0 {
		t.Fatalf("job run web: exit %d\n%s%s", code, out, errOut)
	}
	var web string
	a.waitFor("web running with api's 2 addresses", 30*time.Second, func() (bool, error) {
		if r := a.running(t, "web"); len(r) == 1 {
			web = r[0].ID
		}
		return web != "" && len(lines(a.cat(web, "server/local/api.txt"))) == 2, nil
	})
	var want []string
	for _, r := range instances() {
		want = append(want, fmt.Sprintf("%s:%d", r.Address, r.Port))
	}
	got := lines(a.cat(web, "server/local/api.txt"))
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("web's api.txt %v, want the registry's %v", got, want)
	}
	if env := a.cat(web, "server/local/api.env"); env != "API_COUNT=2\n" {
		t.Fatalf("web's api.env %q", env)
	}
	// The checks of api pass once python answers /.
	for _, al := range a.running(t, "api") {
		a.waitFor("api's check passing in alloc checks", 30*time.Second, func() (bool, error) {
			out, errOut, code := a.orch("alloc", "checks", al.ID)
			return code == 0 && strings.Contains(out, "passing") && strings.Contains(out, "200"), fmt.Errorf("exit %d: %s%s", code, out, errOut)
		})
	}

	if out, errOut, code := a.orch("job", "scale", "api", "3"); code != 0 {
		t.Fatalf("job scale api 3: exit %d\n%s%s", code, out, errOut)
	}
	var registered, rendered time.Time
	deadline := time.Now().Add(30 * time.Second)
	for rendered.IsZero() && time.Now().Before(deadline) {
		if registered.IsZero() && len(instances()) == 3 {
			registered = time.Now()
		}
		if len(lines(a.cat(web, "server/local/api.txt"))) == 3 {
			rendered = time.Now()
			if registered.IsZero() {
				registered = rendered
			}
		}
		time.Sleep(10 * time.Millisecond) // poll interval of the measure
	}
	if rendered.IsZero() {
		t.Fatalf("web's api.txt not re-rendered with 3 addresses: %q", a.cat(web, "server/local/api.txt"))
	}
	fmt.Printf("FIGURE name=template_rerender_after_service_change value=%d unit=ms (registry shows the instance → dependent file rendered; 10 ms polls)\n",
		rendered.Sub(registered).Milliseconds())
	a.waitFor("web signalled and its change_script run", 20*time.Second, func() (bool, error) {
		hups, reloads := a.cat(web, "server/local/hups"), a.cat(web, "server/local/reloads")
		return strings.Contains(hups, "hup") && strings.Contains(reloads, "reloaded API_COUNT=3"),
			fmt.Errorf("hups %q, reloads %q, api.env %q", hups, reloads, a.cat(web, "server/local/api.env"))
	})
	// Signalled, not restarted: the same run of web goes on.
	var alloc structs.Allocation
	if err := a.get("/v1/allocation/"+web, &alloc); err != nil {
		t.Fatal(err)
	}
	if ts := alloc.TaskStates["server"]; ts == nil || ts.State != structs.TaskStateRunning || ts.Restarts != 0 {
		t.Fatalf("web's task state %+v, want running, never restarted", ts)
	}
}

// checkedJob is a python HTTP server serving its task directory, with an
// http check of /health and a canary update with auto_revert; version 0
// writes the health file, a bad version does not, so its check fails
// while its task runs.
func checkedJob(python string, writeHealth bool) string {
	prep := "true"
	if writeHealth {
		prep = "echo ok > health"
	}
	return fmt.Sprintf(`job "checked" {
  datacenters = ["dc1"]
  update {
    max_parallel      = 1
    canary            = 1
    auto_revert       = true
    health_check      = "checks"
    min_healthy_time  = "1s"
    healthy_deadline  = "8s"
    progress_deadline = "1m"
  }
  group "web" {
    count = 2
    network {
      port "http" {}
    }
    service {
      name = "checked"
      port = "http"
      check {
        type     = "http"
        path     = "/health"
        interval = "1s"
        timeout  = "1s"
      }
    }
    task "server" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "%s; exec %s -m http.server $NOMAD_PORT_http --bind 127.0.0.1"]
      }
      resources {
        cpu    = 20
        memory = 30
      }
    }
  }
}
`, prep, python)
}

// TestCanaryWithFailingCheckAutoReverts: a new version whose task runs but
// whose http check fails makes its canary unhealthy at the healthy
// deadline (health_check "checks"); the deployment fails and, with
// auto_revert, the job runs the previous version again.
func TestCanaryWithFailingCheckAutoReverts(t *testing.T) {
	python := python3(t)
	a := startDevAgent(t, t.TempDir(), freePorts(t))
	out, errOut, code := a.orch("job", "run", writeJob(t, "checked", checkedJob(python, true)))
	if code != 0 {
		t.Fatalf("good version: exit %d\n%s%s", code, out, errOut)
	}
	mustContain(t, "job run", out, "Deployment completed successfully")
	out, _, code = a.orch("job", "run", writeJob(t, "checked", checkedJob(python, false)))
	if code != 1 {
		t.Fatalf("version with a failing check: exit %d, want 1\n%s", code, out)
	}
	mustContain(t, "job run", out, "Failed due to unhealthy allocations - rolling back to job version 0")
	var canary *structs.AllocListStub
	for _, al := range jobAllocs(t, a, "checked") {
		if al.JobVersion == 1 {
			canary = al
		}
	}
	if canary == nil || !canary.DeploymentStatus.IsUnhealthy() || !canary.DeploymentStatus.IsCanary() {
		t.Fatalf("version 1's canary %+v, want an unhealthy canary", canary)
	}
	a.waitFor("the job back on the good version, 2 running and healthy-checked", 60*time.Second, func() (bool, error) {
		var job structs.Job
		if err := a.get("/v1/job/checked", &job); err != nil {
			return false, err
		}
		running := 0
		for _, al := range a.running(t, "checked") {
			if al.DesiredStatus == structs.AllocDesiredStatusRun && al.JobVersion == job.Version {
				running++
			}
		}
		return job.Version == 2 && strings.Contains(fmt.Sprint(job.TaskGroups[0].Tasks[0].Config["args"]), "echo ok > health") && running == 2, nil
	})
}

// TestExampleJobsWithServices: the Nomad-style job files of examples/ that
// use services, checks and templates validate and run: api deploys once its
// checks pass, frontend renders api's two instances, checked's http, tcp and
// script checks all pass.
func TestExampleJobsWithServices(t *testing.T) {
	python3(t)
	a := startDevAgent(t, t.TempDir(), freePorts(t))
	for _, f := range []string{"examples/api.hcl", "examples/frontend.hcl", "examples/checked.hcl"} {
		if out, errOut, code := a.orch("job", "validate", f); code != 0 {
			t.Fatalf("job validate %s: exit %d\n%s%s", f, code, out, errOut)
		}
		if out, errOut, code := a.orch("job", "run", f); code != 0 {
			t.Fatalf("job run %s: exit %d\n%s%s", f, code, out, errOut)
		}
	}
	var frontend string
	a.waitFor("frontend rendering api's 2 instances", 30*time.Second, func() (bool, error) {
		if r := a.running(t, "frontend"); len(r) == 1 {
			frontend = r[0].ID
		}
		up := lines(a.cat(frontend, "server/local/upstreams.txt"))
		return len(up) == 2 && strings.HasSuffix(up[0], " v1") && strings.HasSuffix(up[1], " v1"), fmt.Errorf("upstreams %q", up)
	})
	checked := a.running(t, "checked")
	if len(checked) != 1 {
		t.Fatalf("checked: %d running", len(checked))
	}
	a.waitFor("checked's three checks passing", 30*time.Second, func() (bool, error) {
		out, _, code := a.orch("alloc", "checks", checked[0].ID)
		return code == 0 && strings.Count(out, "passing") == 3, fmt.Errorf("%s", out)
	})
}
