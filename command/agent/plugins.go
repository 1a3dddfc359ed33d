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
	"github.com/orch-io/orch/client/driver/mock"
	"github.com/orch-io/orch/client/driver/rawexec"
)

// PluginsConfig configures the task drivers, from Nomad's
// `plugin "NAME" { config { ... } }` blocks.
type PluginsConfig struct {
	// Mock enables the mock driver: by a `plugin "mock"` block, and always in
	// -dev.
	Mock bool
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

// pluginNames are the plugin blocks an agent file may hold.
var pluginNames = []string{rawexec.Name, mock.Name, docker.Name}

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
		case rawexec.Name, mock.Name:
			// No settings: the block enables the driver (raw_exec always is).
			diags = append(diags, gohcl.DecodeBody(body, nil, &struct{}{})...)
			if b.Name == mock.Name {
				p.Mock = true
			}
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
