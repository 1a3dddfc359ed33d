// Package launch is the launcher of isolated tasks: the supervisor starts its
// own executable again (/proc/self/exe) with argv[0] Arg0 in fresh
// namespaces; the launcher, running as PID 1 of the task's PID namespace,
// joins the task's cgroups, builds its root from mounts, pivots into it,
// drops to the task's user and execve's the task. Nothing of orch stays
// behind: the task becomes PID 1 of its namespace, and there is no helper
// process per task.
//
// The launcher runs from this package's init, before main, in any binary that
// links the supervisor (orch itself, and the test binaries whose supervisor
// runs embedded or as the test binary), so it works whichever binary the
// supervisor is.
//
// It reports a failure before the execve on the error pipe Spec.ErrFD (a
// close-on-exec descriptor: end of file with nothing written means the task
// runs) and exits with status 127.
package launch

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Arg0 is the launcher's argv[0]; SpecEnv the environment variable holding
// its Spec as JSON. Both must be present for a process to be a launcher.
const (
	Arg0    = "orch-launch"
	SpecEnv = "ORCH_LAUNCH_SPEC"
)

// Namespaces a task may be isolated in.
const (
	NSPID   = "pid"
	NSMount = "mount"
	NSIPC   = "ipc"
	NSUTS   = "uts"
	NSNet   = "net"
)

// Isolation is how to isolate a task. The supervisor turns Namespaces into
// clone flags; the launcher does the rest.
type Isolation struct {
	// Namespaces are the new namespaces of the task (NSPID, ...). NSMount is
	// required for Mounts and Root.
	Namespaces []string `json:"namespaces"`
	// Root is the host directory that becomes the task's /; "" keeps the
	// host's root.
	Root string `json:"root,omitempty"`
	// Mounts are made below Root, in order, in the task's mount namespace
	// only: they vanish with the task.
	Mounts []Mount `json:"mounts,omitempty"`
	// Cgroups are the cgroup directories the task joins (one per v1
	// hierarchy, or the one v2 directory); they exist.
	Cgroups []string `json:"cgroups,omitempty"`
	// UID, GID and Groups are the task's credentials.
	UID    uint32   `json:"uid"`
	GID    uint32   `json:"gid"`
	Groups []uint32 `json:"groups,omitempty"`
	// Hostname is set in a new UTS namespace; "" leaves the node's.
	Hostname string `json:"hostname,omitempty"`
}

// Mount types.
const (
	MountBind  = "bind"
	MountTmpfs = "tmpfs"
	MountProc  = "proc"
	// MountDev is a tmpfs with the usual device nodes (null, zero, full,
	// random, urandom, tty) bound from the host, /dev/pts and /dev/shm.
	MountDev = "dev"
)

// Mount is one mount below the task's root.
type Mount struct {
	Type string `json:"type"`
	// Source is the host path of a bind mount.
	Source string `json:"source,omitempty"`
	// Target is the path inside the task's root.
	Target   string `json:"target"`
	ReadOnly bool   `json:"read_only,omitempty"`
	// Optional: a bind of a source that does not exist is skipped.
	Optional bool `json:"optional,omitempty"`
	// Data is the tmpfs options ("mode=0700,uid=65534").
	Data string `json:"data,omitempty"`
	// KeepContent, for a tmpfs: what the directory held before is copied
	// into it (files a template rendered into /secrets before the start).
	KeepContent bool `json:"keep_content,omitempty"`
}

// Spec is everything the launcher needs.
type Spec struct {
	// Path is the program: absolute, or a name looked up in the PATH of Env
	// inside the task's root.
	Path      string    `json:"path"`
	Args      []string  `json:"args"`
	Env       []string  `json:"env"`
	Dir       string    `json:"dir"` // inside the root
	ErrFD     int       `json:"err_fd"`
	Isolation Isolation `json:"isolation"`
}

// CloneFlags are the clone flags of namespaces.
func CloneFlags(namespaces []string) (uintptr, error) {
	var flags uintptr
	for _, ns := range namespaces {
		switch ns {
		case NSPID:
			flags |= unix.CLONE_NEWPID
		case NSMount:
			flags |= unix.CLONE_NEWNS
		case NSIPC:
			flags |= unix.CLONE_NEWIPC
		case NSUTS:
			flags |= unix.CLONE_NEWUTS
		case NSNet:
			flags |= unix.CLONE_NEWNET
		default:
			return 0, fmt.Errorf("namespace %q: not one of pid, mount, ipc, uts, net", ns)
		}
	}
	return flags, nil
}

func init() {
	if len(os.Args) == 0 || os.Args[0] != Arg0 {
		return
	}
	raw, ok := os.LookupEnv(SpecEnv)
	if !ok {
		return
	}
	var spec Spec
	if err := json.Unmarshal([]byte(raw), &spec); err != nil {
		fmt.Fprintln(os.Stderr, "orch launcher:", err)
		os.Exit(127)
	}
	errPipe := os.NewFile(uintptr(spec.ErrFD), "launch-errors")
	unix.CloseOnExec(spec.ErrFD)
	err := run(&spec)
	// Reached only on failure: a successful execve does not return.
	msg := fmt.Sprintf("launching %s: %v", spec.Path, err)
	fmt.Fprintln(os.Stderr, "orch launcher:", msg)
	if errPipe != nil {
		_, _ = io.WriteString(errPipe, msg)
	}
	os.Exit(127)
}

func run(spec *Spec) error {
	iso := &spec.Isolation
	for _, dir := range iso.Cgroups {
		// "0" is the writing process; the task inherits the cgroup.
		if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte("0"), 0o644); err != nil {
			return fmt.Errorf("joining cgroup %s: %w", dir, err)
		}
	}
	if iso.Hostname != "" {
		if err := unix.Sethostname([]byte(iso.Hostname)); err != nil {
			return fmt.Errorf("hostname: %w", err)
		}
	}
	if iso.Root != "" {
		if err := buildRoot(iso); err != nil {
			return err
		}
	}
	path, err := resolveAndDrop(spec.Path, spec.Env, iso.Groups, iso.GID, iso.UID)
	if err != nil {
		return err
	}
	dir := spec.Dir
	if dir == "" {
		dir = "/"
	}
	if err := os.Chdir(dir); err != nil {
		return fmt.Errorf("working directory: %w", err)
	}
	return unix.Exec(path, spec.Args, spec.Env)
}

func toInts(u []uint32) []int {
	out := make([]int, len(u))
	for i, v := range u {
		out[i] = int(v)
	}
	return out
}

// buildRoot mounts the task's root and pivots into it. The mounts are made
// private first, so none propagates to the host.
func buildRoot(iso *Isolation) error {
	root := iso.Root
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("making mounts private: %w", err)
	}
	// pivot_root needs the new root to be a mount point.
	if err := unix.Mount(root, root, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("binding the root %s: %w", root, err)
	}
	for _, m := range iso.Mounts {
		if err := mount(root, m, iso); err != nil {
			return fmt.Errorf("mount %s on %s: %w", m.Type, m.Target, err)
		}
	}
	if err := os.Chdir(root); err != nil {
		return err
	}
	// pivot_root(".", "."): the old root ends up on top of the new one, and
	// is detached at once. Unlike chroot, no path leads back to the host.
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root %s: %w", root, err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detaching the host's root: %w", err)
	}
	return os.Chdir("/")
}

func mount(root string, m Mount, iso *Isolation) error {
	target := filepath.Join(root, filepath.Clean("/"+m.Target))
	switch m.Type {
	case MountBind:
		fi, err := os.Stat(m.Source)
		if err != nil {
			if m.Optional && errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if err := makeTarget(target, fi.IsDir()); err != nil {
			return err
		}
		if err := unix.Mount(m.Source, target, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return err
		}
		if m.ReadOnly {
			return unix.Mount("", target, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV, "")
		}
		return nil
	case MountTmpfs:
		if err := makeTarget(target, true); err != nil {
			return err
		}
		var old *os.File
		if m.KeepContent {
			f, err := os.Open(target)
			if err != nil {
				return err
			}
			defer f.Close()
			old = f
		}
		if err := unix.Mount("tmpfs", target, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, m.Data); err != nil {
			return err
		}
		if old != nil {
			// The descriptor still reaches the directory the tmpfs hides.
			return copyTree(target, "/proc/self/fd/"+strconv.Itoa(int(old.Fd()))+"/", int(iso.UID), int(iso.GID))
		}
		return nil
	case MountProc:
		if err := makeTarget(target, true); err != nil {
			return err
		}
		return unix.Mount("proc", target, "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "")
	case MountDev:
		return mountDev(target)
	}
	return fmt.Errorf("unknown mount type %q", m.Type)
}

func makeTarget(target string, dir bool) error {
	if dir {
		return os.MkdirAll(target, 0o755)
	}
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(target, os.O_CREATE|os.O_RDONLY, 0o644)
	if err != nil {
		return err
	}
	return f.Close()
}

func mountDev(target string) error {
	if err := makeTarget(target, true); err != nil {
		return err
	}
	if err := unix.Mount("tmpfs", target, "tmpfs", unix.MS_NOSUID|unix.MS_NOEXEC, "mode=0755,size=65536k"); err != nil {
		return err
	}
	for _, name := range []string{"null", "zero", "full", "random", "urandom", "tty"} {
		t := filepath.Join(target, name)
		if err := makeTarget(t, false); err != nil {
			return err
		}
		if err := unix.Mount("/dev/"+name, t, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("/dev/%s: %w", name, err)
		}
	}
	shm := filepath.Join(target, "shm")
	if err := makeTarget(shm, true); err != nil {
		return err
	}
	if err := unix.Mount("shm", shm, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=1777,size=65536k"); err != nil {
		return err
	}
	pts := filepath.Join(target, "pts")
	if err := makeTarget(pts, true); err != nil {
		return err
	}
	if err := unix.Mount("devpts", pts, "devpts", unix.MS_NOSUID|unix.MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620"); err != nil {
		return err
	}
	for _, l := range [][2]string{{"/proc/self/fd", "fd"}, {"/proc/self/fd/0", "stdin"}, {"/proc/self/fd/1", "stdout"}, {"/proc/self/fd/2", "stderr"}, {"pts/ptmx", "ptmx"}} {
		if err := os.Symlink(l[0], filepath.Join(target, l[1])); err != nil {
			return err
		}
	}
	return nil
}

// copyTree copies the regular files and directories under src into dst,
// keeping their modes, owned by the task's user.
func copyTree(dst, src string, uid, gid int) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil || rel == "." {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		to := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			if err := os.Mkdir(to, fi.Mode().Perm()); err != nil {
				return err
			}
		case d.Type().IsRegular():
			if err := copyFile(to, p, fi.Mode().Perm()); err != nil {
				return err
			}
		default:
			return nil
		}
		return os.Lchown(to, uid, gid)
	})
}

func copyFile(dst, src string, perm fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// lookPath finds name in the PATH of env (the task's), in the current root.
func lookPath(name string, env []string) (string, error) {
	path := "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
		}
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%q: not found in PATH %s", name, path)
}

// resolveAndDrop finds path on the task's PATH (inside its root, which the
// caller has entered) and then becomes the task's user: groups, gid, uid, in
// that order, since each needs the privilege the next one drops.
func resolveAndDrop(path string, env []string, groups []uint32, gid, uid uint32) (string, error) {
	if !strings.Contains(path, "/") {
		p, err := lookPath(path, env)
		if err != nil {
			return "", err
		}
		path = p
	}
	if err := syscall.Setgroups(toInts(groups)); err != nil {
		return "", fmt.Errorf("setgroups: %w", err)
	}
	if err := syscall.Setgid(int(gid)); err != nil {
		return "", fmt.Errorf("setgid %d: %w", gid, err)
	}
	if err := syscall.Setuid(int(uid)); err != nil {
		return "", fmt.Errorf("setuid %d: %w", uid, err)
	}
	return path, nil
}
