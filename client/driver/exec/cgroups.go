package exec

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// limits are what a task's cgroup enforces.
type limits struct {
	// MemoryBytes is the hard limit; with MemoryMaxBytes above it (memory
	// oversubscription), MemoryMaxBytes is the hard limit and MemoryBytes
	// the soft one.
	MemoryBytes, MemoryMaxBytes int64
	// CPUShares are cgroup v1 shares (the task's cpu in MHz); v2 converts
	// them to a weight.
	CPUShares int64
	// Cpuset is the cores the task may run on ("0-1,3"); "" means all.
	Cpuset string
	// PidsMax limits the task's processes and threads; 0 means no limit.
	PidsMax int64
}

func (l limits) hardMemory() int64 { return max(l.MemoryBytes, l.MemoryMaxBytes) }

// softMemory is the soft limit, 0 without oversubscription.
func (l limits) softMemory() int64 {
	if l.MemoryMaxBytes > l.MemoryBytes {
		return l.MemoryBytes
	}
	return 0
}

// cgroupStats is one sample of a cgroup's usage.
type cgroupStats struct {
	CPUTotal    time.Duration
	MemoryUsage uint64 // what the limit counts, page cache included
	MemoryRSS   uint64
}

// cgroup is one task's cgroup, in every hierarchy it uses.
type cgroup interface {
	// create makes the cgroup and writes l.
	create(l limits) error
	// dirs are the directories the task joins.
	dirs() []string
	stats() (*cgroupStats, error)
	// oomKills is how many processes the kernel killed for exceeding the
	// memory limit.
	oomKills() (int, error)
	// destroy kills what still runs in the cgroup and removes it; a cgroup
	// that does not exist is no error.
	destroy() error
}

// cgroupVersion is what the node has: v1 (a hierarchy per controller) or v2.
type cgroupVersion int

const (
	cgroupNone cgroupVersion = iota
	cgroupV1
	cgroupV2
)

func (v cgroupVersion) String() string {
	switch v {
	case cgroupV1:
		return "v1"
	case cgroupV2:
		return "v2"
	}
	return "none"
}

// v1Controllers are the v1 hierarchies a task joins (cpuset only with
// cores).
var v1Controllers = []string{"memory", "cpu", "cpuacct", "pids"}

// detectCgroups reports which cgroup version root (/sys/fs/cgroup) has, or
// why the exec driver cannot use it.
func detectCgroups(root string) (cgroupVersion, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(root, &st); err != nil {
		return cgroupNone, fmt.Errorf("cgroups: %w", err)
	}
	if st.Type == unix.CGROUP2_SUPER_MAGIC {
		b, err := os.ReadFile(filepath.Join(root, "cgroup.controllers"))
		if err != nil {
			return cgroupNone, fmt.Errorf("cgroups v2: %w", err)
		}
		have := strings.Fields(string(b))
		for _, c := range []string{"memory", "cpu", "pids"} {
			if !contains(have, c) {
				return cgroupNone, fmt.Errorf("cgroups v2: controller %q not available at %s", c, root)
			}
		}
		return cgroupV2, nil
	}
	for _, c := range v1Controllers {
		var cst unix.Statfs_t
		if err := unix.Statfs(filepath.Join(root, c), &cst); err != nil || cst.Type != unix.CGROUP_SUPER_MAGIC {
			return cgroupNone, fmt.Errorf("cgroups v1: controller %q not mounted at %s", c, filepath.Join(root, c))
		}
	}
	return cgroupV1, nil
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// newCgroup returns the cgroup <parent>/<name> of version v under root.
func newCgroup(v cgroupVersion, root, parent, name string, cpuset bool) cgroup {
	if v == cgroupV2 {
		return &cgroup2{root: root, parent: parent, name: name, cpuset: cpuset}
	}
	ctrls := v1Controllers
	if cpuset {
		ctrls = append(append([]string(nil), ctrls...), "cpuset")
	}
	return &cgroup1{root: root, parent: parent, name: name, controllers: ctrls}
}

// write writes value to a cgroup interface file.
func write(dir, file, value string) error {
	if err := os.WriteFile(filepath.Join(dir, file), []byte(value), 0o644); err != nil {
		return fmt.Errorf("cgroup: writing %q to %s: %w", value, filepath.Join(dir, file), err)
	}
	return nil
}

// writeOptional is write where the file may not exist (swap accounting off).
func writeOptional(dir, file, value string) error {
	if _, err := os.Stat(filepath.Join(dir, file)); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return write(dir, file, value)
}

func readUint(dir, file string) (uint64, error) {
	b, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		return 0, err
	}
	s := strings.TrimSpace(string(b))
	if s == "max" {
		return 0, nil
	}
	return strconv.ParseUint(s, 10, 64)
}

// readKey reads "key value" lines (memory.stat, memory.events, cpu.stat)
// and returns key's value; 0 when absent.
func readKey(dir, file, key string) (uint64, error) {
	b, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 2 && f[0] == key {
			return strconv.ParseUint(f[1], 10, 64)
		}
	}
	return 0, nil
}

// killAndRemove kills every process of dir (cgroup.procs) until none is
// left, then removes the directory.
func killAndRemove(dir string) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
		if errors.Is(err, fs.ErrNotExist) {
			break // no cgroup (or not a cgroupfs)
		}
		if err != nil {
			return err
		}
		pids := strings.Fields(string(b))
		if len(pids) == 0 {
			break
		}
		for _, p := range pids {
			if pid, err := strconv.Atoi(p); err == nil && pid > 1 {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("cgroup %s: processes %v do not die", dir, pids)
		}
		time.Sleep(5 * time.Millisecond) // poll interval while the kernel reaps them
	}
	for {
		err := unix.Rmdir(dir)
		switch {
		case err == nil || errors.Is(err, fs.ErrNotExist):
			return nil
		case errors.Is(err, unix.EBUSY) && time.Now().Before(deadline):
			time.Sleep(5 * time.Millisecond) // exited processes not yet released
		default:
			// Not a cgroupfs (tests on a temp dir): remove the files too.
			if errors.Is(err, unix.ENOTEMPTY) {
				return os.RemoveAll(dir)
			}
			return fmt.Errorf("cgroup: removing %s: %w", dir, err)
		}
	}
}

// cgroup1 is a task's cgroup on v1: <root>/<controller>/<parent>/<name>.
type cgroup1 struct {
	root, parent, name string
	controllers        []string
}

func (c *cgroup1) dir(ctrl string) string { return filepath.Join(c.root, ctrl, c.parent, c.name) }

func (c *cgroup1) dirs() []string {
	out := make([]string, len(c.controllers))
	for i, ctrl := range c.controllers {
		out[i] = c.dir(ctrl)
	}
	return out
}

func (c *cgroup1) create(l limits) error {
	for _, ctrl := range c.controllers {
		if ctrl == "cpuset" {
			// A new cpuset cgroup starts empty: a process cannot join it
			// until cpus and mems are set, in the parent too.
			if err := initCpuset(filepath.Join(c.root, ctrl), c.parent); err != nil {
				return err
			}
		}
		if err := os.MkdirAll(c.dir(ctrl), 0o755); err != nil {
			return fmt.Errorf("cgroup: %w", err)
		}
	}
	mem := c.dir("memory")
	var errs []error
	if hard := l.hardMemory(); hard > 0 {
		v := strconv.FormatInt(hard, 10)
		errs = append(errs, write(mem, "memory.limit_in_bytes", v), writeOptional(mem, "memory.memsw.limit_in_bytes", v))
	}
	if soft := l.softMemory(); soft > 0 {
		errs = append(errs, write(mem, "memory.soft_limit_in_bytes", strconv.FormatInt(soft, 10)))
	}
	if l.CPUShares > 0 {
		errs = append(errs, write(c.dir("cpu"), "cpu.shares", strconv.FormatInt(max(l.CPUShares, 2), 10)))
	}
	errs = append(errs, write(c.dir("pids"), "pids.max", pidsValue(l.PidsMax)))
	if contains(c.controllers, "cpuset") {
		cs := c.dir("cpuset")
		mems, _ := os.ReadFile(filepath.Join(filepath.Dir(cs), "cpuset.mems"))
		cpus := l.Cpuset
		if cpus == "" {
			b, _ := os.ReadFile(filepath.Join(filepath.Dir(cs), "cpuset.cpus"))
			cpus = strings.TrimSpace(string(b))
		}
		errs = append(errs, write(cs, "cpuset.mems", strings.TrimSpace(string(mems))), write(cs, "cpuset.cpus", cpus))
	}
	return errors.Join(errs...)
}

// initCpuset creates root/parent and copies cpus and mems into it from root.
func initCpuset(root, parent string) error {
	dir := filepath.Join(root, parent)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("cgroup: %w", err)
	}
	for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
		cur, _ := os.ReadFile(filepath.Join(dir, f))
		if strings.TrimSpace(string(cur)) != "" {
			continue
		}
		v, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			return fmt.Errorf("cgroup: %w", err)
		}
		if err := write(dir, f, strings.TrimSpace(string(v))); err != nil {
			return err
		}
	}
	return nil
}

func pidsValue(n int64) string {
	if n <= 0 {
		return "max"
	}
	return strconv.FormatInt(n, 10)
}

func (c *cgroup1) stats() (*cgroupStats, error) {
	cpu, err1 := readUint(c.dir("cpuacct"), "cpuacct.usage")
	usage, err2 := readUint(c.dir("memory"), "memory.usage_in_bytes")
	rss, err3 := readKey(c.dir("memory"), "memory.stat", "total_rss")
	if err := errors.Join(err1, err2, err3); err != nil {
		return nil, fmt.Errorf("cgroup stats: %w", err)
	}
	return &cgroupStats{CPUTotal: time.Duration(cpu), MemoryUsage: usage, MemoryRSS: rss}, nil
}

func (c *cgroup1) oomKills() (int, error) {
	n, err := readKey(c.dir("memory"), "memory.oom_control", "oom_kill")
	return int(n), err
}

func (c *cgroup1) destroy() error {
	var errs []error
	for _, d := range c.dirs() {
		errs = append(errs, killAndRemove(d))
	}
	return errors.Join(errs...)
}

// cgroup2 is a task's cgroup on v2: <root>/<parent>/<name>.
type cgroup2 struct {
	root, parent, name string
	cpuset             bool
}

func (c *cgroup2) dir() string    { return filepath.Join(c.root, c.parent, c.name) }
func (c *cgroup2) dirs() []string { return []string{c.dir()} }

func (c *cgroup2) create(l limits) error {
	ctrls := "+cpu +memory +pids"
	if c.cpuset {
		ctrls += " +cpuset"
	}
	// Controllers are enabled top-down: in the root for the parent, in the
	// parent for the task's cgroup.
	parent := filepath.Join(c.root, c.parent)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("cgroup: %w", err)
	}
	if err := write(c.root, "cgroup.subtree_control", ctrls); err != nil {
		return err
	}
	if err := write(parent, "cgroup.subtree_control", ctrls); err != nil {
		return err
	}
	dir := c.dir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("cgroup: %w", err)
	}
	var errs []error
	if hard := l.hardMemory(); hard > 0 {
		errs = append(errs, write(dir, "memory.max", strconv.FormatInt(hard, 10)), writeOptional(dir, "memory.swap.max", "0"))
	}
	if soft := l.softMemory(); soft > 0 {
		errs = append(errs, write(dir, "memory.low", strconv.FormatInt(soft, 10)))
	}
	if l.CPUShares > 0 {
		errs = append(errs, write(dir, "cpu.weight", strconv.FormatInt(sharesToWeight(l.CPUShares), 10)))
	}
	errs = append(errs, write(dir, "pids.max", pidsValue(l.PidsMax)))
	if c.cpuset && l.Cpuset != "" {
		errs = append(errs, write(dir, "cpuset.cpus", l.Cpuset))
	}
	return errors.Join(errs...)
}

// sharesToWeight maps v1 shares [2, 262144] onto v2 weights [1, 10000], as
// the OCI runtimes do.
func sharesToWeight(shares int64) int64 {
	shares = min(max(shares, 2), 262144)
	return 1 + ((shares-2)*9999)/262142
}

func (c *cgroup2) stats() (*cgroupStats, error) {
	usec, err1 := readKey(c.dir(), "cpu.stat", "usage_usec")
	usage, err2 := readUint(c.dir(), "memory.current")
	anon, err3 := readKey(c.dir(), "memory.stat", "anon")
	if err := errors.Join(err1, err2, err3); err != nil {
		return nil, fmt.Errorf("cgroup stats: %w", err)
	}
	return &cgroupStats{CPUTotal: time.Duration(usec) * time.Microsecond, MemoryUsage: usage, MemoryRSS: anon}, nil
}

func (c *cgroup2) oomKills() (int, error) {
	n, err := readKey(c.dir(), "memory.events", "oom_kill")
	return int(n), err
}

func (c *cgroup2) destroy() error {
	// cgroup.kill (5.14+) kills everything at once; killAndRemove covers
	// older kernels and what forks meanwhile.
	_ = writeOptional(c.dir(), "cgroup.kill", "1")
	return killAndRemove(c.dir())
}
