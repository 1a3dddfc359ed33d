package command

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/structs"
	"github.com/urfave/cli/v2"
	"golang.org/x/term"
)

// allocExecCommand is `orch alloc exec`.
func allocExecCommand() *cli.Command {
	return &cli.Command{
		Name:      "exec",
		Usage:     "Run a command in a running task of an allocation",
		UsageText: "orch alloc exec [options] <alloc> <command> [<args>...]",
		Description: `Runs a command in the context of a running task — its directory and
environment, inside its container for docker — with this terminal's input
and output, and exits with the command's exit code. The session goes through
the agent and the servers to the client that runs the allocation (over the
connection the client holds; it needs no inbound port). With ACLs the token
needs alloc-exec in the allocation's namespace.

A group with one task needs no -task. -i (default true) sends this
terminal's input; -t (default: when the input is a terminal) runs the
command on a pseudo-terminal, with this terminal in raw mode and its size
followed.

Examples:
  orch alloc exec 8ba85cef ls -l local
  orch alloc exec -task web -i -t 8ba85cef /bin/sh
  echo hello | orch alloc exec -i -t=false 8ba85cef tr a-z A-Z`,
		Flags: []cli.Flag{
			addressFlag(),
			&cli.StringFlag{Name: "task", Usage: "the task to run the command in (needed when the group has several)"},
			&cli.BoolFlag{Name: "i", Value: true, Usage: "pass this terminal's input to the command"},
			&cli.BoolFlag{Name: "t", Value: isTerminal(os.Stdin), Usage: "run the command on a pseudo-terminal (default: when the input is a terminal)"},
		},
		Action: allocExec,
	}
}

func allocExec(c *cli.Context) error {
	if c.NArg() < 2 {
		return checkArgs(c, 2, 2, "an allocation ID or prefix and a command")
	}
	client, err := apiClient(c)
	if err != nil {
		return err
	}
	id, err := resolveAllocID(client, c.Args().First())
	if err != nil {
		return err
	}
	opts := api.ExecOptions{
		Task: c.String("task"), Command: c.Args().Slice()[1:], Tty: c.Bool("t"),
		Stdout: stdout(c), Stderr: stderr(c),
	}
	if c.Bool("i") {
		opts.Stdin = c.App.Reader
		if opts.Stdin == nil {
			opts.Stdin = os.Stdin
		}
	}
	ctx, cancel := context.WithCancel(c.Context)
	defer cancel()
	if opts.Tty && isTerminal(os.Stdin) {
		restore, sizes, err := rawTerminal(ctx)
		if err != nil {
			return errorf(err, "Error putting the terminal in raw mode")
		}
		defer restore()
		opts.Sizes = sizes
	}
	code, err := client.Allocations().Exec(ctx, id, opts)
	if err != nil {
		return errorf(err, "Error running the command in allocation %s", structs.ShortID(id))
	}
	if code != 0 {
		return exitStatus(code)
	}
	return nil
}

// rawTerminal puts the terminal on stdin in raw mode (the remote terminal
// interprets the keys) and sends its size now and on every SIGWINCH until
// ctx ends. restore puts the terminal back.
func rawTerminal(ctx context.Context) (restore func(), sizes <-chan api.TerminalSize, err error) {
	fd := int(os.Stdin.Fd())
	old, err := term.MakeRaw(fd)
	if err != nil {
		return nil, nil, err
	}
	ch := make(chan api.TerminalSize, 1)
	winch := make(chan os.Signal, 1)
	signal.Notify(winch, syscall.SIGWINCH)
	send := func() {
		w, h, err := term.GetSize(fd)
		if err != nil {
			return
		}
		select {
		case ch <- api.TerminalSize{Height: h, Width: w}:
		case <-ctx.Done():
		}
	}
	go func() {
		send()
		for {
			select {
			case <-winch:
				send()
			case <-ctx.Done():
				return
			}
		}
	}()
	return func() {
		signal.Stop(winch)
		_ = term.Restore(fd, old)
	}, ch, nil
}
