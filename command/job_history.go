package command

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/structs"
	"github.com/urfave/cli/v2"
)

// jobHistoryCommand is `orch job history`: the kept versions of a job.
func jobHistoryCommand() *cli.Command {
	return &cli.Command{
		Name:      "history",
		Usage:     "Show the versions of a job",
		UsageText: "orch job history [options] <job>",
		Description: `Lists the kept versions of the job (the last 6, and the latest stable one),
newest first: version, stable flag and submit date; -p adds what each
version changed from the one before it.

Examples:
  orch job history web
  orch job history -p -version 3 web`,
		Flags: []cli.Flag{
			addressFlag(),
			&cli.BoolFlag{Name: "p", Usage: "show the changes of each version"},
			&cli.StringFlag{Name: "version", Usage: "show only this version"},
			verboseFlag(),
		},
		Action: withJob(jobHistory),
	}
}

func jobHistory(c *cli.Context, client *api.Client, job *structs.Job) error {
	var only *uint64
	if v := c.String("version"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return usageErrorf(c, "-version %q: must be a version number", v)
		}
		only = &n
	}
	resp, _, err := client.Jobs().Versions(job.ID, c.Bool("p"), nil)
	if err != nil {
		return errorf(err, "Error reading the versions of job %q", job.ID)
	}
	out, found := formatJobHistory(resp, only, c.Bool("p"), c.Bool("verbose"))
	if !found {
		return fmt.Errorf("job %q has no version %d (kept: %s)", job.ID, *only, keptVersions(resp.Versions))
	}
	fmt.Fprint(stdout(c), out)
	return nil
}

// formatJobHistory formats the versions (newest first) as Nomad does: one
// key/value block per version, with its diff when diffs is set. With only,
// just that version; found is false when it is not kept.
func formatJobHistory(resp *structs.JobVersionsResponse, only *uint64, diffs, verbose bool) (out string, found bool) {
	var blocks []string
	for i, v := range resp.Versions {
		if only != nil && v.Version != *only {
			continue
		}
		rows := []kv{
			{"Version", strconv.FormatUint(v.Version, 10)},
			{"Stable", strconv.FormatBool(v.Stable)},
			{"Submit Date", formatUnixNano(v.SubmitTime)},
		}
		block := formatKV(rows)
		if diffs && i < len(resp.Diffs) {
			block += "Diff        =\n" + formatJobDiff(resp.Diffs[i], verbose)
		}
		blocks = append(blocks, block)
	}
	if len(blocks) == 0 && only != nil {
		return "", false
	}
	return strings.Join(blocks, "\n"), true
}

func keptVersions(versions []*structs.Job) string {
	var s []string
	for _, v := range versions {
		s = append(s, strconv.FormatUint(v.Version, 10))
	}
	return strings.Join(s, ", ")
}

// jobRevertCommand is `orch job revert`: run an earlier version again.
func jobRevertCommand() *cli.Command {
	return &cli.Command{
		Name:      "revert",
		Usage:     "Revert a job to an earlier version",
		UsageText: "orch job revert [options] <job> <version>",
		Description: `Registers the given kept version of the job again, as a new version, and
monitors its evaluation as "orch job run" does.

Examples:
  orch job revert web 2`,
		Flags: []cli.Flag{
			addressFlag(),
			&cli.BoolFlag{Name: "detach", Usage: "print the evaluation ID and return without monitoring"},
			verboseFlag(),
		},
		Action: jobRevert,
	}
}

func jobRevert(c *cli.Context) error {
	if err := checkArgs(c, 2, 2, "two arguments: a job ID or prefix and a version"); err != nil {
		return err
	}
	version, err := strconv.ParseUint(c.Args().Get(1), 10, 64)
	if err != nil {
		return usageErrorf(c, "version %q: must be a version number (see orch job history)", c.Args().Get(1))
	}
	client, err := apiClient(c)
	if err != nil {
		return err
	}
	job, err := lookupJob(client, c.Args().First())
	if err != nil {
		return err
	}
	resp, err := client.Jobs().Revert(job.ID, version, nil)
	if err != nil {
		return errorf(err, "Error reverting job %q to version %d", job.ID, version)
	}
	if c.Bool("detach") {
		fmt.Fprintln(stdout(c), resp.EvalID)
		return nil
	}
	return monitorEval(c, client, resp.EvalID, resp.EvalCreateIndex)
}
