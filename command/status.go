package command

import (
	"fmt"
	"slices"
	"strings"

	"github.com/orch-io/orch/api"
	"github.com/urfave/cli/v2"
)

// statusCommand is `orch status [ID-or-prefix]`, Nomad's `nomad status`:
// without an argument the jobs; with one, whatever it names (a job,
// allocation, node, evaluation or deployment, found by a prefix search
// across kinds), shown by that kind's status command.
func statusCommand() *cli.Command {
	return &cli.Command{
		Name:      "status",
		Usage:     "Show the status of whatever an ID or prefix names",
		UsageText: "orch status [options] [<ID or prefix>]",
		Description: `Without an argument, lists the jobs (as orch job status). With an ID or
the prefix of one, searches jobs, allocations, nodes, evaluations and
deployments; when exactly one object matches, shows it as that kind's
status command does, else lists the matches.

Examples:
  orch status
  orch status web
  orch status 8d2f`,
		Flags:  []cli.Flag{addressFlag(), verboseFlag()},
		Action: status,
	}
}

// statusKinds are the contexts `orch status` searches, with the command
// that shows each, in the order a match is preferred.
var statusKinds = []struct{ context, command string }{
	{api.SearchJobs, "job"}, {api.SearchAllocs, "alloc"}, {api.SearchNodes, "node"},
	{api.SearchEvals, "eval"}, {api.SearchDeployments, "deployment"},
}

func status(c *cli.Context) error {
	if err := checkArgs(c, 0, 1, "at most one argument: an ID or prefix"); err != nil {
		return err
	}
	if c.NArg() == 0 {
		return runSubcommand(c, "job", "status")
	}
	client, err := apiClient(c)
	if err != nil {
		return err
	}
	prefix := c.Args().First()
	res, err := client.Search().Prefix(prefix, api.SearchAll)
	if err != nil {
		return errorf(err, "Error searching for %q", prefix)
	}
	type match struct{ command, id string }
	var matches []match
	for _, k := range statusKinds {
		ids := res.Matches[k.context]
		// An exact job ID wins over longer IDs it is a prefix of.
		if k.context == api.SearchJobs && slices.Contains(ids, prefix) {
			return runSubcommand(c, "job", "status", prefix)
		}
		for _, id := range ids {
			matches = append(matches, match{k.command, id})
		}
	}
	switch len(matches) {
	case 0:
		return fmt.Errorf("no job, allocation, node, evaluation or deployment matches %q", prefix)
	case 1:
		return runSubcommand(c, matches[0].command, "status", matches[0].id)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Prefix %q matched several objects:\n", prefix)
	rows := make([][]string, len(matches))
	for i, m := range matches {
		rows[i] = []string{m.command, m.id}
	}
	b.WriteString(formatTable([]string{"Kind", "ID"}, rows))
	return fmt.Errorf("%s", strings.TrimRight(b.String(), "\n"))
}

// runSubcommand runs `orch <words...>` with the flags set on c (address,
// token, TLS, verbose), as if the user had typed it.
func runSubcommand(c *cli.Context, words ...string) error {
	args := []string{c.App.Name}
	args = append(args, words[:2]...)
	for _, name := range c.LocalFlagNames() {
		if !c.IsSet(name) || len(name) == 1 {
			continue
		}
		args = append(args, fmt.Sprintf("-%s=%v", name, c.Value(name)))
	}
	args = append(args, words[2:]...)
	return c.App.RunContext(c.Context, args)
}
