package client

import (
	"context"
	"io"
	"sync"

	"github.com/orch-io/orch/client/driver"
	"github.com/orch-io/orch/internal/rpcwire"
	"github.com/orch-io/orch/structs"
)

// execAlloc serves ClientAlloc.Exec on st: it answers whether the command
// can run (the allocation is here and the task runs), then runs it, turning
// the caller's ExecInput frames into its stdin and terminal sizes and its
// output into ExecOutput frames, the last of which carries the exit code
// or the error. The caller hanging up (its stream ending) cancels ctx,
// which kills the command. Runs on the stream's goroutine.
func (c *Client) execAlloc(ctx context.Context, cancel context.CancelFunc, args *structs.ExecRequest, st *rpcwire.Stream) error {
	e, err := c.runner(args.AllocID)
	if err == nil && len(args.Cmd) == 0 {
		err = structs.NewError(structs.CodeInvalid, "command: must name a command to run")
	}
	if err == nil {
		err = e.ar.CheckExec(args.Task)
	}
	if aerr := st.Answer(err); aerr != nil || err != nil {
		return aerr
	}

	stdinR, stdinW := io.Pipe()
	defer stdinR.Close()
	resize := make(chan driver.TerminalSize, 4)
	go func() { // the caller's frames, until it hangs up
		defer cancel()
		defer stdinW.Close()
		for {
			var in structs.ExecInput
			if err := st.Recv(&in); err != nil {
				return
			}
			if len(in.Stdin) > 0 {
				if _, err := stdinW.Write(in.Stdin); err != nil {
					continue // stdin closed: the command no longer reads
				}
			}
			if in.StdinClose {
				stdinW.Close()
			}
			if in.Height > 0 && in.Width > 0 {
				select {
				case resize <- driver.TerminalSize{Height: in.Height, Width: in.Width}:
				case <-ctx.Done():
					return
				}
			}
		}
	}()

	var sendMu sync.Mutex
	send := func(out *structs.ExecOutput) error {
		sendMu.Lock()
		defer sendMu.Unlock()
		return st.Send(out)
	}
	code, err := e.ar.ExecTaskStreaming(ctx, args.Task, &driver.ExecOptions{
		Cmd: args.Cmd, Tty: args.Tty, Size: driver.TerminalSize{Height: args.Height, Width: args.Width},
		Stdin:  stdinR,
		Stdout: frameWriter(func(p []byte) error { return send(&structs.ExecOutput{Stdout: p}) }),
		Stderr: frameWriter(func(p []byte) error { return send(&structs.ExecOutput{Stderr: p}) }),
		Resize: resize,
	})
	last := &structs.ExecOutput{Exited: true, ExitCode: code}
	if err != nil {
		last = &structs.ExecOutput{Exited: true, Error: err.Error()}
	}
	c.logger.Debug("exec ended", "alloc_id", args.AllocID, "task", args.Task, "exit_code", code, "error", err)
	return send(last)
}

// frameWriter sends each write as one frame (a copy: the frame is encoded
// before Write returns, so the caller may reuse p).
type frameWriter func(p []byte) error

func (w frameWriter) Write(p []byte) (int, error) {
	if err := w(p); err != nil {
		return 0, err
	}
	return len(p), nil
}
