package rawexec

import (
	"context"
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

var _ driver.Driver = (*RawExec)(nil)

// New returns the raw_exec driver running tasks under sup.
func New(logger *slog.Logger, sup *supervisor.Client) *RawExec {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &RawExec{logger: logger.With("driver", Name), sup: sup}
}

// Name implements driver.Driver.
func (d *RawExec) Name() string { return Name }

// Capabilities implements driver.Driver: tasks are the supervisor's, so they
// outlive the agent; commands run in a task's directory and environment
// (exec.go).
func (d *RawExec) Capabilities() driver.Capabilities {
	return driver.Capabilities{Reattach: true, Exec: true}
}

// Fingerprint implements driver.Driver: raw_exec needs nothing but the
// supervisor, so it is always detected and healthy.
func (d *RawExec) Fingerprint(context.Context) *structs.DriverInfo {
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

// Recover implements driver.Driver: the supervisor still has the run of the
// task th names (its ID and nonce), running or exited while the agent was
// away.
func (d *RawExec) Recover(_ context.Context, cfg *driver.TaskConfig, th *driver.TaskHandle) (driver.Handle, error) {
	st, ok := d.sup.Task(th.ID)
	if !ok {
		return nil, fmt.Errorf("task %q: the supervisor has no task %q: %w", cfg.TaskName, th.ID, driver.ErrTaskNotFound)
	}
	if nonce := th.Data[nonceKey]; st.Nonce != nonce {
		return nil, fmt.Errorf("task %q: the supervisor's task %q is run %q, not %q: %w", cfg.TaskName, th.ID, st.Nonce, nonce, driver.ErrTaskNotFound)
	}
	return d.handle(cfg, st), nil
}

func (d *RawExec) handle(cfg *driver.TaskConfig, st *supervisor.TaskStatus) *handle {
	return &handle{
		sup: d.sup, id: st.ID, nonce: st.Nonce, pid: st.PID, started: st.StartedAt,
		logger: d.logger.With("alloc_id", cfg.AllocID, "task", cfg.TaskName, "pid", st.PID),
		env:    cfg.Env, dir: cfg.Dir,
	}
}
