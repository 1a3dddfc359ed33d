package command

import (
	"fmt"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/structs"
	"github.com/urfave/cli/v2"
)

// allocRestartCommand is `orch alloc restart`.
func allocRestartCommand() *cli.Command {
	return &cli.Command{
		Name:      "restart",
		Usage:     "Restart the tasks of an allocation in place",
		UsageText: "orch alloc restart [options] <alloc> [<task>]",
		Description: `Stops a task of the allocation with its kill signal and starts it again on
the same node, in the same directory. A restart asked for is not a failure:
it does not count against the group's restart policy. Without a task, every
running task of the allocation restarts.

Examples:
  orch alloc restart 8ba85cef
  orch alloc restart -task web 8ba85cef`,
		Flags: []cli.Flag{
			addressFlag(),
			&cli.StringFlag{Name: "task", Usage: "restart only this task"},
			&cli.BoolFlag{Name: "all-tasks", Usage: "restart every running task (the default without -task)"},
		},
		Action: allocRestart,
	}
}

func allocRestart(c *cli.Context) error {
	client, id, err := allocArgs(c, "an allocation ID or prefix, and optionally a task")
	if err != nil {
		return err
	}
	task, err := taskArg(c)
	if err != nil {
		return err
	}
	if task != "" && c.Bool("all-tasks") {
		return usageErrorf(c, "-all-tasks and a task %q: give one or the other", task)
	}
	if err := client.Allocations().Restart(id, task); err != nil {
		return errorf(err, "Error restarting allocation %s", structs.ShortID(id))
	}
	fmt.Fprintf(stdout(c), "Restarted allocation %s\n", structs.ShortID(id))
	return nil
}

// allocSignalCommand is `orch alloc signal`.
func allocSignalCommand() *cli.Command {
	return &cli.Command{
		Name:      "signal",
		Usage:     "Send a signal to the tasks of an allocation",
		UsageText: "orch alloc signal [options] <alloc> [<task>]",
		Description: `Sends a signal to a task of the allocation (and everything it started), or,
without a task, to every running task of it.

Examples:
  orch alloc signal -s SIGHUP 8ba85cef
  orch alloc signal -s SIGUSR1 -task web 8ba85cef`,
		Flags: []cli.Flag{
			addressFlag(),
			&cli.StringFlag{Name: "s", Value: "SIGKILL", Usage: "the signal to send"},
			&cli.StringFlag{Name: "task", Usage: "signal only this task"},
		},
		Action: allocSignal,
	}
}

func allocSignal(c *cli.Context) error {
	client, id, err := allocArgs(c, "an allocation ID or prefix, and optionally a task")
	if err != nil {
		return err
	}
	task, err := taskArg(c)
	if err != nil {
		return err
	}
	if err := client.Allocations().Signal(id, task, c.String("s")); err != nil {
		return errorf(err, "Error signalling allocation %s", structs.ShortID(id))
	}
	fmt.Fprintf(stdout(c), "Sent %s to allocation %s\n", c.String("s"), structs.ShortID(id))
	return nil
}

// taskArg is the task named by -task or the second argument ("" for none).
func taskArg(c *cli.Context) (string, error) {
	task, flag := c.Args().Get(1), c.String("task")
	if task != "" && flag != "" && task != flag {
		return "", usageErrorf(c, "task given twice: -task %q and argument %q", flag, task)
	}
	if flag != "" {
		return flag, nil
	}
	return task, nil
}

// allocArgs checks that the command got an allocation and at most one more
// argument (what says which), and resolves the allocation's ID.
func allocArgs(c *cli.Context, what string) (*api.Client, string, error) {
	if err := checkArgs(c, 1, 2, what); err != nil {
		return nil, "", err
	}
	client, err := apiClient(c)
	if err != nil {
		return nil, "", err
	}
	id, err := resolveAllocID(client, c.Args().First())
	return client, id, err
}
