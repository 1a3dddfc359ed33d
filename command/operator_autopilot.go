package command

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/orch-io/orch/structs"
	"github.com/urfave/cli/v2"
)

// `orch operator autopilot`: the cluster's replicated autopilot
// configuration and the servers' health, as Nomad's commands of the same
// names.

func operatorAutopilotCommand() *cli.Command {
	return &cli.Command{
		Name:      "autopilot",
		Usage:     "Read and set the autopilot configuration, and show the servers' health",
		UsageText: "orch operator autopilot <subcommand> [options]",
		Subcommands: []*cli.Command{
			operatorAutopilotGetCommand(),
			operatorAutopilotSetCommand(),
			operatorAutopilotHealthCommand(),
		},
	}
}

func operatorAutopilotGetCommand() *cli.Command {
	return &cli.Command{
		Name:      "get-config",
		Usage:     "Show the autopilot configuration",
		UsageText: "orch operator autopilot get-config [options]",
		Description: `Shows the cluster-wide autopilot configuration stored in Raft: whether
failed servers are removed, how long a server may go without hearing from
the leader and how many entries it may trail it by and still count as
healthy, the fewest voters cleanup leaves, and how long a new server must be
healthy before it votes.

Example:
  orch operator autopilot get-config`,
		Flags:  append([]cli.Flag{addressFlag()}, outputFlags()...),
		Action: operatorAutopilotGet,
	}
}

func operatorAutopilotGet(c *cli.Context) error {
	if err := checkArgs(c, 0, 0, "no arguments"); err != nil {
		return err
	}
	client, err := apiClient(c)
	if err != nil {
		return err
	}
	cfg, _, err := client.Operator().AutopilotGetConfiguration(nil)
	if err != nil {
		return errorf(err, "Error querying the autopilot configuration")
	}
	if done, err := formatted(c, cfg); done {
		return err
	}
	fmt.Fprint(stdout(c), formatAutopilotConfig(cfg))
	return nil
}

// formatAutopilotConfig prints the configuration as Nomad's get-config does.
func formatAutopilotConfig(cfg *structs.AutopilotConfig) string {
	return formatKV([]kv{
		{"CleanupDeadServers", strconv.FormatBool(cfg.CleanupDeadServers)},
		{"LastContactThreshold", cfg.LastContactThreshold.String()},
		{"MaxTrailingLogs", strconv.FormatUint(cfg.MaxTrailingLogs, 10)},
		{"MinQuorum", strconv.Itoa(cfg.MinQuorum)},
		{"ServerStabilizationTime", cfg.ServerStabilizationTime.String()},
		{"EnableRedundancyZones", strconv.FormatBool(cfg.EnableRedundancyZones)},
		{"DisableUpgradeMigration", strconv.FormatBool(cfg.DisableUpgradeMigration)},
		{"EnableCustomUpgrades", strconv.FormatBool(cfg.EnableCustomUpgrades)},
	})
}

func operatorAutopilotSetCommand() *cli.Command {
	return &cli.Command{
		Name:      "set-config",
		Usage:     "Change the autopilot configuration",
		UsageText: "orch operator autopilot set-config [options]",
		Description: `Changes the cluster-wide autopilot configuration. Only the options given
change; the others keep their current value. The leader's autopilot uses the
new configuration from its next pass (within a second), on whichever server
leads. The change is a check-and-set against the configuration read first:
if another change came in between, nothing changes and the command fails.

Examples:
  orch operator autopilot set-config -cleanup-dead-servers=false
  orch operator autopilot set-config -max-trailing-logs=500 -server-stabilization-time=10s`,
		Flags: []cli.Flag{
			addressFlag(),
			&cli.BoolFlag{Name: "cleanup-dead-servers", Usage: "remove failed servers once replaced or after the cleanup time (true|false)"},
			&cli.Int64Flag{Name: "max-trailing-logs", Usage: "entries a server may trail the leader by and count as healthy (0: the default, 100)"},
			&cli.IntFlag{Name: "min-quorum", Usage: "fewest voters dead-server cleanup leaves (0: the quorum of bootstrap_expect)"},
			&cli.StringFlag{Name: "last-contact-threshold", Usage: "how long a server may go without hearing from the leader and count as healthy (`DURATION`, 0: 200ms)"},
			&cli.StringFlag{Name: "server-stabilization-time", Usage: "how long a new server must be healthy before it votes (`DURATION`, 0: 2s)"},
		},
		Action: operatorAutopilotSet,
	}
}

func operatorAutopilotSet(c *cli.Context) error {
	if err := checkArgs(c, 0, 0, "no arguments: options only"); err != nil {
		return err
	}
	durations := map[string]time.Duration{}
	for _, name := range []string{"last-contact-threshold", "server-stabilization-time"} {
		if !c.IsSet(name) {
			continue
		}
		d, err := time.ParseDuration(c.String(name))
		switch {
		case err != nil:
			return usageErrorf(c, "invalid -%s %q: must be a duration such as 200ms or 10s", name, c.String(name))
		case d < 0:
			return usageErrorf(c, "invalid -%s %s: must be >= 0 (0: the default)", name, d)
		}
		durations[name] = d
	}
	if n := c.Int64("max-trailing-logs"); c.IsSet("max-trailing-logs") && n < 0 {
		return usageErrorf(c, "invalid -max-trailing-logs %d: must be >= 0 (0: the default)", n)
	}
	if n := c.Int("min-quorum"); c.IsSet("min-quorum") && (n < 0 || n > math.MaxInt32) {
		return usageErrorf(c, "invalid -min-quorum %d: must be >= 0 (0: the quorum of bootstrap_expect)", n)
	}
	client, err := apiClient(c)
	if err != nil {
		return err
	}
	cfg, _, err := client.Operator().AutopilotGetConfiguration(nil)
	if err != nil {
		return errorf(err, "Error querying the autopilot configuration")
	}
	if c.IsSet("cleanup-dead-servers") {
		cfg.CleanupDeadServers = c.Bool("cleanup-dead-servers")
	}
	if c.IsSet("max-trailing-logs") {
		cfg.MaxTrailingLogs = uint64(c.Int64("max-trailing-logs"))
	}
	if c.IsSet("min-quorum") {
		cfg.MinQuorum = c.Int("min-quorum")
	}
	if d, ok := durations["last-contact-threshold"]; ok {
		cfg.LastContactThreshold = d
	}
	if d, ok := durations["server-stabilization-time"]; ok {
		cfg.ServerStabilizationTime = d
	}
	ok, err := client.Operator().AutopilotCASConfiguration(cfg)
	if err != nil {
		return errorf(err, "Error setting the autopilot configuration")
	}
	if !ok {
		fmt.Fprintf(stderr(c), "Configuration could not be atomically updated (it changed since it was read at modify index %d), please try again\n", cfg.ModifyIndex)
		return exitStatus(exitError)
	}
	fmt.Fprintln(stdout(c), "Configuration updated!")
	return nil
}

func operatorAutopilotHealthCommand() *cli.Command {
	return &cli.Command{
		Name:      "health",
		Usage:     "Show the health of the servers as the leader's autopilot sees them",
		UsageText: "orch operator autopilot health [options]",
		Description: `Shows the health of every server of the Raft configuration as the leader's
autopilot judged it in its last pass (about every second): whether the
cluster is healthy, how many voters could fail without losing the quorum,
and per server its gossip status, version, role, when it last heard from the
leader, its last Raft term and index, and since when its health is what it
is. A server is healthy when it is alive, follows the leader, heard from it
within the last contact threshold and trails it by no more than the max
trailing logs (see get-config). Exits 1 when some server is not healthy.

Example:
  orch operator autopilot health`,
		Flags:  append([]cli.Flag{addressFlag()}, outputFlags()...),
		Action: operatorAutopilotHealth,
	}
}

func operatorAutopilotHealth(c *cli.Context) error {
	if err := checkArgs(c, 0, 0, "no arguments"); err != nil {
		return err
	}
	client, err := apiClient(c)
	if err != nil {
		return err
	}
	h, _, err := client.Operator().AutopilotServerHealth(nil)
	if err != nil {
		return errorf(err, "Error querying the autopilot health")
	}
	if done, err := formatted(c, h); done {
		if err == nil && !h.Healthy {
			return exitStatus(exitError)
		}
		return err
	}
	fmt.Fprint(stdout(c), formatAutopilotHealth(h))
	if !h.Healthy {
		return exitStatus(exitError)
	}
	return nil
}

// formatAutopilotHealth prints the health as Nomad's health command does:
// the summary, the voters, and a table of the servers.
func formatAutopilotHealth(h *structs.OperatorHealthReply) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Healthy: %t\nFailureTolerance: %d\nLeader: %s\nVoters:\n", h.Healthy, h.FailureTolerance, orNone(h.Leader))
	for _, v := range h.Voters {
		fmt.Fprintf(&b, "\t%s\n", v)
	}
	b.WriteString("\nServers:\n")
	rows := make([][]string, 0, len(h.Servers))
	for _, s := range h.Servers {
		last := s.LastContact.String()
		if s.LastContact < 0 {
			last = "never"
		}
		rows = append(rows, []string{s.ID, orNone(s.Name), s.Address, s.SerfStatus, orNone(s.Version),
			strconv.FormatBool(s.Leader), strconv.FormatBool(s.Voter), strconv.FormatBool(s.Healthy), last,
			strconv.FormatUint(s.LastTerm, 10), strconv.FormatUint(s.LastIndex, 10), formatTime(s.StableSince)})
	}
	b.WriteString(formatTable([]string{"ID", "Name", "Address", "SerfStatus", "Version", "Leader", "Voter", "Healthy",
		"LastContact", "LastTerm", "LastIndex", "StableSince"}, rows))
	return b.String()
}
