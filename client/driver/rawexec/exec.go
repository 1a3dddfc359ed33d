package rawexec

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"syscall"

	"github.com/orch-io/orch/client/driver"
	"github.com/orch-io/orch/client/driver/execstream"
)

// Exec into a raw_exec task (orch alloc exec, script checks). The command
// runs as the task does — its directory, its environment, the agent's user
// (raw_exec runs tasks as the agent's user) — but as a child of the agent,
// not of the supervisor. An exec session lives exactly as long as the
// connection of the user who opened it, and that connection ends with the
// agent: unlike a task, it has nothing to survive, so it does not need the
// supervisor, whose protocol would otherwise have to carry interactive
// streams and pass a terminal's descriptor. The command runs in a session
// (and process group) of its own, killed when the caller's context ends or
// when the command exits (whatever it left behind), and it is sent SIGKILL
// if the agent dies (Pdeathsig).

// ExecStreaming implements driver.ExecStreamer.
func (h *handle) ExecStreaming(ctx context.Context, opts *driver.ExecOptions) (int, error) {
	if len(opts.Cmd) == 0 {
		return 0, errors.New("raw_exec: exec: empty command")
	}
	if !h.running() {
		return 0, fmt.Errorf("raw_exec: exec: the task is not running")
	}
	path, err := resolveCommand(opts.Cmd[0], h.dir)
	if err != nil {
		return 0, fmt.Errorf("raw_exec: exec %q: %w", opts.Cmd[0], err)
	}
	cmd := &exec.Cmd{Path: path, Args: opts.Cmd, Env: h.env, Dir: h.dir}
	return execstream.Run(ctx, Name, cmd, &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}, opts)
}

// Exec implements driver.Handle (script checks): the command gets no stdin
// and its output is bounded (execstream.OutputLimit).
func (h *handle) Exec(ctx context.Context, cmd []string) (*driver.ExecResult, error) {
	return execstream.Collect(ctx, cmd, h.ExecStreaming)
}
