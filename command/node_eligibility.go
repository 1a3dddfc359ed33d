package command

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

// nodeEligibilityCommand is `orch node eligibility`.
func nodeEligibilityCommand() *cli.Command {
	return &cli.Command{
		Name:      "eligibility",
		Usage:     "Mark a node eligible or ineligible for new allocations",
		UsageText: "orch node eligibility [options] -enable|-disable <node>",
		Description: `An ineligible node keeps the allocations it runs but gets no new ones. A
draining node is ineligible until its drain is cancelled.

Examples:
  orch node eligibility -disable f840a518
  orch node eligibility -enable f8`,
		Flags: []cli.Flag{addressFlag(),
			&cli.BoolFlag{Name: "enable", Usage: "mark the node eligible"},
			&cli.BoolFlag{Name: "disable", Usage: "mark the node ineligible"},
			&cli.BoolFlag{Name: "self", Usage: "the node of the local agent (instead of a node argument)"},
		},
		Action: nodeEligibility,
	}
}

func nodeEligibility(c *cli.Context) error {
	enable, disable := c.Bool("enable"), c.Bool("disable")
	if enable == disable {
		return usageErrorf(c, "exactly one of -enable and -disable is required")
	}
	client, err := apiClient(c)
	if err != nil {
		return err
	}
	id, err := nodeArg(c, client)
	if err != nil {
		return err
	}
	if _, err := client.Nodes().ToggleEligibility(id, enable); err != nil {
		return errorf(err, "Error updating scheduling eligibility of node %q", id)
	}
	word := "ineligible"
	if enable {
		word = "eligible"
	}
	fmt.Fprintf(stdout(c), "Node %q scheduling eligibility set: %s for scheduling\n", id, word)
	return nil
}
