package execstream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/creack/pty"
	"github.com/orch-io/orch/client/driver"
	"golang.org/x/sys/unix"
)

// outputGrace bounds how long, after the command exited, its output is
// still read: a background child it left may hold the pipes or terminal.
const outputGrace = time.Second

// Run runs cmd (Path, Args, Env, Dir set; no streams) for opts: its stdin,
// stdout and stderr are opts', on a new pseudo-terminal with opts.Tty. It
// runs in a session (and process group) of its own, with attrs' other
// settings, killed when ctx ends or when it exits (whatever it left behind).
// It returns the exit code (128+signal for a signal) once the command has
// exited and its output was written. name prefixes errors ("raw_exec").
// Called by the drivers' ExecStreaming; cmd is started from the calling
// goroutine (the caller may have locked it to a thread it set up).
func Run(ctx context.Context, name string, cmd *exec.Cmd, attrs *syscall.SysProcAttr, opts *driver.ExecOptions) (int, error) {
	attrs.Setsid = true
	if opts.Tty {
		return runTty(ctx, name, cmd, attrs, opts)
	}
	cmd.SysProcAttr = attrs
	cmd.Stdout, cmd.Stderr = opts.Stdout, opts.Stderr
	cmd.WaitDelay = outputGrace
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return 0, fmt.Errorf("%s: exec: %w", name, err)
	}
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("%s: exec %q: %w", name, opts.Cmd[0], err)
	}
	go func() {
		_, _ = io.Copy(stdin, opts.Stdin)
		stdin.Close()
	}()
	stop := killGroupOnDone(ctx, cmd.Process.Pid)
	defer stop()
	err = cmd.Wait()
	killGroup(cmd.Process.Pid)
	return exitCode(ctx, name, cmd, err)
}

// Collect runs cmd through streaming with no stdin and returns its output,
// each stream bounded to OutputLimit (script checks, Handle.Exec).
func Collect(ctx context.Context, cmd []string, streaming func(context.Context, *driver.ExecOptions) (int, error)) (*driver.ExecResult, error) {
	var out, errOut limitedBuffer
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return nil, err
	}
	defer devnull.Close()
	code, err := streaming(ctx, &driver.ExecOptions{Cmd: cmd, Stdin: devnull, Stdout: &out, Stderr: &errOut})
	if err != nil {
		return nil, err
	}
	return &driver.ExecResult{Stdout: out.b, Stderr: errOut.b, ExitCode: code}, nil
}

// runTty runs cmd on a new pseudo-terminal, its controlling terminal.
func runTty(ctx context.Context, name string, cmd *exec.Cmd, attrs *syscall.SysProcAttr, opts *driver.ExecOptions) (int, error) {
	attrs.Setctty = true // Ctty 0: the terminal is the command's stdin
	ptmx, tty, err := openPty()
	if err != nil {
		return 0, fmt.Errorf("%s: exec: %w", name, err)
	}
	setSize(ptmx, opts.Size)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	cmd.SysProcAttr = attrs
	err = cmd.Start()
	tty.Close()
	if err != nil {
		ptmx.Close()
		return 0, fmt.Errorf("%s: exec %q: %w", name, opts.Cmd[0], err)
	}
	defer ptmx.Close()
	stop := killGroupOnDone(ctx, cmd.Process.Pid)
	defer stop()
	exited := make(chan struct{})
	resized := make(chan struct{})
	defer func() { close(exited); <-resized }() // before ptmx.Close
	go func() {
		_, _ = io.Copy(ptmx, opts.Stdin)
		// End of input on a terminal is ^D, as a user would type it.
		_, _ = ptmx.Write([]byte{4})
	}()
	go func() {
		defer close(resized)
		for {
			select {
			case sz, ok := <-opts.Resize:
				if !ok {
					<-exited
					return
				}
				setSize(ptmx, sz)
			case <-exited:
				return
			}
		}
	}()
	copied := make(chan error, 1)
	go func() {
		_, err := io.Copy(opts.Stdout, ptmx)
		copied <- err
	}()
	werr := cmd.Wait()
	killGroup(cmd.Process.Pid)
	// The terminal reads EIO once no process holds it; a leftover child
	// that does is cut off after outputGrace.
	t := time.NewTimer(outputGrace)
	defer t.Stop()
	select {
	case <-copied:
	case <-t.C:
		ptmx.Close()
		<-copied
	}
	return exitCode(ctx, name, cmd, werr)
}

// openPty opens a new pseudo-terminal: its master side non-blocking (so
// that closing it ends a Read: creack/pty leaves it blocking) and its
// terminal side.
func openPty() (ptmx, tty *os.File, err error) {
	p, t, err := pty.Open()
	if err != nil {
		return nil, nil, err
	}
	defer p.Close()
	fd, err := unix.FcntlInt(p.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	if err == nil {
		err = unix.SetNonblock(fd, true)
	}
	if err != nil {
		t.Close()
		if fd > 0 {
			unix.Close(fd)
		}
		return nil, nil, err
	}
	return os.NewFile(uintptr(fd), p.Name()), t, nil
}

// setSize sets the size of the terminal f. It does not use f.Fd, which
// would make f blocking (a Close would no longer end a Read).
func setSize(f *os.File, sz driver.TerminalSize) {
	if sz.Height <= 0 || sz.Width <= 0 || sz.Height > 0xffff || sz.Width > 0xffff {
		return
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Control(func(fd uintptr) {
		_ = unix.IoctlSetWinsize(int(fd), unix.TIOCSWINSZ, &unix.Winsize{Row: uint16(sz.Height), Col: uint16(sz.Width)})
	})
}

// killGroupOnDone kills the process group pgid when ctx ends; the returned
// function stops that.
func killGroupOnDone(ctx context.Context, pgid int) func() bool {
	return context.AfterFunc(ctx, func() { killGroup(pgid) })
}

func killGroup(pgid int) { _ = syscall.Kill(-pgid, syscall.SIGKILL) }

// exitCode reads the exit status of cmd after Wait returned err: a shell's
// 128+signal for a command a signal ended.
func exitCode(ctx context.Context, name string, cmd *exec.Cmd, err error) (int, error) {
	st := cmd.ProcessState
	if st == nil {
		return 0, fmt.Errorf("%s: exec: %w", name, err)
	}
	if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		if ctx.Err() != nil {
			return 0, fmt.Errorf("%s: exec: %w", name, ctx.Err())
		}
		return 128 + int(ws.Signal()), nil
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) && !errors.Is(err, exec.ErrWaitDelay) {
		return st.ExitCode(), fmt.Errorf("%s: exec: %w", name, err)
	}
	return st.ExitCode(), nil
}

// OutputLimit bounds what Collect keeps of each stream.
const OutputLimit = 64 << 10

// limitedBuffer keeps the first OutputLimit bytes written to it and
// drops the rest (the command never blocks on a full pipe).
type limitedBuffer struct{ b []byte }

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := OutputLimit - len(l.b); room > 0 {
		l.b = append(l.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}
