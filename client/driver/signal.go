package driver

import (
	"fmt"
	"strings"
	"syscall"
)

// signalsByName are the signals a task's kill_signal may name. SIGSTOP and
// friends are left out on purpose: they pause a process instead of asking it to
// end, so a kill_signal naming them would always run into the kill timeout.
var signalsByName = map[string]syscall.Signal{
	"SIGABRT":  syscall.SIGABRT,
	"SIGALRM":  syscall.SIGALRM,
	"SIGHUP":   syscall.SIGHUP,
	"SIGINT":   syscall.SIGINT,
	"SIGKILL":  syscall.SIGKILL,
	"SIGPIPE":  syscall.SIGPIPE,
	"SIGQUIT":  syscall.SIGQUIT,
	"SIGTERM":  syscall.SIGTERM,
	"SIGUSR1":  syscall.SIGUSR1,
	"SIGUSR2":  syscall.SIGUSR2,
	"SIGWINCH": syscall.SIGWINCH,
}

// ParseSignal returns the signal named name: "SIGTERM", "sigterm" or "TERM".
func ParseSignal(name string) (syscall.Signal, error) {
	n := strings.ToUpper(strings.TrimSpace(name))
	if !strings.HasPrefix(n, "SIG") {
		n = "SIG" + n
	}
	if sig, ok := signalsByName[n]; ok {
		return sig, nil
	}
	return 0, fmt.Errorf("kill_signal %q: not a known signal (use one of SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGKILL, SIGUSR1, SIGUSR2, ...)", name)
}
