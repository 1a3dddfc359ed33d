package driver

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/orch-io/orch/structs"
)

// ErrInvalidConfig is wrapped by every error a driver returns because the task's
// configuration is wrong (missing or mistyped keys). Such an error is the user's
// to fix: the task runner fails the task at once instead of restarting it.
var ErrInvalidConfig = errors.New("driver: invalid task config")

// Driver starts tasks of one kind. Implementations are safe for concurrent use:
// many task runners call Start at once.
type Driver interface {
	// Name is the driver's name as jobs write it in a task's driver field ("raw_exec").
	Name() string
	// Fingerprint reports whether the driver can run tasks on this node. The
	// caller owns the returned value.
	Fingerprint() *structs.DriverInfo
	// Start starts the task and returns once it runs (or failed to start). ctx
	// bounds the start only; the task outlives it. An error wrapping
	// ErrInvalidConfig means the configuration can never work.
	Start(ctx context.Context, cfg *TaskConfig) (Handle, error)
}

// Handle is a started task. Its methods may be called from any goroutine,
// concurrently.
type Handle interface {
	// Pid is the task's main process ID.
	Pid() int
	// Wait blocks until the task has exited and been reaped, and reports how it
	// ended; or until ctx ends, returning ctx's error. Any number of callers may
	// wait, before or after the exit.
	Wait(ctx context.Context) (*ExitResult, error)
	// Stop sends signal (a name such as "SIGINT") to the task and everything it
	// started, waits up to timeout for it to exit, then kills it with SIGKILL.
	// It returns once the task has exited. Stopping a task that already exited
	// does nothing.
	Stop(signal string, timeout time.Duration) error
}

// TaskConfig is everything a driver needs to start one task. Drivers treat it as
// read-only.
type TaskConfig struct {
	AllocID  string
	TaskName string
	// Config is the task's driver-specific configuration (the job's config block).
	Config map[string]any
	// Env is the task's complete environment, "KEY=value" entries.
	Env []string
	// Dir is the task's working directory; it exists.
	Dir string
	// StdoutPath and StderrPath are the files the task's output is appended to
	// (<logdir>/<task>.stdout.0); a driver that rotates logs writes
	// <task>.stdout.N next to it, as Logs says.
	StdoutPath string
	StderrPath string
	// Logs is the task's logs block; nil means Nomad's defaults.
	Logs *structs.LogConfig
}

// ExitResult is how a task ended.
type ExitResult struct {
	// ExitCode is the process's exit status; 128+signal when a signal killed it,
	// as shells report it.
	ExitCode int
	// Signal is the signal that killed the process, 0 if it exited by itself.
	Signal int
	// Unknown, when not empty, says why the exit status is not known (the
	// task ended while nothing that could observe it watched, or the node
	// rebooted); ExitCode is then -1.
	Unknown string
}

// Successful reports whether the task exited by itself with status 0.
func (r *ExitResult) Successful() bool { return r.ExitCode == 0 && r.Signal == 0 && r.Unknown == "" }

func (r *ExitResult) String() string {
	if r.Unknown != "" {
		return "unknown exit: " + r.Unknown
	}
	if r.Signal != 0 {
		return fmt.Sprintf("exit code %d, signal %d", r.ExitCode, r.Signal)
	}
	return fmt.Sprintf("exit code %d", r.ExitCode)
}

// ErrTaskNotFound is returned by a Recoverer when the task it was asked to
// re-attach to is not known.
var ErrTaskNotFound = errors.New("driver: task not found")

// Recoverer is a driver whose tasks outlive the agent. The task runner of a
// restarted agent calls Recover for a task it had left running, instead of
// starting it again.
type Recoverer interface {
	// Recover returns the handle of the task cfg names, running or exited
	// while the agent was away; ErrTaskNotFound if the driver has no such task.
	Recover(ctx context.Context, cfg *TaskConfig) (Handle, error)
	// Forget drops what the driver keeps of an exited task (the alloc is gone).
	Forget(ctx context.Context, cfg *TaskConfig) error
}

// Signaler is a handle that can deliver a signal to its task.
type Signaler interface {
	Signal(signal string) error
}

// InvalidConfig marks err as a configuration error: the result reads exactly as
// err and satisfies errors.Is(result, ErrInvalidConfig).
func InvalidConfig(err error) error {
	if err == nil {
		return nil
	}
	return &invalidConfigError{err: err}
}

type invalidConfigError struct{ err error }

func (e *invalidConfigError) Error() string   { return e.err.Error() }
func (e *invalidConfigError) Unwrap() []error { return []error{ErrInvalidConfig, e.err} }
