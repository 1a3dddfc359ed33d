package rawexec

import (
	"bytes"
	"context"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orch-io/orch/client/driver"
)

// syncBuffer is a bytes.Buffer safe to write from one goroutine while
// another reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startSleeper starts a task that runs until the test ends.
func startSleeper(t *testing.T) (driver.Handle, *driver.TaskConfig) {
	t.Helper()
	cfg := shTask(t, `exec sleep 1000`)
	h, err := newDriver(t).Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Destroy(context.Background()) })
	return h, cfg
}

func execStreaming(t *testing.T, h driver.Handle, opts *driver.ExecOptions) (int, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return driver.ExecStreaming(ctx, h, opts)
}

// The command runs in the task's directory with its environment; stdout,
// stderr and the exit code come back apart.
func TestExecStreamingOutputAndExitCode(t *testing.T) {
	h, cfg := startSleeper(t)
	var out, errOut syncBuffer
	code, err := execStreaming(t, h, &driver.ExecOptions{
		Cmd:   []string{"/bin/sh", "-c", `pwd; echo "$GREETING"; echo oops >&2; exit 3`},
		Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut,
	})
	if err != nil || code != 3 {
		t.Fatalf("exec = %d, %v; want exit code 3", code, err)
	}
	if want := cfg.Dir + "\nhi\n"; out.String() != want {
		t.Errorf("stdout = %q, want %q", out.String(), want)
	}
	if errOut.String() != "oops\n" {
		t.Errorf("stderr = %q, want %q", errOut.String(), "oops\n")
	}
}

// Stdin reaches the command, and its close ends the command's input.
func TestExecStreamingStdin(t *testing.T) {
	h, _ := startSleeper(t)
	var out syncBuffer
	code, err := execStreaming(t, h, &driver.ExecOptions{
		Cmd:   []string{"tr", "a-z", "A-Z"},
		Stdin: strings.NewReader("hello\n"), Stdout: &out, Stderr: io.Discard,
	})
	if err != nil || code != 0 || out.String() != "HELLO\n" {
		t.Fatalf("exec = %d, %v, stdout %q; want 0 and HELLO", code, err, out.String())
	}
}

// With a terminal, the command sees one (of the size asked for, resized on
// request: the command waits to see the new size), and its output comes on
// stdout.
func TestExecStreamingTty(t *testing.T) {
	h, _ := startSleeper(t)
	stdinR, stdinW := io.Pipe()
	resize := make(chan driver.TerminalSize, 1)
	var out syncBuffer
	done := make(chan struct{})
	var code int
	var err error
	go func() {
		defer close(done)
		code, err = execStreaming(t, h, &driver.ExecOptions{
			Cmd: []string{"/bin/sh", "-c", `test -t 0 && test -t 1 && echo tty; stty size; read line; while [ "$(stty size)" != "50 132" ]; do sleep 0.02; done; echo "resized, got $line"; exit 5`},
			Tty: true, Size: driver.TerminalSize{Height: 24, Width: 80},
			Stdin: stdinR, Stdout: &out, Stderr: io.Discard, Resize: resize,
		})
	}()
	waitFor(t, "the first size", func() bool { return strings.Contains(out.String(), "24 80") })
	resize <- driver.TerminalSize{Height: 50, Width: 132}
	if _, err := stdinW.Write([]byte("hello\n")); err != nil {
		t.Fatal(err)
	}
	<-done
	stdinW.Close()
	if err != nil || code != 5 {
		t.Fatalf("exec = %d, %v; want 5 (output %q)", code, err, out.String())
	}
	s := out.String()
	if !strings.Contains(s, "tty") || !strings.Contains(s, "resized, got hello") {
		t.Errorf("output %q: want a terminal and the line read", s)
	}
	if !strings.Contains(s, "\r\n") {
		t.Errorf("output %q: want a terminal's CRLF line endings", s)
	}
}

// ctx ending kills the command and everything it started.
func TestExecStreamingCancelKills(t *testing.T) {
	h, _ := startSleeper(t)
	stdinR, stdinW := io.Pipe()
	defer stdinW.Close()
	var out syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := driver.ExecStreaming(ctx, h, &driver.ExecOptions{
			Cmd:   []string{"/bin/sh", "-c", `echo started; sleep 1000`},
			Stdin: stdinR, Stdout: &out, Stderr: io.Discard,
		})
		done <- err
	}()
	waitFor(t, "the command to start", func() bool { return out.String() == "started\n" })
	cancel()
	select {
	case err := <-done:
		if err == nil {
			t.Error("a cancelled exec reported success")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the exec did not end after its context")
	}
}

func TestExecStreamingCommandNotFound(t *testing.T) {
	h, _ := startSleeper(t)
	_, err := execStreaming(t, h, &driver.ExecOptions{Cmd: []string{"no-such-command-xyz"}, Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: io.Discard})
	if err == nil || !strings.Contains(err.Error(), "no-such-command-xyz") {
		t.Errorf("exec of a missing command: %v, want an error naming it", err)
	}
}
