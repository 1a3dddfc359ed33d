package command

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"
)

// versionCommand is `orch version`.
func versionCommand() *cli.Command {
	return &cli.Command{
		Name:      "version",
		Usage:     "Print the version of orch",
		UsageText: "orch version",
		Description: `Prints the version this binary was built as.

Example:
  orch version`,
		Action: func(c *cli.Context) error {
			if err := checkArgs(c, 0, 0, "no arguments"); err != nil {
				return err
			}
			fmt.Fprintf(stdout(c), "orch v%s\n", strings.TrimPrefix(Version, "v"))
			return nil
		},
	}
}
