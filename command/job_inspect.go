package command

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/structs"
	"github.com/urfave/cli/v2"
)

// jobInspectCommand is `orch job inspect`, Nomad's: the job as the API's
// JSON, wrapped in {"Job": ...} so that it can be sent back to the API as
// it is (`-json` is accepted and changes nothing, as in Nomad); -t formats
// it with a template.
func jobInspectCommand() *cli.Command {
	return &cli.Command{
		Name:      "inspect",
		Usage:     "Show a job as the API's JSON",
		UsageText: "orch job inspect [options] <job>",
		Description: `Prints the job (its ID or a unique prefix) as {"Job": {...}}, the body
orch job run -json and PUT /v1/jobs take. -t applies a Go template to the
job's JSON instead.

Examples:
  orch job inspect web > web.json
  orch job inspect -t '{{.Job.Version}}' web`,
		Flags:  append([]cli.Flag{addressFlag()}, outputFlags()...),
		Action: withJob(jobInspect),
	}
}

func jobInspect(c *cli.Context, _ *api.Client, job *structs.Job) error {
	body := map[string]any{"Job": job}
	if c.String("t") != "" {
		_, err := formatted(c, body)
		return err
	}
	out, err := json.MarshalIndent(map[string]any{"Job": api.JobFromStructs(job)}, "", "    ")
	if err != nil {
		return fmt.Errorf("encoding the job: %w", err)
	}
	fmt.Fprintln(stdout(c), string(out))
	return nil
}

// jobAllocsCommand is `orch job allocs`, Nomad's: a job's allocations.
func jobAllocsCommand() *cli.Command {
	return &cli.Command{
		Name:      "allocs",
		Usage:     "List a job's allocations",
		UsageText: "orch job allocs [options] <job>",
		Description: `Lists the allocations of a job (its ID or a unique prefix), as the
Allocations section of orch job status.

Examples:
  orch job allocs web
  orch job allocs -json web
  orch job allocs -t '{{range .}}{{.ID}} {{.ClientStatus}}{{"\n"}}{{end}}' web`,
		Flags:  append([]cli.Flag{addressFlag(), verboseFlag()}, outputFlags()...),
		Action: jobAllocs,
	}
}

func jobAllocs(c *cli.Context) error {
	if err := checkArgs(c, 1, 1, "one argument: a job ID or prefix"); err != nil {
		return err
	}
	client, err := apiClient(c)
	if err != nil {
		return err
	}
	job, err := lookupJob(client, c.Args().First())
	if err != nil {
		return err
	}
	allocs, _, err := client.Jobs().Allocations(job.ID, nil)
	if err != nil {
		return errorf(err, "Error querying the allocations of job %q", job.ID)
	}
	if ok, err := formatted(c, allocs); ok {
		return err
	}
	if len(allocs) == 0 {
		fmt.Fprintln(stdout(c), "No allocations placed")
		return nil
	}
	fmt.Fprint(stdout(c), formatAllocTable(allocs, time.Now(), c.Bool("verbose"), false))
	return nil
}
