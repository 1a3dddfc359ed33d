package driver

import (
	"syscall"
	"testing"
)

func TestParseSignal(t *testing.T) {
	good := map[string]syscall.Signal{
		"SIGINT": syscall.SIGINT, "sigterm": syscall.SIGTERM, "HUP": syscall.SIGHUP,
		"SIGKILL": syscall.SIGKILL, "SIGUSR1": syscall.SIGUSR1, " SIGUSR2 ": syscall.SIGUSR2,
	}
	for name, want := range good {
		got, err := ParseSignal(name)
		if err != nil || got != want {
			t.Errorf("ParseSignal(%q) = %v, %v; want %v", name, got, err, want)
		}
	}
	for _, name := range []string{"", "SIG", "SIGFOO", "SIGSTOP", "9"} {
		if _, err := ParseSignal(name); err == nil {
			t.Errorf("ParseSignal(%q): want an error", name)
		}
	}
}
