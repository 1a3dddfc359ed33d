package command

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/orch-io/orch/api"
)

// monitorCommand is `orch monitor`: streams an agent's log lines (Nomad's
// `nomad monitor`).
func monitorCommand() *cli.Command {
	return &cli.Command{
		Name:      "monitor",
		Usage:     "Stream the log lines of an agent",
		UsageText: "orch monitor [-log-level debug] [-json] [-node-id ID | -server-id NAME]",
		Description: "Streams the log of the agent at -address (or of a client agent by node ID, or of a server\n" +
			"by name or \"leader\") until interrupted. The level may be lower than the agent's log_level.\n\n" +
			"Example:\n" +
			"  orch monitor -log-level debug -server-id leader",
		Flags: []cli.Flag{
			addressFlag(),
			&cli.StringFlag{Name: "log-level", Value: "info", Usage: "lowest `LEVEL` shown: trace, debug, info, warn, error"},
			&cli.BoolFlag{Name: "json", Usage: "log lines as JSON"},
			&cli.StringFlag{Name: "node-id", Usage: "monitor the client agent of node `ID`"},
			&cli.StringFlag{Name: "server-id", Usage: "monitor the server `NAME` (or \"leader\")"},
		},
		Action: runMonitor,
	}
}

func runMonitor(c *cli.Context) error {
	if err := checkArgs(c, 0, 0, "no arguments"); err != nil {
		return err
	}
	opts := api.MonitorOptions{LogLevel: c.String("log-level"), JSON: c.Bool("json"),
		AgentTarget: api.AgentTarget{NodeID: c.String("node-id"), ServerID: c.String("server-id")}}
	switch strings.ToLower(opts.LogLevel) {
	case "trace", "debug", "info", "warn", "error":
	default:
		return usageErrorf(c, "-log-level %q: must be one of trace, debug, info, warn, error", opts.LogLevel)
	}
	if opts.NodeID != "" && opts.ServerID != "" {
		return usageErrorf(c, "-node-id and -server-id: give one of them, not both")
	}
	client, err := apiClient(c)
	if err != nil {
		return err
	}
	// Ends with the process (Ctrl-C), as alloc logs -f.
	return monitorLogs(c.Context, client, opts, c.App.Writer)
}

// monitorLogs copies the log lines of the agent opts names to out until ctx
// ends (nil) or the stream fails.
func monitorLogs(ctx context.Context, client *api.Client, opts api.MonitorOptions, out io.Writer) error {
	frames, err := client.Agent().Monitor(ctx, opts)
	if err != nil {
		return fmt.Errorf("monitor: %w", err)
	}
	defer frames.Close()
	for {
		f, err := frames.Next()
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, io.EOF):
			return errors.New("monitor: the agent ended the stream")
		case err != nil:
			return fmt.Errorf("monitor: %w", err)
		}
		if _, err := out.Write(f.Data); err != nil {
			return err
		}
	}
}
