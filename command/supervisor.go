package command

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/orch-io/orch/client/supervisor"
)

// supervisorCommand is `orch supervisor`, hidden: the node's process
// supervisor, which the client agent starts itself (see package
// client/supervisor). It runs until SIGTERM or SIGINT, or until the agent asks
// it to exit; its tasks run on either way.
func supervisorCommand() *cli.Command {
	return &cli.Command{
		Name:   "supervisor",
		Usage:  "Run the node's task supervisor (started by the client agent)",
		Hidden: true,
		Description: "The client agent starts the supervisor itself, in a session of its own, and\n" +
			"re-attaches to it after a restart; run by hand only to debug.\n\nExample:\n   orch supervisor -dir /var/lib/orch/supervisor",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "dir", Usage: "the supervisor's `DIR` (<data_dir>/supervisor)", Required: true},
			&cli.StringFlag{Name: "log-level", Value: "info", Usage: "`LEVEL`: debug, info, warn, error"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageErrorf(c, "orch supervisor takes no arguments, got %q", c.Args().Slice())
			}
			logger, err := newLogger(c.String("log-level"))
			if err != nil {
				return err
			}
			// The agent starts it in a session of its own, so no terminal
			// signal reaches it; SIGHUP (a supervisor started by hand) and
			// SIGPIPE are caught and dropped, not ignored: an ignored signal
			// stays ignored in the tasks it starts (a shell then cannot
			// even trap SIGHUP, so change_mode "signal" would not reach
			// it), a caught one is back to its default in them.
			dropped := make(chan os.Signal, 1)
			signal.Notify(dropped, syscall.SIGHUP, syscall.SIGPIPE)
			defer signal.Stop(dropped)
			go func() {
				for range dropped {
				}
			}()
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			if err := supervisor.Run(ctx, c.String("dir"), logger.With("component", "supervisor")); err != nil {
				return fmt.Errorf("orch supervisor: %w", err)
			}
			fmt.Fprintln(os.Stderr, "orch supervisor: stopped; tasks run on")
			return nil
		},
	}
}
