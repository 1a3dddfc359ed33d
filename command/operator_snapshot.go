package command

import "github.com/urfave/cli/v2"

// operatorSnapshotCommand is `orch operator snapshot`: save, inspect and
// restore snapshots of the cluster state.
func operatorSnapshotCommand() *cli.Command {
	return &cli.Command{
		Name:        "snapshot",
		Usage:       "Save, inspect and restore snapshots of the cluster state",
		UsageText:   "orch operator snapshot <subcommand> [options] FILE",
		Subcommands: []*cli.Command{},
	}
}
