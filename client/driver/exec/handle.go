package exec

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/orch-io/orch/client/driver"
	"github.com/orch-io/orch/client/supervisor"
)

// nonceKey is the TaskHandle.Data key of the run's nonce.
const nonceKey = "nonce"

// handle is one run of an exec task: the supervisor's task (<alloc>.<task>)
// and run (nonce), and its cgroup.
type handle struct {
	sup     *supervisor.Client
	id      string
	nonce   string
	pid     int
	started time.Time
	cg      cgroup
	limits  limits
	logger  *slog.Logger
	// env and cred are the task's environment and user, for exec into it
	// (enter.go); cred is nil when the user could not be looked up.
	env  []string
	cred *credential

	// oom is read once the task exited, before Destroy removes the cgroup.
	oomOnce sync.Once
	oom     bool
}

var _ driver.Handle = (*handle)(nil)

// TaskHandle implements driver.Handle.
func (h *handle) TaskHandle() *driver.TaskHandle {
	return &driver.TaskHandle{
		Driver: Name, ID: h.id, StartedAt: h.started.UnixNano(),
		Data: map[string]string{nonceKey: h.nonce},
	}
}

// Wait implements driver.Handle. An exit after the kernel killed a process
// of the task for its memory is OOMKilled, with the limit.
func (h *handle) Wait(ctx context.Context) (*driver.ExitResult, error) {
	st, err := h.sup.Wait(ctx, h.id, h.nonce)
	if errors.Is(err, supervisor.ErrNotFound) {
		return driver.Lost("the supervisor no longer knows the task"), nil
	}
	if err != nil {
		return nil, err
	}
	h.oomOnce.Do(func() {
		n, err := h.cg.oomKills()
		h.oom = err == nil && n > 0
	})
	if st.ExitUnknown {
		return driver.Lost(st.Lost), nil
	}
	res := &driver.ExitResult{ExitCode: st.ExitCode, Signal: st.Signal, OOMKilled: h.oom}
	if h.oom {
		res.Err = fmt.Sprintf("memory limit of %d MiB exceeded", h.limits.hardMemory()>>20)
	}
	return res, nil
}

// Stop implements driver.Handle. The task is PID 1 of its namespace: the
// kernel delivers it only signals it handles, so a task that ignores its
// kill_signal is killed after kill_timeout. An unknown signal name is
// reported after the task was killed with SIGKILL instead.
func (h *handle) Stop(signal string, timeout time.Duration) error {
	_, parseErr := driver.ParseSignal(signal)
	if parseErr != nil {
		signal = "SIGKILL"
	}
	_, err := h.sup.Stop(context.Background(), h.id, signal, timeout)
	if errors.Is(err, supervisor.ErrNotFound) {
		err = nil
	}
	return errors.Join(parseErr, err)
}

// Signal implements driver.Handle.
func (h *handle) Signal(signal string) error {
	if _, err := driver.ParseSignal(signal); err != nil {
		return err
	}
	return h.sup.Signal(context.Background(), h.id, signal)
}

// Stats implements driver.Handle from the task's cgroup: every process of
// the task counts.
func (h *handle) Stats(context.Context) (*driver.TaskStats, error) {
	if !h.running() {
		return nil, errors.New("exec: stats: task exited")
	}
	s, err := h.cg.stats()
	if err != nil {
		return nil, fmt.Errorf("exec: %w", err)
	}
	return &driver.TaskStats{Time: time.Now(), CPUTotal: s.CPUTotal, MemoryRSSBytes: s.MemoryRSS, MemoryUsageBytes: s.MemoryUsage}, nil
}

// Destroy implements driver.Handle: a task still running is killed, the
// supervisor forgets it and its cgroup goes (with anything left in it). Its
// mounts were in its own mount namespace, gone with its last process.
func (h *handle) Destroy(ctx context.Context) error {
	if h.running() {
		if _, err := h.sup.Stop(ctx, h.id, "SIGKILL", 0); err != nil && !errors.Is(err, supervisor.ErrNotFound) {
			return fmt.Errorf("exec: destroy: %w", err)
		}
	}
	if err := h.sup.Forget(ctx, h.id); err != nil {
		return fmt.Errorf("exec: destroy: %w", err)
	}
	if err := h.cg.destroy(); err != nil {
		return fmt.Errorf("exec: destroy: %w", err)
	}
	return nil
}

func (h *handle) running() bool {
	st, ok := h.sup.Task(h.id)
	return ok && st.Nonce == h.nonce && st.State == supervisor.TaskRunning
}
