package agent

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"

	"github.com/orch-io/orch/client/driver"
	"github.com/orch-io/orch/client/driver/mock"
	"github.com/orch-io/orch/client/driver/rawexec"
)

// PluginsConfig configures the task drivers, from Nomad's
// `plugin "NAME" { config { ... } }` blocks.
type PluginsConfig struct {
	// Mock enables the mock driver: by a `plugin "mock"` block, and always in
	// -dev.
	Mock bool
}

// pluginNames are the plugin blocks an agent file may hold.
var pluginNames = []string{rawexec.Name, mock.Name}

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
		default:
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Subject: &at,
				Summary: fmt.Sprintf("plugin %q: unknown plugin", b.Name),
				Detail:  "known plugins: " + strings.Join(pluginNames, ", ")})
		}
	}
	if diags.HasErrors() {
		return diagnosticsError("", diags)
	}
	return nil
}

// buildDrivers returns the drivers the configuration enables, raw_exec first.
func buildDrivers(p PluginsConfig, logger *slog.Logger) []driver.Driver {
	ds := []driver.Driver{rawexec.New(logger)}
	if p.Mock {
		ds = append(ds, mock.New(logger))
	}
	return slices.Clip(ds)
}
