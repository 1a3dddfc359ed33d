package command

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/orch-io/orch/api"
	"github.com/urfave/cli/v2"
)

// jobRunCommand is `orch job run`: parse a job file locally, register the
// job, and follow the evaluation it triggers.
func jobRunCommand() *cli.Command {
	return &cli.Command{
		Name:      "run",
		Usage:     "Run a new job or update an existing one",
		UsageText: "orch job run [options] <path>",
		Description: `Parses the job file locally (HCL; JSON with -json), registers the job with
the cluster, and monitors the evaluation it triggers until the scheduler is
done with it: allocations created, placement failures, final status.

When the job's groups have an update block, it then follows the deployment
the new version created: a table of each group (desired, placed, healthy,
unhealthy, progress deadline) redrawn in place on a terminal, plain lines
otherwise; it ends when the deployment does, or waits for a promotion.

Exit codes: 0 when every allocation was placed (and the deployment, if any,
succeeded or waits for a promotion), 2 when some could not be placed (or the
flags and arguments are wrong), 1 on any other error, a failed deployment
included (its reason printed).

Examples:
  orch job run web.hcl
  orch job run -var image=nginx:1.25 -var-file prod.vars web.hcl
  orch job run -detach -address http://10.0.0.1:4646 web.hcl
  orch job run -check-index 15 web.hcl   (the index "orch job plan" printed)

With -check-index N the job is registered only if its job modify index is
still N (0: only if the job does not exist yet); otherwise nothing changes
and the command fails.`,
		Flags: append([]cli.Flag{
			addressFlag(),
			&cli.BoolFlag{Name: "detach", Usage: "print the evaluation ID and return without monitoring"},
			&cli.Uint64Flag{Name: "check-index", Usage: "register only if the job's modify index is still `N` (0: only if it does not exist)"},
			verboseFlag(),
		}, jobFileFlags()...),
		Action: jobRun,
	}
}

func jobRun(c *cli.Context) error {
	if err := checkArgs(c, 1, 1, "one argument: the path of the job file"); err != nil {
		return err
	}
	job, err := readJobFile(c)
	if err != nil {
		return err
	}
	if err := validateJob(job); err != nil {
		return validationFailed(err)
	}
	client, err := apiClient(c)
	if err != nil {
		return err
	}
	opts := &api.RegisterOptions{}
	if c.IsSet("check-index") {
		opts.EnforceIndex, opts.ModifyIndex = true, c.Uint64("check-index")
	}
	var traceID string
	if c.Bool("verbose") {
		// The trace of this run: agents that trace record every step of it
		// (HTTP, RPC, Raft, scheduler, plan, the task's start) under this ID.
		opts.TraceParent, traceID = newTraceParent()
	}
	resp, err := client.Jobs().RegisterOpts(job, opts)
	if err != nil {
		return errorf(err, "Error submitting job")
	}
	if traceID != "" {
		fmt.Fprintf(stdout(c), "==> Trace ID %q (recorded where the agents set telemetry.otlp_endpoint)\n", traceID)
	}
	if resp.Warnings != "" {
		fmt.Fprintf(stderr(c), "Job Warnings:\n%s\n\n", resp.Warnings)
	}
	if resp.EvalID == "" {
		fmt.Fprintln(stdout(c), "Job registration successful")
		return nil
	}
	if c.Bool("detach") {
		fmt.Fprintln(stdout(c), resp.EvalID)
		return nil
	}
	if err := monitorEval(c, client, resp.EvalID, resp.EvalCreateIndex); err != nil {
		return err
	}
	// The job went to the client's namespace (-namespace), else its own.
	ns := client.Namespace()
	if ns == "" {
		ns = job.Namespace
	}
	return followJobDeployment(c, client, job.ID, ns, resp.JobModifyIndex)
}

// newTraceParent returns a new sampled W3C traceparent and its trace ID.
func newTraceParent() (traceparent, traceID string) {
	var b [24]byte
	_, _ = rand.Read(b[:]) // crypto/rand: never fails
	traceID, spanID := hex.EncodeToString(b[:16]), hex.EncodeToString(b[16:])
	return "00-" + traceID + "-" + spanID + "-01", traceID
}

// followJobDeployment follows the deployment the registration of the job at
// jobModifyIndex created, if any, as Nomad's `job run` does: until it ends,
// or waits for a manual promotion.
func followJobDeployment(c *cli.Context, client *api.Client, jobID, namespace string, jobModifyIndex uint64) error {
	d, _, err := client.Jobs().LatestDeployment(jobID, &api.QueryOptions{Namespace: namespace})
	if err != nil {
		return errorf(err, "Error reading the deployment of job %q", jobID)
	}
	if d == nil || d.JobModifyIndex != jobModifyIndex {
		return nil
	}
	return followDeployment(c, client, d.ID, true)
}

// monitorEval runs the evaluation monitor and turns its result into the
// command's exit status.
func monitorEval(c *cli.Context, client *api.Client, evalID string, createIndex uint64) error {
	ctx := c.Context
	if ctx == nil {
		ctx = context.Background()
	}
	m := &monitor{client: client, out: stdout(c), now: time.Now, ctx: ctx, verbose: c.Bool("verbose")}
	res, err := m.run(evalID, createIndex)
	if err != nil {
		return err
	}
	if code := res.exitCode(); code != exitOK {
		return exitStatus(code)
	}
	return nil
}
