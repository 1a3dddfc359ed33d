package command

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/urfave/cli/v2"
)

// jobScaleCommand is `orch job scale`: set a group's count, as Nomad's
// `nomad job scale JOB [GROUP] COUNT`.
func jobScaleCommand() *cli.Command {
	return &cli.Command{
		Name:      "scale",
		Usage:     "Change the count of a job's group",
		UsageText: "orch job scale [options] <job> [<group>] <count>",
		Description: `Sets the count of a group of the job (its ID, or a unique prefix of one)
by registering the job again with the new count; the group may be left out
when the job has only one. A job changed by someone else in between is
refused, never overwritten. Then monitors the evaluation as "orch job run"
does.

Examples:
  orch job scale web 3
  orch job scale -detach web cache 0`,
		Flags: []cli.Flag{
			addressFlag(),
			&cli.BoolFlag{Name: "detach", Usage: "print the evaluation ID and return without monitoring"},
			verboseFlag(),
		},
		Action: jobScale,
	}
}

func jobScale(c *cli.Context) error {
	if err := checkArgs(c, 2, 3, "a job ID or prefix, an optional group name and a count"); err != nil {
		return err
	}
	args := c.Args().Slice()
	rawCount := args[len(args)-1]
	count, err := strconv.ParseInt(rawCount, 10, 32)
	if err != nil || count < 0 {
		return usageErrorf(c, "invalid count %q: must be a whole number >= 0", rawCount)
	}
	client, err := apiClient(c)
	if err != nil {
		return err
	}
	job, err := lookupJob(client, args[0])
	if err != nil {
		return err
	}
	var group string
	if len(args) == 3 {
		group = args[1]
	} else {
		if len(job.TaskGroups) != 1 {
			names := make([]string, 0, len(job.TaskGroups))
			for _, tg := range job.TaskGroups {
				names = append(names, tg.Name)
			}
			slices.Sort(names)
			return usageErrorf(c, "job %q has %d groups (%v): name the one to scale", job.ID, len(names), names)
		}
		group = job.TaskGroups[0].Name
	}
	resp, err := client.Jobs().Scale(job.ID, group, count, "submitted using the orch CLI")
	if err != nil {
		return errorf(err, "Error scaling job %q", job.ID)
	}
	if c.Bool("detach") {
		fmt.Fprintln(stdout(c), resp.EvalID)
		return nil
	}
	return monitorEval(c, client, resp.EvalID, resp.EvalCreateIndex)
}
