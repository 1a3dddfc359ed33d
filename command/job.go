package command

import "github.com/urfave/cli/v2"

// jobCommand is `orch job`, the group of job commands.
func jobCommand() *cli.Command {
	return &cli.Command{
		Name:      "job",
		Usage:     "Run, inspect and stop jobs",
		UsageText: "orch job <subcommand> [options] [args]",
		Subcommands: []*cli.Command{
			jobRunCommand(),
			jobPlanCommand(),
			jobValidateCommand(),
			jobStatusCommand(),
			jobInspectCommand(),
			jobAllocsCommand(),
			jobStopCommand(),
			jobScaleCommand(),
			jobPeriodicCommand(),
			jobDispatchCommand(),
			jobHistoryCommand(),
			jobRevertCommand(),
			jobDeploymentsCommand(),
			jobPromoteCommand(),
		},
	}
}
