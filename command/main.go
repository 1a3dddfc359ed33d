// Package command is orch's command line: one file per command, built on urfave/cli/v2.
package command

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"
)

// Version is stamped at build time (-ldflags -X).
var Version = "dev"

// Main runs the CLI and returns the process exit code.
func Main(args []string) int {
	app := &cli.App{
		Name:     "orch",
		Usage:    "an open workload orchestrator",
		Version:  Version,
		Commands: []*cli.Command{agentCommand()},
	}
	if err := app.Run(args); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}
