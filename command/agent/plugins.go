package agent

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"

	"github.com/orch-io/orch/client/driver"
	"github.com/orch-io/orch/client/driver/docker"
	execdriver "github.com/orch-io/orch/client/driver/exec"
	"github.com/orch-io/orch/client/driver/mock"
	"github.com/orch-io/orch/client/driver/rawexec"
	"github.com/orch-io/orch/client/supervisor"
)

// PluginsConfig configures the task drivers, from Nomad's
// `plugin "NAME" { config { ... } }` blocks.
type PluginsConfig struct {
	// Mock enables the mock driver: by a `plugin "mock"` block, and always in
	// -dev.
	Mock bool
	// RawExec enables the raw_exec driver, which runs tasks as the agent's
	// user without isolation: off unless -dev or
	// `plugin "raw_exec" { config { enabled = true } }`, as in Nomad.
	RawExec bool
	// Exec configures the exec driver, which is always on (it reports
	// itself undetected unless the agent runs as root, unhealthy without
	// cgroups).
	Exec execdriver.PluginConfig
	// Docker configures the docker driver, which is always on (it reports
	// itself undetected where no Docker engine answers).
	Docker docker.PluginConfig
}

// fileDocker is the config block of `plugin "docker"`.
type fileDocker struct {
	Endpoint *string `hcl:"endpoint,optional"`
	Volumes  *struct {
		Enabled *bool `hcl:"enabled,optional"`
	} `hcl:"volumes,block"`
	GC *struct {
		Dangling *struct {
			Enabled       *bool          `hcl:"enabled,optional"`
			Period        hcl.Expression `hcl:"period,optional"`
			CreationGrace hcl.Expression `hcl:"creation_grace,optional"`
		} `hcl:"dangling_containers,block"`
	} `hcl:"gc,block"`
}

// applyDocker sets in c what a docker config block sets.
func applyDocker(c *docker.PluginConfig, body hcl.Body) (hcl.Diagnostics, error) {
	var fd fileDocker
	if diags := gohcl.DecodeBody(body, nil, &fd); diags.HasErrors() {
		return diags, nil
	}
	if fd.Endpoint != nil {
		c.Endpoint = *fd.Endpoint
	}
	if v := fd.Volumes; v != nil && v.Enabled != nil {
		c.VolumesEnabled = *v.Enabled
	}
	if g := fd.GC; g != nil && g.Dangling != nil {
		dc := g.Dangling
		if dc.Enabled != nil {
			c.Dangling.Enabled = *dc.Enabled
		}
		return nil, errors.Join(
			decodeDuration(dc.Period, `plugin "docker": gc.dangling_containers.period`, &c.Dangling.Period),
			decodeDuration(dc.CreationGrace, `plugin "docker": gc.dangling_containers.creation_grace`, &c.Dangling.CreationGrace),
		)
	}
	return nil, nil
}

// fileExec is the config block of `plugin "exec"`.
type fileExec struct {
	ChrootEnv    *map[string]string `hcl:"chroot_env,optional"`
	CgroupParent *string            `hcl:"cgroup_parent,optional"`
	PidsLimit    *int               `hcl:"pids_limit,optional"`
}

// applyExec sets in c what an exec config block sets.
func applyExec(c *execdriver.PluginConfig, body hcl.Body, at hcl.Range) hcl.Diagnostics {
	var fe fileExec
	if diags := gohcl.DecodeBody(body, nil, &fe); diags.HasErrors() {
		return diags
	}
	if fe.ChrootEnv != nil {
		c.ChrootEnv = *fe.ChrootEnv
	}
	if fe.CgroupParent != nil {
		c.CgroupParent = *fe.CgroupParent
	}
	if fe.PidsLimit != nil {
		c.PidsLimit = *fe.PidsLimit
	}
	if err := c.Validate(); err != nil {
		return hcl.Diagnostics{{Severity: hcl.DiagError, Subject: &at, Summary: `plugin "exec": ` + err.Error()}}
	}
	return nil
}

// pluginNames are the plugin blocks an agent file may hold.
var pluginNames = []string{rawexec.Name, execdriver.Name, mock.Name, docker.Name}

// filePlugin is one `plugin "NAME" { config { ... } }` block.
type filePlugin struct {
	Name   string            `hcl:"name,label"`
	Config *filePluginConfig `hcl:"config,block"`
	Range  hcl.Range         `hcl:",def_range"`
}

type filePluginConfig struct {
	Body hcl.Body `hcl:",remain"`
}

// applyPlugins sets in p what the plugin blocks say. Errors name the block's
// file:line:col.
func applyPlugins(p *PluginsConfig, blocks []*filePlugin) error {
	seen := map[string]hcl.Range{}
	var diags hcl.Diagnostics
	var errs []error // already file:line:col
	for _, b := range blocks {
		at := b.Range
		if prev, dup := seen[b.Name]; dup {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Subject: &at,
				Summary: fmt.Sprintf("plugin %q: duplicate block", b.Name), Detail: fmt.Sprintf("first defined at %s:%d:%d", prev.Filename, prev.Start.Line, prev.Start.Column)})
			continue
		}
		seen[b.Name] = at
		var body hcl.Body = hcl.EmptyBody()
		if b.Config != nil {
			body = b.Config.Body
		}
		switch b.Name {
		case rawexec.Name:
			var fr struct {
				Enabled *bool `hcl:"enabled,optional"`
			}
			diags = append(diags, gohcl.DecodeBody(body, nil, &fr)...)
			if fr.Enabled != nil {
				p.RawExec = *fr.Enabled
			}
		case mock.Name:
			// No settings: the block enables the driver.
			diags = append(diags, gohcl.DecodeBody(body, nil, &struct{}{})...)
			p.Mock = true
		case execdriver.Name:
			diags = append(diags, applyExec(&p.Exec, body, at)...)
		case docker.Name:
			d, err := applyDocker(&p.Docker, body)
			diags = append(diags, d...)
			errs = append(errs, err)
		default:
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Subject: &at,
				Summary: fmt.Sprintf("plugin %q: unknown plugin", b.Name),
				Detail:  "known plugins: " + strings.Join(pluginNames, ", ")})
		}
	}
	if diags.HasErrors() {
		errs = append([]error{diagnosticsError("", diags)}, errs...)
	}
	return errors.Join(errs...)
}

// buildDrivers returns the drivers the configuration enables besides
// raw_exec, which the client runs on its supervisor.
func buildDrivers(p PluginsConfig, logger *slog.Logger) ([]driver.Driver, error) {
	dk, err := docker.New(p.Docker, logger)
	if err != nil {
		return nil, err
	}
	ds := []driver.Driver{dk}
	if p.Mock {
		ds = append(ds, mock.New(logger))
	}
	return slices.Clip(ds), nil
}

// supervisedDrivers returns the drivers whose tasks the node's supervisor
// runs, besides raw_exec: exec.
func supervisedDrivers(p PluginsConfig, logger *slog.Logger) []func(*supervisor.Client) driver.Driver {
	return []func(*supervisor.Client) driver.Driver{
		func(sup *supervisor.Client) driver.Driver { return execdriver.New(p.Exec, logger, sup) },
	}
}
