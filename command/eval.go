package command

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/structs"
	"github.com/urfave/cli/v2"
)

// evalCommand is `orch eval`, the group of evaluation commands.
func evalCommand() *cli.Command {
	return &cli.Command{
		Name:        "eval",
		Usage:       "Inspect evaluations: the scheduler's decisions and why",
		UsageText:   "orch eval <subcommand> [options] [args]",
		Subcommands: []*cli.Command{evalListCommand(), evalStatusCommand()},
	}
}

// evalListCommand is `orch eval list`.
func evalListCommand() *cli.Command {
	return &cli.Command{
		Name:      "list",
		Usage:     "List evaluations, newest first",
		UsageText: "orch eval list [options]",
		Description: `Lists evaluations, newest first: what triggered each, its job, its status
and whether some allocations could not be placed. -job and -status filter.

Examples:
  orch eval list
  orch eval list -job web -status blocked`,
		Flags: []cli.Flag{
			addressFlag(), verboseFlag(),
			&cli.StringFlag{Name: "job", Usage: "only the evaluations of the job with this exact `ID`"},
			&cli.StringFlag{Name: "status", Usage: "only evaluations with this `status` (pending, complete, failed, blocked, canceled)"},
		},
		Action: evalList,
	}
}

func evalList(c *cli.Context) error {
	if err := checkArgs(c, 0, 0, "no arguments"); err != nil {
		return err
	}
	client, err := apiClient(c)
	if err != nil {
		return err
	}
	evals, _, err := client.Evaluations().List(nil)
	if err != nil {
		return errorf(err, "Error querying evaluations")
	}
	job, status := c.String("job"), c.String("status")
	evals = slices.DeleteFunc(evals, func(e *structs.Evaluation) bool {
		return (job != "" && e.JobID != job) || (status != "" && string(e.Status) != status)
	})
	if len(evals) == 0 {
		fmt.Fprintln(stdout(c), "No evaluations found")
		return nil
	}
	fmt.Fprint(stdout(c), formatEvalList(evals, c.Bool("verbose")))
	return nil
}

// formatEvalList is the table of `eval list`, newest first.
func formatEvalList(evals []*structs.Evaluation, verbose bool) string {
	sorted := slices.Clone(evals)
	slices.SortStableFunc(sorted, func(x, y *structs.Evaluation) int {
		return cmp.Or(cmp.Compare(y.CreateIndex, x.CreateIndex), cmp.Compare(y.CreateTime, x.CreateTime))
	})
	rows := make([][]string, len(sorted))
	for i, e := range sorted {
		rows[i] = []string{shortID(e.ID, verbose), strconv.Itoa(e.Priority), e.TriggeredBy, e.JobID,
			string(e.Status), strconv.FormatBool(len(e.FailedTGAllocs) > 0)}
	}
	return formatTable([]string{"ID", "Priority", "Triggered By", "Job ID", "Status", "Placement Failures"}, rows)
}

// evalStatusCommand is `orch eval status`.
func evalStatusCommand() *cli.Command {
	return &cli.Command{
		Name:      "status",
		Usage:     "Show one evaluation and why allocations could not be placed",
		UsageText: "orch eval status [options] <eval>",
		Description: `Shows one evaluation (its ID, or a unique prefix of one): its status, what
triggered it, and for every task group that could not be fully placed, how
many nodes were evaluated, filtered by which constraint, and exhausted in
which dimension. -verbose adds full IDs and the evaluations it follows and
created.

Examples:
  orch eval status 0f3cd6e5
  orch eval status -verbose 0f3`,
		Flags:  append([]cli.Flag{addressFlag(), verboseFlag()}, outputFlags()...),
		Action: evalStatus,
	}
}

func evalStatus(c *cli.Context) error {
	if err := checkArgs(c, 1, 1, "one argument: an evaluation ID or prefix"); err != nil {
		return err
	}
	client, err := apiClient(c)
	if err != nil {
		return err
	}
	id, err := resolveEvalID(client, c.Args().First())
	if err != nil {
		return err
	}
	eval, _, err := client.Evaluations().Info(id, nil)
	if err != nil {
		return errorf(err, "Error querying evaluation %q", id)
	}
	if ok, err := formatted(c, eval); ok {
		return err
	}
	fmt.Fprint(stdout(c), formatEvalStatus(eval, time.Now(), c.Bool("verbose")))
	return nil
}

// resolveEvalID returns the ID of the evaluation whose ID starts with prefix.
func resolveEvalID(client *api.Client, prefix string) (string, error) {
	evals, _, err := client.Evaluations().List(&api.QueryOptions{Prefix: prefix})
	if err != nil {
		return "", errorf(err, "Error querying evaluations")
	}
	ids := make([]string, len(evals))
	for i, e := range evals {
		ids[i] = e.ID
	}
	return pickOne("evaluation", prefix, ids, structs.ShortID)
}

// formatEvalStatus renders one evaluation and its placement failures.
func formatEvalStatus(e *structs.Evaluation, now time.Time, verbose bool) string {
	var b strings.Builder
	rows := []kv{
		{"ID", shortID(e.ID, verbose)},
		{"Create Time", relUnixNano(e.CreateTime, now)},
		{"Modify Time", relUnixNano(e.ModifyTime, now)},
		{"Status", string(e.Status)},
		{"Status Description", e.StatusDescription},
		{"Type", string(e.Type)},
		{"TriggeredBy", e.TriggeredBy},
	}
	if e.JobID != "" {
		rows = append(rows, kv{"Job ID", e.JobID})
	}
	if e.NodeID != "" {
		rows = append(rows, kv{"Node ID", shortID(e.NodeID, verbose)})
	}
	rows = append(rows,
		kv{"Priority", strconv.Itoa(e.Priority)},
		kv{"Placement Failures", strconv.FormatBool(len(e.FailedTGAllocs) > 0)},
	)
	if verbose {
		rows = append(rows,
			kv{"Previous Eval", e.PreviousEval},
			kv{"Blocked Eval", e.BlockedEval},
			kv{"Snapshot Index", strconv.FormatUint(e.SnapshotIndex, 10)},
		)
	}
	b.WriteString(formatKV(rows))

	if queued := e.QueuedAllocations; verbose && len(queued) > 0 {
		b.WriteString("\nQueued Allocations\n")
		groups := slices.Sorted(maps.Keys(queued))
		tableRows := make([][]string, len(groups))
		for i, g := range groups {
			tableRows[i] = []string{g, strconv.Itoa(queued[g])}
		}
		b.WriteString(formatTable([]string{"Task Group", "Queued"}, tableRows))
	}
	if len(e.FailedTGAllocs) > 0 {
		b.WriteString("\nFailed Placements\n")
		b.WriteString(formatFailedTGAllocs(e.FailedTGAllocs, ""))
		if e.BlockedEval != "" {
			fmt.Fprintf(&b, "\nEvaluation %q waiting for additional capacity to place remainder\n", shortID(e.BlockedEval, verbose))
		}
	}
	return b.String()
}
