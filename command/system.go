package command

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

// systemCommand is `orch system`, Nomad's cluster maintenance commands.
func systemCommand() *cli.Command {
	return &cli.Command{
		Name:      "system",
		Usage:     "Interact with the system API",
		UsageText: "orch system <subcommand> [options]",
		Subcommands: []*cli.Command{{
			Name:      "gc",
			Usage:     "Run the system garbage collection now",
			UsageText: "orch system gc [options]",
			Description: `Makes the leader collect, now, every terminal evaluation, allocation,
job and deployment that the garbage collection rules let go, whatever their
age (the periodic collection waits for job_gc_threshold, eval_gc_threshold
and deployment_gc_threshold). Running jobs, their running allocations and a
failure still waiting for its replacement are never collected. Needs a
management token.

Example:
  orch system gc`,
			Flags:  []cli.Flag{addressFlag()},
			Action: systemGC,
		}, {
			Name:      "reconcile",
			Usage:     "Reconcile system properties",
			UsageText: "orch system reconcile <subcommand> [options]",
			Subcommands: []*cli.Command{{
				Name:      "summaries",
				Usage:     "Reconcile the job summaries",
				UsageText: "orch system reconcile summaries [options]",
				Description: `Nomad's repair of stored job summaries. orch derives a job's summary from
its allocations and evaluations on every read, so there is nothing to
repair: the command succeeds once the leader answers.

Example:
  orch system reconcile summaries`,
				Flags:  []cli.Flag{addressFlag()},
				Action: systemReconcileSummaries,
			}},
		}},
	}
}

func systemGC(c *cli.Context) error {
	if err := checkArgs(c, 0, 0, "no arguments"); err != nil {
		return err
	}
	client, err := apiClient(c)
	if err != nil {
		return err
	}
	if err := client.System().GarbageCollect(); err != nil {
		return errorf(err, "Error running system garbage-collection")
	}
	return nil
}

func systemReconcileSummaries(c *cli.Context) error {
	if err := checkArgs(c, 0, 0, "no arguments"); err != nil {
		return err
	}
	client, err := apiClient(c)
	if err != nil {
		return err
	}
	if err := client.System().ReconcileSummaries(); err != nil {
		return errorf(err, "Error running system summary reconciliation")
	}
	fmt.Fprintln(stdout(c), "Reconciled job summaries")
	return nil
}
