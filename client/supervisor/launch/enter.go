package launch

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// Entering a running task (orch alloc exec into an exec task). The agent
// starts its own binary as EnterArg0 from a thread it moved into the task's
// PID, IPC, UTS and network namespaces (setns; the child is born in them).
// The mount namespace cannot be entered that way by a Go process (setns of
// a mount namespace needs a single-threaded caller), so the helper chroots
// to the task's root as the kernel shows it (/proc/<pid>/root: the task's
// pivoted root with its mounts, /proc of its PID namespace included). It
// joins the task's cgroups, drops to the task's user and execs the command.

// EnterArg0 is the enter helper's argv[0]; EnterSpecEnv the environment
// variable holding its EnterSpec as JSON. Both must be present.
const (
	EnterArg0    = "orch-exec-enter"
	EnterSpecEnv = "ORCH_ENTER_SPEC"
)

// EnterSpec is what the enter helper does.
type EnterSpec struct {
	// Root is the task's root, "/proc/<pid>/root" of its first process.
	Root string `json:"root"`
	// Cgroups are the task's cgroup directories, joined before anything else.
	Cgroups []string `json:"cgroups,omitempty"`
	UID     uint32   `json:"uid"`
	GID     uint32   `json:"gid"`
	Groups  []uint32 `json:"groups,omitempty"`
	// Path is the command, looked up in the task's PATH (Env) when it has
	// no slash; Args its argv; Env its whole environment.
	Path string   `json:"path"`
	Args []string `json:"args"`
	Env  []string `json:"env,omitempty"`
}

func init() {
	if len(os.Args) == 0 || os.Args[0] != EnterArg0 {
		return
	}
	raw, ok := os.LookupEnv(EnterSpecEnv)
	if !ok {
		return
	}
	var spec EnterSpec
	if err := json.Unmarshal([]byte(raw), &spec); err != nil {
		fmt.Fprintln(os.Stderr, "orch exec:", err)
		os.Exit(127)
	}
	err := enter(&spec)
	// Reached only on failure: a successful execve does not return.
	fmt.Fprintf(os.Stderr, "orch exec: %s: %v\n", spec.Path, err)
	os.Exit(127)
}

func enter(spec *EnterSpec) error {
	for _, dir := range spec.Cgroups {
		if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte("0"), 0o644); err != nil {
			return fmt.Errorf("joining cgroup %s: %w", dir, err)
		}
	}
	if err := unix.Chroot(spec.Root); err != nil {
		return fmt.Errorf("entering the task's root: %w", err)
	}
	if err := os.Chdir("/"); err != nil {
		return err
	}
	path, err := resolveAndDrop(spec.Path, spec.Env, spec.Groups, spec.GID, spec.UID)
	if err != nil {
		return err
	}
	// Killed with the agent's thread that started it (an exec session ends
	// with the agent). Set after setuid, which clears it.
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0); err != nil {
		return fmt.Errorf("parent death signal: %w", err)
	}
	return unix.Exec(path, spec.Args, spec.Env)
}
