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

// ErrUnrecoverable is wrapped by every start error that retrying cannot fix
// (every ErrInvalidConfig error among them): the task runner fails the task
// at once instead of restarting it.
var ErrUnrecoverable = errors.New("driver: unrecoverable")

// ErrTaskNotFound is returned (wrapped) by Recover when the task a handle names
// no longer exists (or this driver's tasks never outlive the agent): the task
// runner starts the task again.
var ErrTaskNotFound = errors.New("driver: task not found")

// ErrNotSupported is returned (wrapped) by a Handle method the driver does not
// implement (Exec for most drivers).
var ErrNotSupported = errors.New("driver: not supported")

// Driver starts tasks of one kind. Implementations are safe for concurrent use:
// many task runners call Start and Recover at once.
type Driver interface {
	// Name is the driver's name as jobs write it in a task's driver field ("raw_exec").
	Name() string
	// Capabilities are fixed for the life of the driver.
	Capabilities() Capabilities
	// Fingerprint reports whether the driver can run tasks on this node, and
	// its node attributes (full keys: "driver.docker.version"). It returns
	// within ctx, reporting the driver undetected or unhealthy rather than
	// failing. The caller owns the returned value.
	Fingerprint(ctx context.Context) *structs.DriverInfo
	// Start starts the task and returns once it runs (or failed to start). ctx
	// bounds the start only; the task outlives it. An error wrapping
	// ErrUnrecoverable (ErrInvalidConfig: the configuration can never work)
	// fails the task without restarts.
	Start(ctx context.Context, cfg *TaskConfig) (Handle, error)
	// Recover reattaches to a task this driver started, perhaps in an earlier
	// agent process, from the TaskHandle its Handle reported (and the client
	// persisted) and the task's config. A task that exited meanwhile is
	// recovered too: its handle's Wait reports the exit. An error wrapping
	// ErrTaskNotFound means there is nothing to reattach to.
	Recover(ctx context.Context, cfg *TaskConfig, th *TaskHandle) (Handle, error)
}

// Reconciler is implemented by drivers whose tasks can outlive their
// allocation's record on the client (containers): the client calls
// ReconcileDangling every DanglingPeriod with owned, which reports whether
// the client knows an allocation, and the driver removes tasks of the others.
type Reconciler interface {
	// DanglingPeriod is how often to reconcile; 0 disables it.
	DanglingPeriod() time.Duration
	// ReconcileDangling returns how many tasks it removed.
	ReconcileDangling(ctx context.Context, owned func(allocID string) bool) (int, error)
}

// Capabilities say what a driver's tasks can do beyond the interface's
// minimum.
type Capabilities struct {
	// Reattach: tasks outlive the agent. When the agent shuts down it leaves
	// them running, and the next agent reattaches with Recover. Without it the
	// agent stops tasks on shutdown and starts them again when it comes back.
	Reattach bool
	// Exec: Handle.Exec runs commands in the task's context.
	Exec bool
	// Isolated: the task sees its directories where they are mounted
	// (/alloc, /local, /secrets) and uses TaskConfig.TaskEnv; ${...} in its
	// config is interpolated with that view.
	Isolated bool
}

// Handle is a started (or recovered) task. Its methods may be called from any
// goroutine, concurrently.
type Handle interface {
	// TaskHandle is what Recover needs to reattach to the task; the client
	// persists it after Start. The caller owns the returned value.
	TaskHandle() *TaskHandle
	// Wait blocks until the task has exited, and reports how it ended; or
	// until ctx ends, returning ctx's error. Any number of callers may wait,
	// before or after the exit.
	Wait(ctx context.Context) (*ExitResult, error)
	// Stop sends signal (a name such as "SIGINT", the task's kill_signal) to
	// the task and everything it started, waits up to timeout (kill_timeout)
	// for it to exit, then kills it. It returns once the task has exited.
	// Stopping a task that already exited does nothing.
	Stop(signal string, timeout time.Duration) error
	// Signal sends signal to the task without waiting for anything. Signalling
	// a task that exited does nothing.
	Signal(signal string) error
	// Stats samples the task's resource usage.
	Stats(ctx context.Context) (*TaskStats, error)
	// Exec runs cmd in the task's context (its namespaces, container) and
	// returns its output once it exits, or an error wrapping ErrNotSupported.
	Exec(ctx context.Context, cmd []string) (*ExecResult, error)
	// Destroy releases what the driver keeps for the task once it has exited
	// (a container, its file system); a task still running is killed first.
	// The task runner calls it after recording an exit; the handle is not used
	// afterwards.
	Destroy(ctx context.Context) error
}

// TaskConfig is everything a driver needs to start one task. Drivers treat it as
// read-only.
type TaskConfig struct {
	AllocID  string
	JobID    string
	TaskName string
	// User is the task's user field: the user isolating drivers run it as
	// ("" is the driver's default).
	User string
	// Config is the task's driver-specific configuration (the job's config block).
	Config map[string]any
	// Env is the task's complete environment, "KEY=value" entries, the
	// agent's own included (raw_exec). TaskEnv is the task's without the
	// agent's (drivers that isolate the task: docker).
	Env     []string
	TaskEnv []string
	// Dir is the task's working directory; it exists. AllocDir, LocalDir and
	// SecretsDir are the task's /alloc, /local and /secrets.
	Dir        string
	AllocDir   string
	LocalDir   string
	SecretsDir string
	// StdoutPath and StderrPath are the first of the files the task's output
	// is written to, <logdir>/<task>.stdout.0; drivers rotate them as Logs
	// says with package tasklog (<task>.stdout.1, ...).
	StdoutPath string
	StderrPath string
	// Logs is the task's logs block; nil means Nomad's defaults.
	Logs *structs.LogConfig
	// Resources are the task's: CPU (MHz, used as shares) and MemoryMB (the
	// limit). Nil means no limits.
	Resources *structs.Resources
	// Ports are the host ports the scheduler allocated to the task's group.
	Ports structs.AllocatedPorts
}

// TaskHandle identifies a running task to its driver across agent restarts.
// It is persisted in the client's state (msgpack): keep it small and its
// fields stable.
type TaskHandle struct {
	// Driver is the name of the driver that started the task.
	Driver string
	// ID is the driver's identifier of the task: a container ID, a PID.
	ID string
	// StartedAt is when the task started, unix nanoseconds.
	StartedAt int64
	// Data is driver-specific; nil if the driver needs nothing more.
	Data map[string]string
}

// Copy returns a deep copy.
func (th *TaskHandle) Copy() *TaskHandle {
	if th == nil {
		return nil
	}
	c := *th
	if th.Data != nil {
		c.Data = make(map[string]string, len(th.Data))
		for k, v := range th.Data {
			c.Data[k] = v
		}
	}
	return &c
}

// ExitResult is how a task ended.
type ExitResult struct {
	// ExitCode is the process's exit status; 128+signal when a signal killed it,
	// as shells report it.
	ExitCode int
	// Signal is the signal that killed the process, 0 if it exited by itself.
	Signal int
	// OOMKilled: the kernel killed the task for exceeding its memory limit.
	OOMKilled bool
	// Err, if set, is what the runtime says went wrong with the task (the
	// container engine's error), next to its exit status.
	Err string
	// Unknown, if set, says why the exit status is not known: the task ended
	// while nothing that could observe it watched (a supervisor that adopted
	// it, a node reboot), was lost, or its container was removed behind the
	// agent's back. ExitCode is then -1.
	Unknown string
}

// Successful reports whether the task exited by itself with status 0; an
// unknown exit is no success.
func (r *ExitResult) Successful() bool {
	return r.ExitCode == 0 && r.Signal == 0 && !r.OOMKilled && r.Unknown == ""
}

// Lost returns the exit of a task that ended unobserved, for reason.
func Lost(reason string) *ExitResult { return &ExitResult{ExitCode: -1, Unknown: reason} }

func (r *ExitResult) String() string {
	if r.Unknown != "" {
		return "unknown exit: " + r.Unknown
	}
	s := fmt.Sprintf("exit code %d", r.ExitCode)
	if r.Signal != 0 {
		s += fmt.Sprintf(", signal %d", r.Signal)
	}
	if r.OOMKilled {
		s += ", OOM killed"
	}
	if r.Err != "" {
		s += ": " + r.Err
	}
	return s
}

// TaskStats is one sample of a task's resource usage. Counters are
// cumulative: a rate is the difference of two samples over their times.
type TaskStats struct {
	Time time.Time
	// CPUTotal is the CPU time the task used, user and system.
	CPUTotal time.Duration
	// MemoryRSSBytes is the task's resident memory; MemoryUsageBytes what its
	// limit counts (page cache included), 0 when unknown.
	MemoryRSSBytes   uint64
	MemoryUsageBytes uint64
}

// ExecResult is the outcome of Handle.Exec.
type ExecResult struct {
	Stdout, Stderr []byte
	ExitCode       int
}

// InvalidConfig marks err as a configuration error: the result reads exactly as
// err and satisfies errors.Is with ErrInvalidConfig and ErrUnrecoverable. Nil
// stays nil.
func InvalidConfig(err error) error {
	if err == nil {
		return nil
	}
	return &markedError{err: err, marks: []error{ErrInvalidConfig, ErrUnrecoverable}}
}

// Unrecoverable marks err as a start error retrying cannot fix: the result
// reads exactly as err and satisfies errors.Is(result, ErrUnrecoverable). Nil
// stays nil.
func Unrecoverable(err error) error {
	if err == nil {
		return nil
	}
	return &markedError{err: err, marks: []error{ErrUnrecoverable}}
}

type markedError struct {
	err   error
	marks []error
}

func (e *markedError) Error() string   { return e.err.Error() }
func (e *markedError) Unwrap() []error { return append(append([]error(nil), e.marks...), e.err) }
