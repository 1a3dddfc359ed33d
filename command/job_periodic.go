package command

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/structs"
	"github.com/urfave/cli/v2"
)

// jobPeriodicCommand is `orch job periodic`, Nomad's group of one.
func jobPeriodicCommand() *cli.Command {
	return &cli.Command{
		Name:        "periodic",
		Usage:       "Act on periodic jobs",
		UsageText:   "orch job periodic <subcommand> [options] [args]",
		Subcommands: []*cli.Command{jobPeriodicForceCommand()},
	}
}

func jobPeriodicForceCommand() *cli.Command {
	return &cli.Command{
		Name:      "force",
		Usage:     "Launch a periodic job now",
		UsageText: "orch job periodic force [options] <job>",
		Description: `Launches a child of the periodic job now, whatever its schedule and
prohibit_overlap say, then monitors the child's evaluation.

Example:
  orch job periodic force nightly-report`,
		Flags:  []cli.Flag{addressFlag(), &cli.BoolFlag{Name: "detach", Usage: "print the evaluation ID and return without monitoring"}, verboseFlag()},
		Action: withJob(jobPeriodicForce),
	}
}

func jobPeriodicForce(c *cli.Context, client *api.Client, job *structs.Job) error {
	resp, err := client.Jobs().PeriodicForce(job.ID)
	if err != nil {
		return errorf(err, "Error forcing periodic job %q", job.ID)
	}
	if c.Bool("detach") {
		fmt.Fprintln(stdout(c), resp.EvalID)
		return nil
	}
	return monitorEval(c, client, resp.EvalID, resp.EvalCreateIndex)
}

func jobDispatchCommand() *cli.Command {
	return &cli.Command{
		Name:      "dispatch",
		Usage:     "Dispatch a parameterized job",
		UsageText: "orch job dispatch [options] <job> [<payload file> | -]",
		Description: `Registers a child of the parameterized job carrying the payload (a file,
or "-" for standard input; at most 16 KiB) and the meta given with -meta,
then monitors the child's evaluation. The job's parameterized block says
whether a payload is required or forbidden, and which meta keys are
required (meta_required) or allowed (meta_optional). With
-idempotency-token, a second dispatch with the same token returns the
child the first created.

Examples:
  orch job dispatch -meta who=me video-encode input.json
  echo hi | orch job dispatch -detach video-encode -`,
		Flags: []cli.Flag{
			addressFlag(),
			&cli.StringSliceFlag{Name: "meta", Usage: "`key=value` meta of the dispatch (repeatable)"},
			&cli.StringFlag{Name: "idempotency-token", Usage: "dispatch at most once with this `token`"},
			&cli.BoolFlag{Name: "detach", Usage: "print the dispatched job and evaluation IDs and return without monitoring"},
			verboseFlag(),
		},
		Action: jobDispatch,
	}
}

func jobDispatch(c *cli.Context) error {
	if err := checkArgs(c, 1, 2, "a job ID or prefix and an optional payload file (- for standard input)"); err != nil {
		return err
	}
	meta := map[string]string{}
	for _, kv := range c.StringSlice("meta") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return usageErrorf(c, "invalid -meta %q: must be key=value", kv)
		}
		meta[k] = v
	}
	var payload []byte
	if c.NArg() == 2 {
		var r io.Reader
		if name := c.Args().Get(1); name == "-" {
			r = c.App.Reader
			if r == nil {
				r = os.Stdin
			}
		} else {
			f, err := os.Open(name)
			if err != nil {
				return fmt.Errorf("reading the payload: %w", err)
			}
			defer f.Close()
			r = f
		}
		data, err := io.ReadAll(io.LimitReader(r, structs.DispatchPayloadSizeLimit+1))
		if err != nil {
			return fmt.Errorf("reading the payload: %w", err)
		}
		if len(data) > structs.DispatchPayloadSizeLimit {
			return fmt.Errorf("payload larger than %d bytes (16 KiB): too large to dispatch", structs.DispatchPayloadSizeLimit)
		}
		payload = data
	}
	client, err := apiClient(c)
	if err != nil {
		return err
	}
	job, err := lookupJob(client, c.Args().First())
	if err != nil {
		return err
	}
	resp, err := client.Jobs().Dispatch(job.ID, payload, meta, c.String("idempotency-token"))
	if err != nil {
		return errorf(err, "Error dispatching job %q", job.ID)
	}
	out := stdout(c)
	fmt.Fprintf(out, "Dispatched Job ID = %s\nEvaluation ID     = %s\n", resp.DispatchedJobID, resp.EvalID)
	if c.Bool("detach") {
		return nil
	}
	return monitorEval(c, client, resp.EvalID, resp.EvalCreateIndex)
}
