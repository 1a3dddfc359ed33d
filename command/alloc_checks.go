package command

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/orch-io/orch/structs"
	"github.com/urfave/cli/v2"
)

// allocChecksCommand is `orch alloc checks`, as Nomad's.
func allocChecksCommand() *cli.Command {
	return &cli.Command{
		Name:      "checks",
		Usage:     "Show the latest results of an allocation's service checks",
		UsageText: "orch alloc checks [options] <alloc>",
		Description: `Shows each check of the allocation's services, as its client last ran it:
status, mode, when, and an excerpt of its output. Ask the agent of the
allocation's node (-address): only its client knows the results.

Examples:
  orch alloc checks 8ba85cef`,
		Flags: []cli.Flag{addressFlag(), verboseFlag()},
		Action: func(c *cli.Context) error {
			if err := checkArgs(c, 1, 1, "one argument: an allocation ID or prefix"); err != nil {
				return err
			}
			client, err := apiClient(c)
			if err != nil {
				return err
			}
			id, err := resolveAllocID(client, c.Args().First())
			if err != nil {
				return err
			}
			results, err := client.Allocations().Checks(id)
			if err != nil {
				return errorf(err, "Error querying the checks of allocation %q", id)
			}
			if len(results) == 0 {
				fmt.Fprintln(stdout(c), "No checks")
				return nil
			}
			fmt.Fprint(stdout(c), formatChecks(results, time.Now(), c.Bool("verbose")))
			return nil
		},
	}
}

// formatChecks is the table of an allocation's check results, by service
// and check name; outputs are cut to one line unless verbose.
func formatChecks(results map[string]*structs.CheckQueryResult, now time.Time, verbose bool) string {
	sorted := slices.SortedFunc(maps.Values(results), func(a, b *structs.CheckQueryResult) int {
		return strings.Compare(a.Service+"\x00"+a.Check, b.Service+"\x00"+b.Check)
	})
	rows := make([][]string, len(sorted))
	for i, r := range sorted {
		when := "never"
		if r.Timestamp != 0 {
			when = relUnixNano(r.Timestamp, now)
		}
		out := strings.TrimSpace(r.Output)
		if !verbose {
			out, _, _ = strings.Cut(out, "\n")
			if len(out) > 80 {
				out = out[:77] + "..."
			}
		}
		code := ""
		if r.StatusCode != 0 {
			code = strconv.Itoa(r.StatusCode)
		}
		rows[i] = []string{r.Service, r.Check, r.Task, r.Mode, r.Status, code, when, out}
	}
	return formatTable([]string{"Service", "Check", "Task", "Mode", "Status", "Code", "Last", "Output"}, rows)
}
