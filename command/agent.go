package command

import "github.com/urfave/cli/v2"

// agentCommand is `orch agent`. Owned by the agent wiring work (command/agent).
func agentCommand() *cli.Command {
	return &cli.Command{
		Name:  "agent",
		Usage: "Run an orch agent (server, client, or both)",
		Action: func(c *cli.Context) error {
			return cli.Exit("orch agent: not wired yet", 1)
		},
	}
}
