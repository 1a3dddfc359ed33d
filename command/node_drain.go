package command

import "github.com/urfave/cli/v2"

func nodeDrainCommand() *cli.Command { return &cli.Command{Name: "drain", Hidden: true} }

func nodeArg(c *cli.Context, client any) (string, error) { return "", nil }
