package command

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/structs"
)

// A job with a group service on a dynamic port: the client registers an
// instance per allocation once it runs; the CLI and the API show them
// (filtered by tag, chosen by key); a blocking query wakes when they change;
// stopping the job removes them.
func TestServiceRegistryThroughTheCLI(t *testing.T) {
	a := startClientAgent(t)
	jobFile := filepath.Join(t.TempDir(), "api.hcl")
	src := `job "shop" {
  group "api" {
    count = 2
    network {
      port "http" {}
    }
    service {
      name = "${NOMAD_JOB_NAME}-api"
      port = "http"
      tags = ["v1"]
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
	if err := os.WriteFile(jobFile, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := runCLI(t, "job", "run", "-address", a.addr, "-detach", jobFile); r.code != 0 {
		t.Fatalf("job run: %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	var regs []*structs.ServiceRegistration
	var meta *api.QueryMeta
	waitFor(t, "two instances of shop-api", func() bool {
		var err error
		regs, meta, err = a.API.Services().Get("shop-api", nil, nil)
		return err == nil && len(regs) == 2
	})
	for _, r := range regs {
		if r.Port < structs.DefaultMinDynamicPort || r.Address == "" || r.JobID != "shop" || r.Namespace != "default" || r.Datacenter == "" {
			t.Errorf("instance %+v", r)
		}
	}

	r := runCLI(t, "service", "list", "-address", a.addr)
	mustContain(t, "service list", r.stdout, "shop-api", "default", "[v1]")
	r = runCLI(t, "service", "info", "-address", a.addr, "shop-api")
	mustContain(t, "service info", r.stdout, "shop", structs.ShortID(regs[0].AllocID))
	r = runCLI(t, "service", "info", "-verbose", "-address", a.addr, "shop-api")
	mustContain(t, "service info -verbose", r.stdout, regs[0].ID, regs[1].ID, "Modify Index")
	if r := runCLI(t, "service", "info", "-address", a.addr, "nope"); r.code == 0 {
		t.Errorf("service info of an unknown service succeeded: %s", r.stdout)
	}

	if got, _, err := a.API.Services().Get("shop-api", &api.ServiceGetOptions{Tag: "v2"}, nil); err != nil || len(got) != 0 {
		t.Errorf("tag v2: %v %v", got, err)
	}
	one, _, err := a.API.Services().Get("shop-api", &api.ServiceGetOptions{Choose: 1, ChooseKey: "client-7"}, nil)
	if err != nil || len(one) != 1 {
		t.Fatalf("choose 1: %v %v", one, err)
	}
	again, _, _ := a.API.Services().Get("shop-api", &api.ServiceGetOptions{Choose: 1, ChooseKey: "client-7"}, nil)
	if len(again) != 1 || again[0].ID != one[0].ID {
		t.Errorf("choose is not stable: %v then %v", one, again)
	}

	// A deleted instance is gone (its client re-registers it only when
	// its allocation changes).
	if r := runCLI(t, "service", "delete", "-address", a.addr, "shop-api", regs[0].ID); r.code != 0 {
		t.Fatalf("service delete: %s%s", r.stdout, r.stderr)
	}
	if r := runCLI(t, "service", "delete", "-address", a.addr, "other", regs[1].ID); r.code == 0 {
		t.Errorf("deleting an instance under another service's name succeeded")
	}

	// A blocking query from the last index wakes when the job stops and
	// its instances go.
	done := make(chan []*structs.ServiceRegistration, 1)
	go func() {
		for {
			got, m, err := a.API.Services().Get("shop-api", nil, &api.QueryOptions{WaitIndex: meta.LastIndex, WaitTime: 20 * time.Second})
			if err == nil {
				meta = m
			}
			if err != nil || len(got) == 0 {
				done <- got
				return
			}
		}
	}()
	if r := runCLI(t, "job", "stop", "-address", a.addr, "-detach", "shop"); r.code != 0 {
		t.Fatalf("job stop: %s%s", r.stdout, r.stderr)
	}
	select {
	case got := <-done:
		if len(got) != 0 {
			t.Fatalf("after stop: %v", got)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the blocking query did not see the instances go")
	}
}
