package rawexec

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/orch-io/orch/client/driver"
	"github.com/orch-io/orch/client/supervisor"
)

// nonceKey is the TaskHandle.Data key of the run's nonce.
const nonceKey = "nonce"

// handle is one run of a raw_exec task, as the supervisor knows it: the
// supervisor's task ID (<alloc>.<task>) and the run's nonce.
type handle struct {
	sup     *supervisor.Client
	id      string
	nonce   string
	pid     int
	started time.Time
	logger  *slog.Logger
	// env and dir are the task's environment and directory, for exec.
	env []string
	dir string
}

var (
	_ driver.Handle       = (*handle)(nil)
	_ driver.ExecStreamer = (*handle)(nil)
)

// TaskHandle implements driver.Handle.
func (h *handle) TaskHandle() *driver.TaskHandle {
	return &driver.TaskHandle{
		Driver: Name, ID: h.id, StartedAt: h.started.UnixNano(),
		Data: map[string]string{nonceKey: h.nonce},
	}
}

// Wait implements driver.Handle. A run the supervisor no longer knows (its
// record was forgotten) ended unobserved.
func (h *handle) Wait(ctx context.Context) (*driver.ExitResult, error) {
	st, err := h.sup.Wait(ctx, h.id, h.nonce)
	if errors.Is(err, supervisor.ErrNotFound) {
		return driver.Lost("the supervisor no longer knows the task"), nil
	}
	if err != nil {
		return nil, err
	}
	if st.ExitUnknown {
		return driver.Lost(st.Lost), nil
	}
	return &driver.ExitResult{ExitCode: st.ExitCode, Signal: st.Signal}, nil
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

// Signal implements driver.Handle: the signal goes to the task's process
// group.
func (h *handle) Signal(signal string) error {
	if _, err := driver.ParseSignal(signal); err != nil {
		return err
	}
	return h.sup.Signal(context.Background(), h.id, signal)
}

// Destroy implements driver.Handle: a task still running is killed, then the
// supervisor forgets its record.
func (h *handle) Destroy(ctx context.Context) error {
	if h.running() {
		if _, err := h.sup.Stop(ctx, h.id, "SIGKILL", 0); err != nil && !errors.Is(err, supervisor.ErrNotFound) {
			return fmt.Errorf("raw_exec: destroy: %w", err)
		}
	}
	if err := h.sup.Forget(ctx, h.id); err != nil {
		return fmt.Errorf("raw_exec: destroy: %w", err)
	}
	return nil
}

// running reports whether the supervisor last said this run runs.
func (h *handle) running() bool {
	st, ok := h.sup.Task(h.id)
	return ok && st.Nonce == h.nonce && st.State == supervisor.TaskRunning
}

// Stats implements driver.Handle with the main process's /proc/<pid>/stat
// (children it started are not counted).
func (h *handle) Stats(context.Context) (*driver.TaskStats, error) {
	if !h.running() {
		return nil, fmt.Errorf("raw_exec: stats: task exited")
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(h.pid) + "/stat")
	if err != nil {
		return nil, fmt.Errorf("raw_exec: stats: %w", err)
	}
	return parseProcStat(string(b), time.Now())
}

// clockTicks is USER_HZ, which Linux fixes at 100 for user space.
const clockTicks = 100

// parseProcStat reads utime, stime (fields 14 and 15) and rss (field 24, in
// pages) of a /proc/<pid>/stat line.
func parseProcStat(line string, now time.Time) (*driver.TaskStats, error) {
	i := strings.LastIndexByte(line, ')')
	if i < 0 {
		return nil, fmt.Errorf("raw_exec: stats: malformed /proc stat line")
	}
	f := strings.Fields(line[i+1:]) // f[0] is field 3 (state)
	if len(f) < 22 {
		return nil, fmt.Errorf("raw_exec: stats: /proc stat line has %d fields", len(f)+2)
	}
	utime, err1 := strconv.ParseUint(f[11], 10, 64)
	stime, err2 := strconv.ParseUint(f[12], 10, 64)
	rss, err3 := strconv.ParseUint(f[21], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return nil, fmt.Errorf("raw_exec: stats: malformed /proc stat line")
	}
	return &driver.TaskStats{
		Time:           now,
		CPUTotal:       time.Duration(utime+stime) * time.Second / clockTicks,
		MemoryRSSBytes: rss * uint64(syscall.Getpagesize()),
	}, nil
}
