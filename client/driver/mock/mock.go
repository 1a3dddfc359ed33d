package mock

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/orch-io/orch/client/driver"
	"github.com/orch-io/orch/structs"
)

// Name is the driver's name in job files.
const Name = "mock"

// Mock runs mock tasks. Safe for concurrent use.
type Mock struct {
	logger *slog.Logger

	mu struct {
		sync.Mutex
		// tasks are the tasks started and not yet destroyed, by handle ID.
		tasks map[string]*handle
	}
}

var _ driver.Driver = (*Mock)(nil)

// New returns the mock driver.
func New(logger *slog.Logger) *Mock {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	m := &Mock{logger: logger.With("driver", Name)}
	m.mu.tasks = map[string]*handle{}
	return m
}

// Name implements driver.Driver.
func (m *Mock) Name() string { return Name }

// Capabilities implements driver.Driver: the driver's tasks outlive a client
// restarted in the same process, and Exec echoes its command.
func (m *Mock) Capabilities() driver.Capabilities {
	return driver.Capabilities{Reattach: true, Exec: true}
}

// Fingerprint implements driver.Driver: always detected and healthy.
func (m *Mock) Fingerprint(context.Context) *structs.DriverInfo {
	return &structs.DriverInfo{Detected: true, Healthy: true, HealthDescription: "Healthy", UpdateTime: time.Now().UnixNano()}
}

// Running reports how many tasks run now (for tests and simulations).
func (m *Mock) Running() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, h := range m.mu.tasks {
		select {
		case <-h.exit.Done():
		default:
			n++
		}
	}
	return n
}

// Start implements driver.Driver.
func (m *Mock) Start(ctx context.Context, cfg *driver.TaskConfig) (driver.Handle, error) {
	tc, err := parseConfig(cfg.TaskName, cfg.Config)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if tc.StartError != "" {
		err := fmt.Errorf("task %q: %s", cfg.TaskName, tc.StartError)
		if !tc.StartErrorRecoverable {
			err = driver.Unrecoverable(err)
		}
		return nil, err
	}
	h := &handle{
		id:      structs.GenerateUUID(),
		started: time.Now(),
		cfg:     tc,
		stdout:  cfg.StdoutPath,
		stopCh:  make(chan stopRequest, 1),
		exit:    driver.NewExit(),
	}
	h.logger = m.logger.With("alloc_id", cfg.AllocID, "task", cfg.TaskName, "mock_id", h.id)
	m.mu.Lock()
	m.mu.tasks[h.id] = h
	m.mu.Unlock()
	h.remove = func() {
		m.mu.Lock()
		delete(m.mu.tasks, h.id)
		m.mu.Unlock()
	}
	go h.run()
	return h, nil
}

// Recover implements driver.Driver: a task this driver value started is found
// by its ID.
func (m *Mock) Recover(_ context.Context, cfg *driver.TaskConfig, th *driver.TaskHandle) (driver.Handle, error) {
	m.mu.Lock()
	h := m.mu.tasks[th.ID]
	m.mu.Unlock()
	if h == nil {
		return nil, fmt.Errorf("task %q: mock task %s: %w", cfg.TaskName, th.ID, driver.ErrTaskNotFound)
	}
	return h, nil
}

// stopRequest asks a running mock task to exit.
type stopRequest struct {
	signal  syscall.Signal
	timeout time.Duration
}

// handle is one mock task; run is its goroutine.
type handle struct {
	id      string
	started time.Time
	cfg     taskConfig
	stdout  string
	logger  *slog.Logger
	remove  func()
	stopCh  chan stopRequest // capacity 1; the first request counts
	exit    *driver.Exit

	mu struct {
		sync.Mutex
		signals []string
	}
}

var _ driver.Handle = (*handle)(nil)

// run is the task: it prints, waits for its run time or a stop, and exits.
func (h *handle) run() {
	var runFor <-chan time.Time
	if h.cfg.RunFor > 0 {
		t := time.NewTimer(h.cfg.RunFor)
		defer t.Stop()
		runFor = t.C
	}
	printed := 0
	var repeat <-chan time.Time
	if h.cfg.StdoutString != "" {
		h.print()
		printed++
		if h.cfg.StdoutRepeat > 0 {
			tk := time.NewTicker(max(h.cfg.StdoutRepeatDuration, time.Millisecond))
			defer tk.Stop()
			repeat = tk.C
		}
	}
	var res *driver.ExitResult
	for res == nil {
		select {
		case <-repeat:
			h.print()
			if printed++; printed > h.cfg.StdoutRepeat {
				repeat = nil
			}
		case <-runFor:
			res = &driver.ExitResult{ExitCode: h.cfg.ExitCode, Signal: int(h.cfg.ExitSignal)}
			if h.cfg.ExitSignal != 0 && h.cfg.ExitCode == 0 {
				res.ExitCode = 128 + int(h.cfg.ExitSignal)
			}
		case req := <-h.stopCh:
			res = h.stopped(req, runFor)
		}
	}
	h.exit.Set(res)
	h.logger.Debug("mock task exited", "result", res.String())
}

// stopped is how the task ends when asked to stop: after kill_after it honours
// the signal, unless the kill timeout (or its own run time) runs out first.
func (h *handle) stopped(req stopRequest, runFor <-chan time.Time) *driver.ExitResult {
	killed := &driver.ExitResult{Signal: int(syscall.SIGKILL), ExitCode: 128 + int(syscall.SIGKILL)}
	honoured := &driver.ExitResult{Signal: int(req.signal), ExitCode: 128 + int(req.signal)}
	if req.signal == syscall.SIGKILL || req.timeout <= 0 {
		return killed
	}
	if h.cfg.KillAfter >= req.timeout {
		t := time.NewTimer(req.timeout)
		defer t.Stop()
		select {
		case <-t.C:
			return killed
		case <-runFor:
			return &driver.ExitResult{ExitCode: h.cfg.ExitCode, Signal: int(h.cfg.ExitSignal)}
		}
	}
	if h.cfg.KillAfter > 0 {
		t := time.NewTimer(h.cfg.KillAfter)
		defer t.Stop()
		<-t.C
	}
	return honoured
}

func (h *handle) print() {
	if h.stdout == "" {
		return
	}
	f, err := os.OpenFile(h.stdout, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		h.logger.Warn("mock task output", "error", err)
		return
	}
	defer f.Close()
	if _, err := f.WriteString(h.cfg.StdoutString); err != nil {
		h.logger.Warn("mock task output", "error", err)
	}
}

// TaskHandle implements driver.Handle.
func (h *handle) TaskHandle() *driver.TaskHandle {
	return &driver.TaskHandle{Driver: Name, ID: h.id, StartedAt: h.started.UnixNano()}
}

// Wait implements driver.Handle.
func (h *handle) Wait(ctx context.Context) (*driver.ExitResult, error) { return h.exit.Wait(ctx) }

// Stop implements driver.Handle. An unknown signal is reported after the task
// was killed.
func (h *handle) Stop(signal string, timeout time.Duration) error {
	sig, err := driver.ParseSignal(signal)
	if err != nil {
		sig = syscall.SIGKILL
	}
	select {
	case h.stopCh <- stopRequest{signal: sig, timeout: timeout}:
	default: // a stop is already under way
	}
	<-h.exit.Done()
	return err
}

// Signal implements driver.Handle: the signal is recorded (Signals), and
// SIGKILL kills the task.
func (h *handle) Signal(signal string) error {
	sig, err := driver.ParseSignal(signal)
	if err != nil {
		return err
	}
	h.mu.Lock()
	h.mu.signals = append(h.mu.signals, signal)
	h.mu.Unlock()
	if sig == syscall.SIGKILL {
		select {
		case h.stopCh <- stopRequest{signal: sig}:
		default:
		}
	}
	return nil
}

// Signals returns the signals sent to the task so far (tests).
func (h *handle) Signals() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.mu.signals...)
}

// Stats implements driver.Handle: a mock task uses nothing.
func (h *handle) Stats(context.Context) (*driver.TaskStats, error) {
	select {
	case <-h.exit.Done():
		return nil, errors.New("mock: stats: task exited")
	default:
		return &driver.TaskStats{Time: time.Now()}, nil
	}
}

// Exec implements driver.Handle: it prints its command, as echo would.
func (h *handle) Exec(_ context.Context, cmd []string) (*driver.ExecResult, error) {
	if len(cmd) == 0 {
		return nil, errors.New("mock: exec: empty command")
	}
	return &driver.ExecResult{Stdout: []byte(strings.Join(cmd, " ") + "\n")}, nil
}

// Destroy implements driver.Handle: a running task is killed and forgotten.
func (h *handle) Destroy(context.Context) error {
	err := h.Stop("SIGKILL", 0)
	h.remove()
	return err
}
