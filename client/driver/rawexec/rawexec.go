package rawexec

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/orch-io/orch/client/driver"
	"github.com/orch-io/orch/client/supervisor"
	"github.com/orch-io/orch/structs"
)

// Name is the driver's name in job files.
const Name = "raw_exec"

// RawExec runs tasks as plain processes, children of the node's supervisor.
// It holds no state of its own: the supervisor keeps the tasks. Safe for
// concurrent use.
type RawExec struct {
	logger *slog.Logger
	sup    *supervisor.Client
}

var (
	_ driver.Driver    = (*RawExec)(nil)
	_ driver.Recoverer = (*RawExec)(nil)
	_ driver.Signaler  = (*handle)(nil)
)

// New returns the raw_exec driver running tasks under sup.
func New(logger *slog.Logger, sup *supervisor.Client) *RawExec {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &RawExec{logger: logger.With("driver", Name), sup: sup}
}

// Name implements driver.Driver.
func (d *RawExec) Name() string { return Name }

// Fingerprint implements driver.Driver: raw_exec needs nothing but the
// supervisor, so it is always detected and healthy.
func (d *RawExec) Fingerprint() *structs.DriverInfo {
	return &structs.DriverInfo{
		Detected:          true,
		Healthy:           true,
		HealthDescription: "Healthy",
		UpdateTime:        time.Now().UnixNano(),
	}
}

// taskID names a task to the supervisor. Alloc IDs and task names hold no
// '/' (the alloc runner checks), so it is a valid record name.
func taskID(cfg *driver.TaskConfig) string { return cfg.AllocID + "." + cfg.TaskName }

// Start implements driver.Driver. The command is looked up in the agent's PATH
// when it has no slash, and taken relative to the task directory when it is a
// relative path.
func (d *RawExec) Start(ctx context.Context, cfg *driver.TaskConfig) (driver.Handle, error) {
	tc, err := parseConfig(cfg.TaskName, cfg.Config)
	if err != nil {
		return nil, err
	}
	path, err := resolveCommand(tc.Command, cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("task %q: start %q: %w", cfg.TaskName, tc.Command, err)
	}
	logs := cfg.Logs
	if logs == nil {
		logs = structs.DefaultLogConfig()
	}
	env := cfg.Env
	if env == nil {
		env = []string{}
	}
	spec := &supervisor.TaskSpec{
		ID:    taskID(cfg),
		Nonce: structs.GenerateUUID(),
		Path:  path,
		Args:  append([]string{tc.Command}, tc.Args...),
		Env:   env,
		Dir:   cfg.Dir,
		Logs: supervisor.LogSpec{
			Dir: filepath.Dir(cfg.StdoutPath), Name: cfg.TaskName,
			MaxFiles: logs.MaxFiles, MaxFileSizeMB: logs.MaxFileSizeMB, Disabled: logs.Disabled,
		},
	}
	st, err := d.sup.Start(ctx, spec)
	if err != nil {
		return nil, fmt.Errorf("task %q: %w", cfg.TaskName, err)
	}
	h := d.handle(cfg, st)
	h.logger.Debug("task started", "command", path)
	return h, nil
}

func resolveCommand(command, dir string) (string, error) {
	switch {
	case filepath.IsAbs(command):
		return command, nil
	case strings.Contains(command, "/"):
		return filepath.Join(dir, command), nil
	}
	return exec.LookPath(command)
}

// Recover implements driver.Recoverer: the supervisor still has the task, or
// knows how it ended.
func (d *RawExec) Recover(ctx context.Context, cfg *driver.TaskConfig) (driver.Handle, error) {
	st, ok := d.sup.Task(taskID(cfg))
	if !ok {
		return nil, fmt.Errorf("task %q: %w", cfg.TaskName, driver.ErrTaskNotFound)
	}
	return d.handle(cfg, st), nil
}

// Forget implements driver.Recoverer.
func (d *RawExec) Forget(ctx context.Context, cfg *driver.TaskConfig) error {
	return d.sup.Forget(ctx, taskID(cfg))
}

func (d *RawExec) handle(cfg *driver.TaskConfig, st *supervisor.TaskStatus) *handle {
	return &handle{
		sup: d.sup, id: st.ID, nonce: st.Nonce, pid: st.PID,
		logger: d.logger.With("alloc_id", cfg.AllocID, "task", cfg.TaskName, "pid", st.PID),
	}
}

// handle is one run of a raw_exec task, as the supervisor knows it.
type handle struct {
	sup    *supervisor.Client
	id     string
	nonce  string
	pid    int
	logger *slog.Logger
}

func (h *handle) Pid() int { return h.pid }

// Wait implements driver.Handle.
func (h *handle) Wait(ctx context.Context) (*driver.ExitResult, error) {
	st, err := h.sup.Wait(ctx, h.id, h.nonce)
	if err != nil {
		if errors.Is(err, supervisor.ErrNotFound) {
			return &driver.ExitResult{ExitCode: -1, Unknown: "the supervisor no longer knows the task"}, nil
		}
		return nil, err
	}
	return exitResult(st), nil
}

func exitResult(st *supervisor.TaskStatus) *driver.ExitResult {
	if st.ExitUnknown {
		return &driver.ExitResult{ExitCode: -1, Unknown: st.Lost}
	}
	return &driver.ExitResult{ExitCode: st.ExitCode, Signal: st.Signal}
}

// Stop implements driver.Handle. An unknown signal name is reported, after the
// task has been killed with SIGKILL instead.
func (h *handle) Stop(signal string, timeout time.Duration) error {
	_, parseErr := driver.ParseSignal(signal)
	if parseErr != nil {
		signal = "SIGKILL"
	}
	// The supervisor client retries across reconnections by itself.
	_, err := h.sup.Stop(context.Background(), h.id, signal, timeout)
	if errors.Is(err, supervisor.ErrNotFound) {
		err = nil // forgotten: it had exited
	}
	return errors.Join(parseErr, err)
}

// Signal implements driver.Signaler.
func (h *handle) Signal(signal string) error {
	if _, err := driver.ParseSignal(signal); err != nil {
		return err
	}
	return h.sup.Signal(context.Background(), h.id, signal)
}
