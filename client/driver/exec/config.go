package exec

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/orch-io/orch/client/driver"
)

// PluginConfig is the exec driver's agent configuration,
// `plugin "exec" { config { ... } }`.
type PluginConfig struct {
	// ChrootEnv maps host paths to paths in the task's root, each bound
	// read-only (Nomad's chroot_env); nil means DefaultChrootEnv. A host
	// path that does not exist is skipped.
	ChrootEnv map[string]string
	// CgroupRoot is where the cgroup hierarchies are mounted; ""
	// means /sys/fs/cgroup.
	CgroupRoot string
	// CgroupParent is the cgroup the tasks' cgroups are made in; "" means
	// "orch".
	CgroupParent string
	// PidsLimit is the default limit of a task's processes (a task's
	// pids_limit overrides it); 0 means no limit.
	PidsLimit int
}

// DefaultChrootEnv is Nomad's default chroot_env.
func DefaultChrootEnv() map[string]string {
	m := map[string]string{}
	for _, p := range []string{"/bin", "/etc", "/lib", "/lib32", "/lib64", "/run/resolvconf", "/sbin", "/usr"} {
		m[p] = p
	}
	return m
}

func (c PluginConfig) withDefaults() PluginConfig {
	if c.ChrootEnv == nil {
		c.ChrootEnv = DefaultChrootEnv()
	}
	if c.CgroupRoot == "" {
		c.CgroupRoot = "/sys/fs/cgroup"
	}
	if c.CgroupParent == "" {
		c.CgroupParent = "orch"
	}
	return c
}

// Validate reports every problem of the configuration.
func (c PluginConfig) Validate() error {
	var errs []error
	for src, dst := range c.ChrootEnv {
		if !filepath.IsAbs(src) || !filepath.IsAbs(dst) {
			errs = append(errs, fmt.Errorf("chroot_env: %q = %q: both paths must be absolute", src, dst))
		}
	}
	if c.PidsLimit < 0 {
		errs = append(errs, fmt.Errorf("pids_limit = %d: must be >= 0", c.PidsLimit))
	}
	return errors.Join(errs...)
}

// taskConfig is exec's part of a task: config { command args pid_mode
// ipc_mode pids_limit }.
type taskConfig struct {
	Command   string
	Args      []string
	PIDMode   string // "private" (default) or "host"
	IPCMode   string
	PidsLimit int
}

func parseConfig(task string, cfg map[string]any) (taskConfig, error) {
	r := driver.NewConfigReader(Name, task, cfg)
	tc := taskConfig{
		Command:   r.String("command", true),
		Args:      r.StringList("args"),
		PIDMode:   r.String("pid_mode", false),
		IPCMode:   r.String("ipc_mode", false),
		PidsLimit: r.Int("pids_limit"),
	}
	for _, m := range []struct{ key, v string }{{"pid_mode", tc.PIDMode}, {"ipc_mode", tc.IPCMode}} {
		if m.v != "" && m.v != "private" && m.v != "host" {
			r.Fail(m.key, "%q: must be \"private\" or \"host\"", m.v)
		}
	}
	if tc.PidsLimit < 0 {
		r.Fail("pids_limit", "%d: must be >= 0", tc.PidsLimit)
	}
	return tc, r.Err()
}
