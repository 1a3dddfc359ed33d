package command

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/structs"
	"github.com/urfave/cli/v2"
)

// serviceCommand is `orch service`, the built-in service registry's commands.
func serviceCommand() *cli.Command {
	return &cli.Command{
		Name:        "service",
		Usage:       "Inspect the built-in service registry",
		UsageText:   "orch service <subcommand> [options] [args]",
		Subcommands: []*cli.Command{serviceListCommand(), serviceInfoCommand(), serviceDeleteCommand()},
	}
}

func serviceListCommand() *cli.Command {
	return &cli.Command{
		Name:      "list",
		Usage:     "List the registered services",
		UsageText: "orch service list [options]",
		Description: `Lists the services that have instances in the registry, with the tags of
their instances.

Examples:
  orch service list`,
		Flags: []cli.Flag{addressFlag()},
		Action: func(c *cli.Context) error {
			if err := checkArgs(c, 0, 0, "no arguments"); err != nil {
				return err
			}
			client, err := apiClient(c)
			if err != nil {
				return err
			}
			list, _, err := client.Services().List(nil)
			if err != nil {
				return errorf(err, "Error listing services")
			}
			var rows [][]string
			for _, ns := range list {
				for _, s := range ns.Services {
					rows = append(rows, []string{s.ServiceName, ns.Namespace, "[" + strings.Join(s.Tags, ",") + "]"})
				}
			}
			if len(rows) == 0 {
				fmt.Fprintln(stdout(c), "No services found")
				return nil
			}
			fmt.Fprint(stdout(c), formatTable([]string{"Service Name", "Namespace", "Tags"}, rows))
			return nil
		},
	}
}

func serviceInfoCommand() *cli.Command {
	return &cli.Command{
		Name:      "info",
		Usage:     "Show the instances of a service",
		UsageText: "orch service info [options] <name>",
		Description: `Shows every instance of the service: its allocation, node, address and
tags. -verbose shows full IDs and every field.

Examples:
  orch service info shop-api
  orch service info -verbose -tag v1 shop-api`,
		Flags: []cli.Flag{addressFlag(), verboseFlag(),
			&cli.StringFlag{Name: "tag", Usage: "only the instances with this `tag`"}},
		Action: func(c *cli.Context) error {
			if err := checkArgs(c, 1, 1, "one service name"); err != nil {
				return err
			}
			client, err := apiClient(c)
			if err != nil {
				return err
			}
			name := c.Args().First()
			regs, _, err := client.Services().Get(name, &api.ServiceGetOptions{Tag: c.String("tag")}, nil)
			if err != nil {
				return errorf(err, "Error querying service %q", name)
			}
			if len(regs) == 0 {
				return fmt.Errorf("service %q has no instances in the registry", name)
			}
			fmt.Fprint(stdout(c), formatServiceInstances(regs, c.Bool("verbose")))
			return nil
		},
	}
}

// formatServiceInstances is the output of `service info`: a table, or with
// verbose one block of every field per instance.
func formatServiceInstances(regs []*structs.ServiceRegistration, verbose bool) string {
	if !verbose {
		rows := make([][]string, len(regs))
		for i, r := range regs {
			rows[i] = []string{r.JobID, shortID(r.AllocID, false), shortID(r.NodeID, false),
				r.Address + ":" + strconv.Itoa(r.Port), "[" + strings.Join(r.Tags, ",") + "]"}
		}
		return formatTable([]string{"Job ID", "Alloc ID", "Node ID", "Address", "Tags"}, rows)
	}
	var b strings.Builder
	for i, r := range regs {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString(formatKV([]kv{
			{"ID", r.ID}, {"Service Name", r.ServiceName}, {"Namespace", r.Namespace},
			{"Job ID", r.JobID}, {"Alloc ID", r.AllocID}, {"Node ID", r.NodeID}, {"Datacenter", r.Datacenter},
			{"Address", r.Address + ":" + strconv.Itoa(r.Port)}, {"Tags", "[" + strings.Join(r.Tags, ",") + "]"},
			{"Create Index", strconv.FormatUint(r.CreateIndex, 10)}, {"Modify Index", strconv.FormatUint(r.ModifyIndex, 10)},
		}))
	}
	return b.String()
}

func serviceDeleteCommand() *cli.Command {
	return &cli.Command{
		Name:      "delete",
		Usage:     "Remove one instance of a service from the registry",
		UsageText: "orch service delete [options] <name> <id>",
		Description: `Removes one instance of the service (its ID from 'orch service info
-verbose'). The client that registered it registers it again if its
allocation still runs and changes.

Examples:
  orch service delete shop-api _nomad-task-1d2f...-group-api-shop-api-http`,
		Flags: []cli.Flag{addressFlag()},
		Action: func(c *cli.Context) error {
			if err := checkArgs(c, 2, 2, "a service name and an instance ID"); err != nil {
				return err
			}
			client, err := apiClient(c)
			if err != nil {
				return err
			}
			name, id := c.Args().Get(0), c.Args().Get(1)
			if err := client.Services().Delete(name, id); err != nil {
				return errorf(err, "Error deleting instance %q of service %q", id, name)
			}
			fmt.Fprintf(stdout(c), "Successfully deleted service registration %q\n", id)
			return nil
		},
	}
}
