package command

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

// allocStopCommand is `orch alloc stop`.
func allocStopCommand() *cli.Command {
	return &cli.Command{
		Name:      "stop",
		Usage:     "Stop an allocation and have the scheduler replace it",
		UsageText: "orch alloc stop [options] <alloc>",
		Description: `Stops one allocation (its ID, or a unique prefix of one): the servers mark
it for migration and the scheduler places a replacement, then stops it, as a
drain does. Without -detach, the evaluation that does it is monitored.

Examples:
  orch alloc stop 8ba85cef
  orch alloc stop -detach 8b`,
		Flags: []cli.Flag{addressFlag(), verboseFlag(),
			&cli.BoolFlag{Name: "detach", Usage: "print the evaluation ID and return without monitoring"}},
		Action: allocStop,
	}
}

func allocStop(c *cli.Context) error {
	client, id, err := oneAllocArg(c)
	if err != nil {
		return err
	}
	resp, err := client.Allocations().Stop(id)
	if err != nil {
		return errorf(err, "Error stopping allocation %q", id)
	}
	if c.Bool("detach") {
		fmt.Fprintln(stdout(c), resp.EvalID)
		return nil
	}
	return monitorEval(c, client, resp.EvalID, resp.Index)
}
