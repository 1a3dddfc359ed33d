package rawexec

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"github.com/orch-io/orch/client/driver"
	"github.com/orch-io/orch/structs"
)

// Name is the driver's name in job files.
const Name = "raw_exec"

// RawExec runs tasks as plain processes. It holds no state of its own: each
// started task is a handle. Safe for concurrent use.
type RawExec struct {
	logger *slog.Logger
}

var _ driver.Driver = (*RawExec)(nil)

// New returns the raw_exec driver.
func New(logger *slog.Logger) *RawExec {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &RawExec{logger: logger.With("driver", Name)}
}

// Name implements driver.Driver.
func (d *RawExec) Name() string { return Name }

// Fingerprint implements driver.Driver: raw_exec needs nothing but fork and
// exec, so it is always detected and healthy.
func (d *RawExec) Fingerprint(context.Context) *structs.DriverInfo {
	return &structs.DriverInfo{
		Detected:          true,
		Healthy:           true,
		HealthDescription: "Healthy",
		UpdateTime:        time.Now().UnixNano(),
	}
}

// Start implements driver.Driver. The command is looked up in the agent's PATH
// when it has no slash, and taken relative to the task directory when it is a
// relative path.
func (d *RawExec) Start(ctx context.Context, cfg *driver.TaskConfig) (driver.Handle, error) {
	tc, err := parseConfig(cfg.TaskName, cfg.Config)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	stdout, err := openLog(cfg.StdoutPath)
	if err != nil {
		return nil, err
	}
	defer stdout.Close() // the child holds its own descriptor once started
	stderr, err := openLog(cfg.StderrPath)
	if err != nil {
		return nil, err
	}
	defer stderr.Close()

	cmd := exec.Command(tc.Command, tc.Args...)
	cmd.Dir = cfg.Dir
	cmd.Env = cfg.Env
	if cmd.Env == nil {
		cmd.Env = []string{}
	}
	cmd.Stdout = stdout
	cmd.Stderr = stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{
		// Own process group: stopping the task signals everything it started.
		Setpgid: true,
		// Tasks do not outlive the agent yet: should the agent die without
		// stopping them, a restarted agent would start them a second time.
		// (Linux sends it when the forking OS thread exits, which Go does only
		// for goroutines that exit locked to their thread; the agent has none.
		// The supervisor of DESIGN.md replaces this.)
		Pdeathsig: syscall.SIGKILL,
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("task %q: start %q: %w", cfg.TaskName, tc.Command, err)
	}

	h := &handle{
		cmd:     cmd,
		pid:     cmd.Process.Pid,
		started: time.Now(),
		done:    make(chan struct{}),
		logger:  d.logger.With("alloc_id", cfg.AllocID, "task", cfg.TaskName, "pid", cmd.Process.Pid),
	}
	go h.reap()
	h.logger.Debug("task started", "command", tc.Command)
	return h, nil
}

func openLog(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open task log: %w", err)
	}
	return f, nil
}

// handle is one running raw_exec task. The process group ID is the main
// process's PID (Setpgid).
type handle struct {
	cmd     *exec.Cmd
	pid     int
	started time.Time
	logger  *slog.Logger
	done    chan struct{} // closed once the main process is reaped

	mu struct {
		sync.Mutex
		// reaped is set, under mu, just before the main process is reaped: from
		// then on its PID may be reused, so nothing may signal the group.
		reaped bool
		result *driver.ExitResult
	}
}

var _ driver.Handle = (*handle)(nil)

func (h *handle) Pid() int { return h.pid }

// reap runs on its own goroutine for the life of the task. It waits for the
// main process to exit without reaping it (the zombie keeps the PID, and with it
// the process group ID, from being reused), kills what is left of the group, and
// only then reaps.
func (h *handle) reap() {
	if err := waitExitedNoReap(h.pid); err != nil {
		h.logger.Warn("waiting for task exit", "error", err)
	}

	h.mu.Lock()
	killGroup(h.pid, syscall.SIGKILL)
	h.mu.reaped = true
	h.mu.Unlock()

	err := h.cmd.Wait()
	res := &driver.ExitResult{}
	if ws, ok := h.cmd.ProcessState.Sys().(syscall.WaitStatus); ok {
		if ws.Signaled() {
			res.Signal = int(ws.Signal())
			res.ExitCode = 128 + res.Signal
		} else {
			res.ExitCode = ws.ExitStatus()
		}
	} else if err != nil {
		res.ExitCode = -1
	}

	h.mu.Lock()
	h.mu.result = res
	h.mu.Unlock()
	close(h.done)
	h.logger.Debug("task exited", "exit_code", res.ExitCode, "signal", res.Signal)
}

// Wait implements driver.Handle.
func (h *handle) Wait(ctx context.Context) (*driver.ExitResult, error) {
	select {
	case <-h.done:
		h.mu.Lock()
		defer h.mu.Unlock()
		r := *h.mu.result
		return &r, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Stop implements driver.Handle. An unknown signal name is reported, after the
// task has been killed with SIGKILL instead.
func (h *handle) Stop(signal string, timeout time.Duration) error {
	sig, parseErr := driver.ParseSignal(signal)
	if parseErr != nil {
		sig = syscall.SIGKILL
	}
	h.signal(sig)

	if sig != syscall.SIGKILL {
		t := time.NewTimer(timeout)
		defer t.Stop()
		select {
		case <-h.done:
			return parseErr
		case <-t.C:
			h.logger.Info("task did not exit within its kill timeout; killing it", "kill_timeout", timeout)
			h.signal(syscall.SIGKILL)
		}
	}
	<-h.done
	return parseErr
}

// signal sends sig to the task's process group, unless the main process is
// already being reaped (then the group has been killed).
func (h *handle) signal(sig syscall.Signal) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.mu.reaped {
		return
	}
	killGroup(h.pid, sig)
}

func killGroup(pgid int, sig syscall.Signal) {
	// ESRCH: the group is already empty.
	_ = syscall.Kill(-pgid, sig)
}

// waitExitedNoReap blocks until process pid has exited, leaving it a zombie
// (waitid with WNOWAIT), so that its PID stays reserved.
func waitExitedNoReap(pid int) error {
	const (
		pPID    = 1          // P_PID
		wNoWait = 0x01000000 // WNOWAIT
	)
	var info [128]byte // siginfo_t
	for {
		_, _, errno := syscall.Syscall6(syscall.SYS_WAITID, pPID, uintptr(pid),
			uintptr(unsafe.Pointer(&info[0])), syscall.WEXITED|wNoWait, 0, 0)
		switch {
		case errno == 0:
			return nil
		case errors.Is(errno, syscall.EINTR):
			continue
		default:
			return fmt.Errorf("waitid %d: %w", pid, errno)
		}
	}
}
