package driver

import (
	"context"
	"fmt"
	"io"
)

// Interactive exec (orch alloc exec): a command in a running task's context
// whose stdin, stdout and stderr are streams, on a terminal when asked.

// TerminalSize is a terminal's size in characters.
type TerminalSize struct{ Height, Width int }

// ExecOptions is one interactive command.
type ExecOptions struct {
	// Cmd is the command and its arguments, not empty.
	Cmd []string
	// Tty runs the command on a pseudo-terminal of Size: its output then
	// comes on Stdout alone, and input line discipline is the terminal's.
	Tty  bool
	Size TerminalSize
	// Stdin is read until io.EOF, which closes the command's stdin; the
	// driver stops reading it when the command exits (a blocked Read is the
	// caller's to unblock: close the reader).
	Stdin io.Reader
	// Stdout and Stderr receive the command's output; they are written from
	// one goroutine each.
	Stdout, Stderr io.Writer
	// Resize delivers new terminal sizes (Tty only); nil means none come.
	Resize <-chan TerminalSize
}

// ExecStreamer is implemented by handles that run interactive commands.
// Handles without it still serve ExecStreaming through Handle.Exec, with
// no stdin and output once the command has exited.
type ExecStreamer interface {
	// ExecStreaming runs opts.Cmd in the task's context and returns its
	// exit code once it has exited and its output has been written. ctx
	// ending kills the command. An error means the command could not run
	// (not found, the task exited) or its streams failed.
	ExecStreaming(ctx context.Context, opts *ExecOptions) (exitCode int, err error)
}

// ExecStreaming runs opts.Cmd in h's task through the handle's own
// ExecStreamer, or else its Exec (the output is written when the command
// has exited; stdin and a terminal are not available).
func ExecStreaming(ctx context.Context, h Handle, opts *ExecOptions) (int, error) {
	if len(opts.Cmd) == 0 {
		return 0, fmt.Errorf("exec: empty command")
	}
	if s, ok := h.(ExecStreamer); ok {
		return s.ExecStreaming(ctx, opts)
	}
	res, err := h.Exec(ctx, opts.Cmd)
	if err != nil {
		return 0, err
	}
	if _, err := opts.Stdout.Write(res.Stdout); err != nil {
		return 0, err
	}
	if _, err := opts.Stderr.Write(res.Stderr); err != nil {
		return 0, err
	}
	return res.ExitCode, nil
}
