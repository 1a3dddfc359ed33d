package command

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/internal/agenttest"
	"github.com/orch-io/orch/structs"
)

const templateAPIJob = `job "api" {
  group "api" {
    count = %d
    network {
      port "http" {}
    }
    service {
      name = "api"
      port = "http"
    }
    task "server" {
      driver = "raw_exec"
      config {
        command = "/bin/sleep"
        args    = ["3600"]
      }
    }
  }
}`

const templateWebJob = `job "web" {
  group "web" {
    task "web" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "echo \"$API_COUNT\" > local/count; trap 'echo hup >> local/hups' HUP; while :; do sleep 0.1; done"]
      }
      template {
        data          = "{{ range nomadService \"api\" }}{{ .Address }}:{{ .Port }}\n{{ end }}"
        destination   = "local/upstreams.txt"
        change_mode   = "signal"
        change_signal = "SIGHUP"
        splay         = "0s"
      }
      template {
        data        = "API_COUNT={{ len (nomadService \"api\") }}"
        destination = "local/api.env"
        env         = true
        change_mode = "noop"
      }
    }
  }
}`

// Two services find each other through a template: web's file lists api's
// instances, its environment counts them at start, and when api scales the
// file is rendered again and web is signalled (change_mode "signal").
// Prints the latency from the registry holding the new instance to the
// file holding it.
func TestTemplateFollowsTheRegistry(t *testing.T) {
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
	run := func(name, src string) {
		t.Helper()
		path := filepath.Join(t.TempDir(), name+".hcl")
		if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		if r := runCLI(t, "job", "run", "-address", a.URL, "-detach", path); r.code != 0 {
			t.Fatalf("job run %s: %s%s", name, r.stdout, r.stderr)
		}
	}
	instances := func() int {
		regs, _, err := a.API.Services().Get("api", nil, nil)
		if err != nil {
			return -1
		}
		return len(regs)
	}

	run("api", fmt.Sprintf(templateAPIJob, 2))
	waitFor(t, "two api instances", func() bool { return instances() == 2 })
	run("web", templateWebJob)
	var webDir, webAlloc string
	waitFor(t, "web running", func() bool {
		allocs, _, err := a.API.Jobs().Allocations("web", nil)
		if err != nil || len(allocs) == 0 {
			return false
		}
		webAlloc = allocs[0].ID
		webDir = filepath.Join(dir, "client", "allocs", allocs[0].ID, "web", "local")
		b, err := os.ReadFile(filepath.Join(webDir, "count"))
		return err == nil && len(b) > 0
	})
	lines := func() int {
		b, err := os.ReadFile(filepath.Join(webDir, "upstreams.txt"))
		if err != nil {
			return -1
		}
		return strings.Count(string(b), "\n")
	}
	if n := lines(); n != 2 {
		t.Fatalf("upstreams.txt has %d lines, want 2", n)
	}
	if b, _ := os.ReadFile(filepath.Join(webDir, "count")); strings.TrimSpace(string(b)) != "2" {
		t.Fatalf("API_COUNT from the env template = %q, want 2", b)
	}

	// The moment the registry holds the third instance, seen by a blocking
	// query, and the moment the file holds it, polled every millisecond.
	_, meta, err := a.API.Services().Get("api", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	registeredAt := make(chan time.Time, 1)
	go func() {
		index := meta.LastIndex
		for {
			regs, m, err := a.API.Services().Get("api", nil, &api.QueryOptions{WaitIndex: index, WaitTime: 30 * time.Second})
			if err != nil {
				registeredAt <- time.Time{}
				return
			}
			if len(regs) == 3 {
				registeredAt <- time.Now()
				return
			}
			index = m.LastIndex
		}
	}()
	run("api", fmt.Sprintf(templateAPIJob, 3))
	deadline := time.Now().Add(30 * time.Second)
	for lines() != 3 {
		if time.Now().After(deadline) {
			t.Fatal("upstreams.txt was not re-rendered with the third instance")
		}
		time.Sleep(time.Millisecond) // the measuring poll
	}
	renderedAt := time.Now()
	if at := <-registeredAt; !at.IsZero() {
		fmt.Printf("FIGURE name=template_rerender_latency value=%.1f unit=ms\n", float64(renderedAt.Sub(at).Microseconds())/1000)
	}
	waitFor(t, "web signalled", func() bool {
		b, err := os.ReadFile(filepath.Join(webDir, "hups"))
		return err == nil && strings.Contains(string(b), "hup")
	})
	// The task's events say why, as Nomad's do.
	waitFor(t, `a "Signaling: Template re-rendered" task event`, func() bool {
		alloc, _, err := a.API.Allocations().Info(webAlloc, nil)
		if err != nil || alloc.TaskStates["web"] == nil {
			return false
		}
		for _, ev := range alloc.TaskStates["web"].Events {
			if ev.Type == structs.TaskSignaling && ev.DisplayMessage == "Template re-rendered" {
				return true
			}
		}
		return false
	})
}
