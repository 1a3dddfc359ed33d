package exec

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/orch-io/orch/client/driver"
	"github.com/orch-io/orch/client/supervisor"
	"github.com/orch-io/orch/client/supervisor/launch"
	"github.com/orch-io/orch/structs"
)

// Name is the driver's name in job files.
const Name = "exec"

// DefaultUser is the user tasks run as unless their user field says
// otherwise, as in Nomad.
const DefaultUser = "nobody"

// defaultPath is the PATH of a task whose environment sets none.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Exec runs tasks isolated: in namespaces, in a root of their own, in
// cgroups that enforce their resources, as an unprivileged user. The node's
// supervisor starts and keeps them (so they outlive the agent); the driver
// prepares their cgroups and reads them. Safe for concurrent use.
type Exec struct {
	cfg    PluginConfig
	logger *slog.Logger
	sup    *supervisor.Client
	// geteuid is os.Geteuid (tests pretend not to be root).
	geteuid func() int

	once    sync.Once
	version cgroupVersion
	verErr  error
}

var _ driver.Driver = (*Exec)(nil)

// New returns the exec driver running tasks under sup.
func New(cfg PluginConfig, logger *slog.Logger, sup *supervisor.Client) *Exec {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Exec{cfg: cfg.withDefaults(), logger: logger.With("driver", Name), sup: sup, geteuid: os.Geteuid}
}

// Name implements driver.Driver.
func (d *Exec) Name() string { return Name }

// Capabilities implements driver.Driver: tasks are the supervisor's and
// outlive the agent; they see /alloc, /local and /secrets where they are
// mounted.
func (d *Exec) Capabilities() driver.Capabilities {
	return driver.Capabilities{Reattach: true, Isolated: true}
}

func (d *Exec) cgroups() (cgroupVersion, error) {
	d.once.Do(func() { d.version, d.verErr = detectCgroups(d.cfg.CgroupRoot) })
	return d.version, d.verErr
}

// Fingerprint implements driver.Driver: exec needs root (namespaces,
// mounts, cgroups) and cgroups with the memory, cpu and pids controllers.
func (d *Exec) Fingerprint(context.Context) *structs.DriverInfo {
	info := &structs.DriverInfo{UpdateTime: time.Now().UnixNano()}
	if d.geteuid() != 0 {
		info.HealthDescription = "exec driver must run as root"
		return info
	}
	info.Detected = true
	v, err := d.cgroups()
	if err != nil {
		info.HealthDescription = "exec driver unhealthy: " + err.Error()
		return info
	}
	if d.sup != nil && !d.sup.Supports(supervisor.FeatureIsolation) {
		info.HealthDescription = "exec driver unhealthy: the node's supervisor cannot isolate tasks (an older orch); it is replaced once no task of it runs"
		return info
	}
	info.Healthy = true
	info.HealthDescription = "Healthy"
	info.Attributes = map[string]string{"driver.exec.cgroups": v.String()}
	return info
}

// taskID names a task to the supervisor and names its cgroup.
func taskID(cfg *driver.TaskConfig) string { return cfg.AllocID + "." + cfg.TaskName }

// cgroupOf is the task's cgroup; with cores (a cpuset in lim) it is also in
// the cpuset controller.
func (d *Exec) cgroupOf(v cgroupVersion, id string, lim limits) cgroup {
	return newCgroup(v, d.cfg.CgroupRoot, d.cfg.CgroupParent, id, lim.Cpuset != "")
}

// Start implements driver.Driver.
func (d *Exec) Start(ctx context.Context, cfg *driver.TaskConfig) (driver.Handle, error) {
	tc, err := parseConfig(cfg.TaskName, cfg.Config)
	if err != nil {
		return nil, err
	}
	if d.geteuid() != 0 {
		return nil, driver.Unrecoverable(fmt.Errorf("task %q: exec driver must run as root", cfg.TaskName))
	}
	v, err := d.cgroups()
	if err != nil {
		return nil, driver.Unrecoverable(fmt.Errorf("task %q: %w", cfg.TaskName, err))
	}
	if !d.sup.Supports(supervisor.FeatureIsolation) {
		return nil, fmt.Errorf("task %q: the node's supervisor cannot isolate tasks (an older orch)", cfg.TaskName)
	}
	cred, err := lookupUser(cfg.User)
	if err != nil {
		return nil, driver.Unrecoverable(fmt.Errorf("task %q: user %q: %w", cfg.TaskName, cfg.User, err))
	}
	if err := prepareDirs(cfg, cred); err != nil {
		return nil, fmt.Errorf("task %q: %w", cfg.TaskName, err)
	}

	id := taskID(cfg)
	lim := d.limits(cfg, tc)
	cg := d.cgroupOf(v, id, lim)
	_ = cg.destroy() // a previous run's, should it have been left behind
	if err := cg.create(lim); err != nil {
		_ = cg.destroy()
		return nil, fmt.Errorf("task %q: %w", cfg.TaskName, err)
	}

	logs := cfg.Logs
	if logs == nil {
		logs = structs.DefaultLogConfig()
	}
	spec := &supervisor.TaskSpec{
		ID:    id,
		Nonce: structs.GenerateUUID(),
		Path:  tc.Command,
		Args:  append([]string{tc.Command}, tc.Args...),
		Env:   taskEnv(cfg.TaskEnv),
		Dir:   "/",
		Logs: supervisor.LogSpec{
			Dir: filepath.Dir(cfg.StdoutPath), Name: cfg.TaskName,
			MaxFiles: logs.MaxFiles, MaxFileSizeMB: logs.MaxFileSizeMB, Disabled: logs.Disabled,
		},
		Isolation: d.isolation(cfg, tc, cred, cg),
	}
	st, err := d.sup.Start(ctx, spec)
	if err != nil {
		_ = cg.destroy()
		return nil, fmt.Errorf("task %q: %w", cfg.TaskName, err)
	}
	h := d.handle(cfg, st, cg, lim)
	h.logger.Debug("task started", "command", tc.Command, "cgroups", v.String())
	return h, nil
}

// limits are the task's resources as cgroup limits: memory hard, or with
// memory_max (allocated only under memory oversubscription) memory_max hard
// and memory soft; cpu as shares; its reserved cores as its cpuset.
func (d *Exec) limits(cfg *driver.TaskConfig, tc taskConfig) limits {
	l := limits{PidsMax: int64(d.cfg.PidsLimit)}
	if tc.PidsLimit > 0 {
		l.PidsMax = int64(tc.PidsLimit)
	}
	if r := cfg.Resources; r != nil {
		l.MemoryBytes = int64(r.MemoryMB) << 20
		if r.MemoryMaxMB > r.MemoryMB {
			l.MemoryMaxBytes = int64(r.MemoryMaxMB) << 20
		}
		l.CPUShares = int64(r.CPU)
		l.Cpuset = structs.FormatCoreList(r.ReservedCores)
	}
	return l
}

// isolation is how the launcher isolates the task: its root is the task
// directory, with chroot_env bound read-only, /alloc, /secrets (a tmpfs
// only the task's user reads), /dev and its own /proc.
func (d *Exec) isolation(cfg *driver.TaskConfig, tc taskConfig, cred *credential, cg cgroup) *launch.Isolation {
	ns := []string{launch.NSMount, launch.NSUTS}
	if tc.PIDMode != "host" {
		ns = append(ns, launch.NSPID)
	}
	if tc.IPCMode != "host" {
		ns = append(ns, launch.NSIPC)
	}
	var mounts []launch.Mount
	srcs := make([]string, 0, len(d.cfg.ChrootEnv))
	for src := range d.cfg.ChrootEnv {
		srcs = append(srcs, src)
	}
	// Shorter targets first, so that /usr is bound before /usr/local.
	sort.Slice(srcs, func(i, j int) bool {
		a, b := d.cfg.ChrootEnv[srcs[i]], d.cfg.ChrootEnv[srcs[j]]
		if len(a) != len(b) {
			return len(a) < len(b)
		}
		return a < b
	})
	for _, src := range srcs {
		mounts = append(mounts, launch.Mount{Type: launch.MountBind, Source: src, Target: d.cfg.ChrootEnv[src], ReadOnly: true, Optional: true})
	}
	mounts = append(mounts,
		launch.Mount{Type: launch.MountBind, Source: cfg.AllocDir, Target: "/alloc"},
		launch.Mount{Type: launch.MountTmpfs, Target: "/secrets", KeepContent: true,
			Data: fmt.Sprintf("mode=0700,uid=%d,gid=%d,size=1m", cred.uid, cred.gid)},
		launch.Mount{Type: launch.MountDev, Target: "/dev"},
		launch.Mount{Type: launch.MountProc, Target: "/proc"},
	)
	return &launch.Isolation{
		Namespaces: ns,
		Root:       cfg.Dir,
		Mounts:     mounts,
		Cgroups:    cg.dirs(),
		UID:        cred.uid, GID: cred.gid, Groups: cred.groups,
	}
}

// taskEnv is the task's environment with a PATH.
func taskEnv(env []string) []string {
	out := append([]string(nil), env...)
	for _, kv := range out {
		if strings.HasPrefix(kv, "PATH=") {
			return out
		}
	}
	return append(out, "PATH="+defaultPath)
}

type credential struct {
	uid, gid uint32
	groups   []uint32
}

// lookupUser resolves name ("" is DefaultUser) on the host: the task's /etc
// is the host's unless chroot_env says otherwise.
func lookupUser(name string) (*credential, error) {
	if name == "" {
		name = DefaultUser
	}
	u, err := user.Lookup(name)
	if err != nil {
		return nil, err
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return nil, err
	}
	c := &credential{uid: uint32(uid), gid: uint32(gid)}
	if gids, err := u.GroupIds(); err == nil {
		for _, g := range gids {
			if n, err := strconv.ParseUint(g, 10, 32); err == nil {
				c.groups = append(c.groups, uint32(n))
			}
		}
	}
	return c, nil
}

// prepareDirs lets the task's user write its directories: /local and /tmp
// are its own; the allocation's data and tmp are shared with the group's
// other tasks, perhaps of other users, as Nomad makes them (0777).
func prepareDirs(cfg *driver.TaskConfig, cred *credential) error {
	if cred.uid == 0 {
		return nil
	}
	for _, dir := range []string{cfg.LocalDir, filepath.Join(cfg.Dir, "tmp")} {
		if err := os.Chown(dir, int(cred.uid), int(cred.gid)); err != nil {
			return err
		}
	}
	for _, dir := range []string{filepath.Join(cfg.AllocDir, "data"), filepath.Join(cfg.AllocDir, "tmp")} {
		if err := os.Chmod(dir, 0o777); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}

// Recover implements driver.Driver: the supervisor still has the run th
// names; its cgroup is where Start made it.
func (d *Exec) Recover(_ context.Context, cfg *driver.TaskConfig, th *driver.TaskHandle) (driver.Handle, error) {
	st, ok := d.sup.Task(th.ID)
	if !ok {
		return nil, fmt.Errorf("task %q: the supervisor has no task %q: %w", cfg.TaskName, th.ID, driver.ErrTaskNotFound)
	}
	if nonce := th.Data[nonceKey]; st.Nonce != nonce {
		return nil, fmt.Errorf("task %q: the supervisor's task %q is run %q, not %q: %w", cfg.TaskName, th.ID, st.Nonce, nonce, driver.ErrTaskNotFound)
	}
	v, err := d.cgroups()
	if err != nil {
		return nil, fmt.Errorf("task %q: %w", cfg.TaskName, err)
	}
	tc, _ := parseConfig(cfg.TaskName, cfg.Config)
	lim := d.limits(cfg, tc)
	return d.handle(cfg, st, d.cgroupOf(v, th.ID, lim), lim), nil
}

func (d *Exec) handle(cfg *driver.TaskConfig, st *supervisor.TaskStatus, cg cgroup, lim limits) *handle {
	cred, _ := lookupUser(cfg.User) // Start looked it up; a failure fails exec into the task only
	return &handle{
		sup: d.sup, id: st.ID, nonce: st.Nonce, pid: st.PID, started: st.StartedAt, cg: cg, limits: lim,
		env: taskEnv(cfg.TaskEnv), cred: cred,
		logger: d.logger.With("alloc_id", cfg.AllocID, "task", cfg.TaskName, "pid", st.PID),
	}
}
