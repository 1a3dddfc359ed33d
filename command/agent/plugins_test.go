package agent

import (
	"strings"
	"testing"
	"time"

	"github.com/orch-io/orch/client/driver/docker"
)

func TestPluginBlocks(t *testing.T) {
	c := DefaultConfig()
	if c.Plugins.Mock {
		t.Fatal("the mock driver is enabled by default")
	}
	if !DevConfig().Plugins.Mock {
		t.Error("-dev does not enable the mock driver")
	}
	if c.Plugins.RawExec || !DevConfig().Plugins.RawExec {
		t.Errorf("raw_exec enabled: %v by default (want false), %v in -dev (want true)", c.Plugins.RawExec, DevConfig().Plugins.RawExec)
	}
	bare := DefaultConfig()
	if err := bare.ApplyFile(writeConfig(t, "bare.hcl", `plugin "raw_exec" {}`)); err != nil || bare.Plugins.RawExec {
		t.Errorf(`plugin "raw_exec" {} enabled it (%v), as Nomad does not`, err)
	}
	path := writeConfig(t, "agent.hcl", `
plugin "raw_exec" {
  config { enabled = true }
}
plugin "mock" {
  config {}
}
plugin "docker" {
  config {
    endpoint = "unix:///run/docker.sock"
    volumes { enabled = true }
    gc {
      dangling_containers {
        period = "1m"
        creation_grace = "30s"
      }
    }
  }
}
`)
	if err := c.ApplyFile(path); err != nil {
		t.Fatal(err)
	}
	if !c.Plugins.Mock {
		t.Error(`plugin "mock" did not enable the mock driver`)
	}
	if !c.Plugins.RawExec {
		t.Error(`raw_exec's enabled = true did not enable it`)
	}
	want := docker.PluginConfig{Endpoint: "unix:///run/docker.sock", VolumesEnabled: true,
		Dangling: docker.DanglingConfig{Enabled: true, Period: time.Minute, CreationGrace: 30 * time.Second}}
	if c.Plugins.Docker != want {
		t.Errorf("docker plugin config = %+v, want %+v", c.Plugins.Docker, want)
	}
	names := map[string]bool{}
	ds, err := buildDrivers(c.Plugins, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		names[d.Name()] = true
	}
	if len(names) != 2 || !names["mock"] || !names["docker"] {
		t.Errorf("drivers %v, want docker and mock (the client adds raw_exec)", names)
	}
}

func TestPluginBlockErrors(t *testing.T) {
	path := writeConfig(t, "agent.hcl", `
plugin "podman" {}
plugin "mock" {
  config {
    run_for = "1s"
  }
}
plugin "mock" {}
plugin "docker" {
  config {
    gc {
      dangling_containers { period = "often" }
    }
  }
}
`)
	c := DefaultConfig()
	err := c.ApplyFile(path)
	if err == nil {
		t.Fatal("want an error")
	}
	for _, want := range []string{
		path + `:2:1: plugin "podman": unknown plugin; known plugins: raw_exec, exec, mock, docker`,
		path + `:5:5: Unsupported argument; An argument named "run_for" is not expected here.`,
		path + `:8:1: plugin "mock": duplicate block; first defined at ` + path + `:3:1`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error\n%v\ndoes not contain\n%s", err, want)
		}
	}
	if c.Plugins.Mock {
		t.Error("a file with errors changed the config")
	}
}

func TestPluginExecBlock(t *testing.T) {
	c := DefaultConfig()
	err := c.ApplyFile(writeConfig(t, "exec.hcl", `
plugin "exec" {
  config {
    chroot_env = { "/bin" = "/bin", "/opt/tools" = "/tools" }
    cgroup_parent = "jobs"
    pids_limit = 512
  }
}`))
	if err != nil {
		t.Fatal(err)
	}
	e := c.Plugins.Exec
	if e.ChrootEnv["/opt/tools"] != "/tools" || len(e.ChrootEnv) != 2 || e.CgroupParent != "jobs" || e.PidsLimit != 512 {
		t.Errorf("exec plugin config = %+v", e)
	}
	bad := DefaultConfig()
	err = bad.ApplyFile(writeConfig(t, "bad.hcl", `
plugin "exec" {
  config {
    chroot_env = { "bin" = "/bin" }
  }
}`))
	if err == nil || !strings.Contains(err.Error(), `chroot_env: "bin" = "/bin": both paths must be absolute`) || !strings.Contains(err.Error(), "bad.hcl:2:1") {
		t.Errorf("relative chroot_env: %v, want an error naming it and its block", err)
	}
}
