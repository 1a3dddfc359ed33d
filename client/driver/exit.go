package driver

import (
	"context"
	"log/slog"
	"sync"
	"syscall"
	"time"
)

// Exit holds a task's exit for any number of waiters: drivers' handles
// embed its Wait. Set is called once, by the goroutine that saw the exit.
type Exit struct {
	once sync.Once
	done chan struct{}
	res  *ExitResult // written once, before done is closed
}

// NewExit returns an Exit not yet set.
func NewExit() *Exit { return &Exit{done: make(chan struct{})} }

// Set records the exit and wakes the waiters; later calls do nothing.
func (e *Exit) Set(r *ExitResult) {
	e.once.Do(func() {
		e.res = r
		close(e.done)
	})
}

// Done is closed once the exit is set.
func (e *Exit) Done() <-chan struct{} { return e.done }

// Wait implements Handle.Wait: it returns a copy of the exit once set, or
// ctx's error.
func (e *Exit) Wait(ctx context.Context) (*ExitResult, error) {
	select {
	case <-e.done:
		r := *e.res
		return &r, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// StopWithTimeout implements Handle.Stop for drivers that signal their task
// with send: signal, then SIGKILL if the task has not exited (Done) within
// timeout; it returns once the task has exited. An unknown signal name is
// reported after the task was killed with SIGKILL instead.
func StopWithTimeout(e *Exit, signal string, timeout time.Duration, send func(syscall.Signal), logger *slog.Logger) error {
	sig, parseErr := ParseSignal(signal)
	if parseErr != nil {
		sig = syscall.SIGKILL
	}
	send(sig)
	if sig != syscall.SIGKILL {
		t := time.NewTimer(timeout)
		defer t.Stop()
		select {
		case <-e.done:
			return parseErr
		case <-t.C:
			logger.Info("task did not exit within its kill timeout; killing it", "kill_timeout", timeout)
			send(syscall.SIGKILL)
		}
	}
	<-e.done
	return parseErr
}
