package command

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

// jobStopCommand is `orch job stop`: deregister a job and follow the
// evaluation that stops its allocations.
func jobStopCommand() *cli.Command {
	return &cli.Command{
		Name:      "stop",
		Usage:     "Stop a running job",
		UsageText: "orch job stop [options] <job>",
		Description: `Stops the job (its ID, or a unique prefix of one): its allocations are
stopped, and the job stays, marked stopped, until the garbage collector
removes it; -purge removes it at once. Then monitors the evaluation as
"orch job run" does.

Examples:
  orch job stop web
  orch job stop -purge -detach web`,
		Flags: []cli.Flag{
			addressFlag(),
			&cli.BoolFlag{Name: "purge", Usage: "remove the job from the cluster at once"},
			&cli.BoolFlag{Name: "detach", Usage: "print the evaluation ID and return without monitoring"},
			verboseFlag(),
		},
		Action: jobStop,
	}
}

func jobStop(c *cli.Context) error {
	if err := checkArgs(c, 1, 1, "one argument: a job ID or prefix"); err != nil {
		return err
	}
	client, err := apiClient(c)
	if err != nil {
		return err
	}
	job, err := lookupJob(client, c.Args().First())
	if err != nil {
		return err
	}
	resp, err := client.Jobs().Deregister(job.ID, c.Bool("purge"))
	if err != nil {
		return errorf(err, "Error deregistering job %q", job.ID)
	}
	if resp.EvalID == "" {
		fmt.Fprintf(stdout(c), "Job %q stopped\n", job.ID)
		return nil
	}
	if c.Bool("detach") {
		fmt.Fprintln(stdout(c), resp.EvalID)
		return nil
	}
	return monitorEval(c, client, resp.EvalID, resp.EvalCreateIndex)
}
