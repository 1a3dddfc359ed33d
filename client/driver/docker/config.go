package docker

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/orch-io/orch/client/driver"
)

// PluginConfig is the agent's `plugin "docker" { config { ... } }`.
type PluginConfig struct {
	// Endpoint is the daemon's address ("unix:///var/run/docker.sock");
	// "" means DOCKER_HOST, or the default socket.
	Endpoint string
	// VolumesEnabled allows tasks' `volumes` (bind mounts of host paths):
	// volumes { enabled = true }.
	VolumesEnabled bool
	// Dangling configures gc { dangling_containers { ... } }.
	Dangling DanglingConfig
}

// DanglingConfig is how containers orch created that belong to no
// allocation are found and removed.
type DanglingConfig struct {
	Enabled bool
	// Period is how often the reconciler looks.
	Period time.Duration
	// CreationGrace spares containers younger than this: their allocation
	// may not be in the client's state yet.
	CreationGrace time.Duration
}

// DefaultPluginConfig returns Nomad's defaults.
func DefaultPluginConfig() PluginConfig {
	return PluginConfig{Dangling: DanglingConfig{Enabled: true, Period: 5 * time.Minute, CreationGrace: 5 * time.Minute}}
}

// Validate reports every problem at once.
func (c PluginConfig) Validate() error {
	var errs []error
	if c.Dangling.Enabled && c.Dangling.Period <= 0 {
		errs = append(errs, fmt.Errorf(`plugin "docker": gc.dangling_containers.period = %s: must be > 0`, c.Dangling.Period))
	}
	if c.Dangling.CreationGrace < 0 {
		errs = append(errs, fmt.Errorf(`plugin "docker": gc.dangling_containers.creation_grace = %s: must be >= 0`, c.Dangling.CreationGrace))
	}
	return errors.Join(errs...)
}

// taskConfig is a docker task's config block.
type taskConfig struct {
	Image       string
	Command     string
	Args        []string
	Entrypoint  []string
	Ports       []string // group network port labels
	Volumes     []string // "host:container[:ro]"
	Labels      map[string]string
	Hostname    string
	NetworkMode string
	ForcePull   bool
	Auth        map[string]string // username, password, email, server_address
}

var authKeys = []string{"username", "password", "email", "server_address"}

// parseConfig reads a task's config block, reporting every problem at once
// (wrapping driver.ErrInvalidConfig).
func parseConfig(cfg *driver.TaskConfig, volumesEnabled bool) (taskConfig, error) {
	r := driver.NewConfigReader(Name, cfg.TaskName, cfg.Config)
	tc := taskConfig{
		Image:       r.String("image", true),
		Command:     r.String("command", false),
		Args:        r.StringList("args"),
		Entrypoint:  r.StringList("entrypoint"),
		Ports:       r.StringList("ports"),
		Volumes:     r.StringList("volumes"),
		Labels:      r.StringMap("labels"),
		Hostname:    r.String("hostname", false),
		NetworkMode: r.String("network_mode", false),
		ForcePull:   r.Bool("force_pull"),
		Auth:        r.StringMap("auth"),
	}
	for k := range tc.Auth {
		if !slices.Contains(authKeys, k) {
			r.Fail("auth", "%q: unknown key (auth takes %s)", k, strings.Join(authKeys, ", "))
		}
	}
	for _, label := range tc.Ports {
		if _, ok := cfg.Ports.Get(label); !ok {
			r.Fail("ports", "%q: the group's network block has no port with this label", label)
		}
	}
	if len(tc.Volumes) > 0 && !volumesEnabled {
		r.Fail("volumes", `bind mounts are disabled on this node (plugin "docker" { config { volumes { enabled = true } } })`)
	}
	for _, v := range tc.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || !strings.HasPrefix(parts[1], "/") || (len(parts) == 3 && parts[2] != "ro" && parts[2] != "rw") {
			r.Fail("volumes", `%q: must be "host_path:/container_path" with an optional ":ro" or ":rw"`, v)
		}
	}
	for k := range tc.Labels {
		if strings.HasPrefix(k, labelPrefix) {
			r.Fail("labels", "%q: the %q prefix is orch's own", k, labelPrefix)
		}
	}
	return tc, r.Err()
}
