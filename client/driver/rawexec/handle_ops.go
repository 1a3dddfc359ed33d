package rawexec

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/orch-io/orch/client/driver"
)

// Capabilities implements driver.Driver: tasks are children of the agent and
// die with it, so they cannot be reattached (the supervisor of DESIGN.md
// changes that).
func (d *RawExec) Capabilities() driver.Capabilities { return driver.Capabilities{} }

// Recover implements driver.Driver: there is never anything to reattach to.
func (d *RawExec) Recover(_ context.Context, cfg *driver.TaskConfig, _ *driver.TaskHandle) (driver.Handle, error) {
	return nil, fmt.Errorf("task %q: raw_exec tasks do not outlive the agent: %w", cfg.TaskName, driver.ErrTaskNotFound)
}

// TaskHandle implements driver.Handle.
func (h *handle) TaskHandle() *driver.TaskHandle {
	return &driver.TaskHandle{Driver: Name, ID: strconv.Itoa(h.pid), StartedAt: h.started.UnixNano()}
}

// Signal implements driver.Handle: the signal goes to the task's process group.
func (h *handle) Signal(signal string) error {
	sig, err := driver.ParseSignal(signal)
	if err != nil {
		return err
	}
	h.signal(sig)
	return nil
}

// Exec implements driver.Handle: raw_exec has no context to run commands in.
func (h *handle) Exec(context.Context, []string) (*driver.ExecResult, error) {
	return nil, fmt.Errorf("raw_exec: exec: %w", driver.ErrNotSupported)
}

// Destroy implements driver.Handle: a task still running is killed; raw_exec
// keeps nothing else.
func (h *handle) Destroy(context.Context) error {
	return h.Stop("SIGKILL", 0)
}

// Stats implements driver.Handle with the main process's /proc/<pid>/stat
// (children it started are not counted).
func (h *handle) Stats(context.Context) (*driver.TaskStats, error) {
	h.mu.Lock()
	reaped := h.mu.reaped
	h.mu.Unlock()
	if reaped {
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
