package mock

import (
	"syscall"
	"time"

	"github.com/orch-io/orch/client/driver"
)

// taskConfig is a mock task's config block.
type taskConfig struct {
	// RunFor is how long the task runs before exiting by itself; 0 runs it
	// until it is stopped.
	RunFor time.Duration
	// ExitCode and ExitSignal are how it exits after RunFor.
	ExitCode   int
	ExitSignal syscall.Signal
	// StartError, when set, makes Start fail with it; StartErrorRecoverable
	// says whether the task runner may retry.
	StartError            string
	StartErrorRecoverable bool
	// KillAfter is how long the task takes to exit once asked to stop (never
	// longer than the kill timeout).
	KillAfter time.Duration
	// StdoutString is written StdoutRepeat+1 times, StdoutRepeatDuration
	// apart.
	StdoutString         string
	StdoutRepeat         int
	StdoutRepeatDuration time.Duration
}

// parseConfig reads a task's config block, reporting every problem at once
// (wrapping driver.ErrInvalidConfig).
func parseConfig(task string, cfg map[string]any) (taskConfig, error) {
	r := driver.NewConfigReader(Name, task, cfg)
	tc := taskConfig{
		RunFor:                r.Duration("run_for"),
		ExitCode:              r.Int("exit_code"),
		ExitSignal:            r.Signal("exit_signal"),
		StartError:            r.String("start_error", false),
		StartErrorRecoverable: r.Bool("start_error_recoverable"),
		KillAfter:             r.Duration("kill_after"),
		StdoutString:          r.String("stdout_string", false),
		StdoutRepeat:          r.Int("stdout_repeat"),
		StdoutRepeatDuration:  r.Duration("stdout_repeat_duration"),
	}
	if tc.StdoutRepeat < 0 {
		r.Fail("stdout_repeat", "%d: must be >= 0", tc.StdoutRepeat)
	}
	return tc, r.Err()
}
