package exec

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	osexec "os/exec"
	"runtime"
	"syscall"

	"github.com/orch-io/orch/client/driver"
	"github.com/orch-io/orch/client/driver/execstream"
	"github.com/orch-io/orch/client/supervisor/launch"
	"golang.org/x/sys/unix"
)

// Exec into an exec task (orch alloc exec, script checks): the command runs
// as the task does — in its PID, IPC, UTS and network namespaces, its root,
// its cgroups, as its user, with its environment — through the enter helper
// of package launch (its own binary as launch.EnterArg0). As for raw_exec,
// the command is a child of the agent and lives as long as the caller's
// connection (execstream).

var _ driver.ExecStreamer = (*handle)(nil)

// enterNamespaces are the namespaces an exec'd command joins, with their
// setns flags; the mount namespace is entered by chroot instead (enter.go
// of package launch says why).
var enterNamespaces = []struct {
	name string
	flag int
}{{"pid", unix.CLONE_NEWPID}, {"ipc", unix.CLONE_NEWIPC}, {"uts", unix.CLONE_NEWUTS}, {"net", unix.CLONE_NEWNET}}

// ExecStreaming implements driver.ExecStreamer.
func (h *handle) ExecStreaming(ctx context.Context, opts *driver.ExecOptions) (int, error) {
	if len(opts.Cmd) == 0 {
		return 0, errors.New("exec: exec: empty command")
	}
	if !h.running() || h.pid <= 0 {
		return 0, errors.New("exec: exec: the task is not running")
	}
	if h.cred == nil {
		return 0, errors.New("exec: exec: the task's user cannot be looked up on this node")
	}
	self, err := os.Executable()
	if err != nil {
		return 0, fmt.Errorf("exec: exec: %w", err)
	}
	spec, err := json.Marshal(launch.EnterSpec{
		Root: fmt.Sprintf("/proc/%d/root", h.pid), Cgroups: h.cg.dirs(),
		UID: h.cred.uid, GID: h.cred.gid, Groups: h.cred.groups,
		Path: opts.Cmd[0], Args: opts.Cmd, Env: h.env,
	})
	if err != nil {
		return 0, fmt.Errorf("exec: exec: %w", err)
	}
	cmd := &osexec.Cmd{Path: self, Args: []string{launch.EnterArg0}, Env: []string{launch.EnterSpecEnv + "=" + string(spec)}, Dir: "/"}

	type result struct {
		code int
		err  error
	}
	done := make(chan result, 1)
	go func() {
		// The thread joins the task's namespaces for its children and is
		// never given back: it ends with this goroutine. It outlives the
		// command, whose parent-death signal (set by the helper: Go's
		// Pdeathsig kills a child whose parent is outside its PID
		// namespace, getppid being 0 there) is tied to it.
		runtime.LockOSThread()
		if err := h.setns(); err != nil {
			done <- result{0, fmt.Errorf("exec: exec: %w", err)}
			return
		}
		code, err := execstream.Run(ctx, Name, cmd, &syscall.SysProcAttr{}, opts)
		done <- result{code, err}
	}()
	r := <-done
	return r.code, r.err
}

// setns moves the calling thread into the task's namespaces that differ
// from its own (pid_mode = "host" shares the node's). The caller has locked
// the goroutine to the thread and never unlocks it.
func (h *handle) setns() error {
	for _, ns := range enterNamespaces {
		theirs := fmt.Sprintf("/proc/%d/ns/%s", h.pid, ns.name)
		a, err1 := os.Readlink(theirs)
		b, err2 := os.Readlink("/proc/thread-self/ns/" + ns.name)
		if err := errors.Join(err1, err2); err != nil {
			return err
		}
		if a == b {
			continue
		}
		fd, err := unix.Open(theirs, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		err = unix.Setns(fd, ns.flag)
		unix.Close(fd)
		if err != nil {
			return fmt.Errorf("entering the task's %s namespace: %w", ns.name, err)
		}
	}
	return nil
}

// Exec implements driver.Handle (script checks): the command gets no stdin
// and its output is bounded (execstream.OutputLimit).
func (h *handle) Exec(ctx context.Context, cmd []string) (*driver.ExecResult, error) {
	return execstream.Collect(ctx, cmd, h.ExecStreaming)
}
