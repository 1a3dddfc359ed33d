package command

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/scheduler"
	"github.com/orch-io/orch/server/deploywatch"
	"github.com/orch-io/orch/structs"
	"github.com/urfave/cli/v2"
)

// deploymentCommand is `orch deployment`, the group of deployment commands.
func deploymentCommand() *cli.Command {
	idAction := func(name, usage, desc string, action cli.ActionFunc, flags ...cli.Flag) *cli.Command {
		if !strings.Contains(desc, "Examples:") {
			if desc != "" {
				desc += "\n\n"
			}
			desc += "Examples:\n  orch deployment " + name + " 3f2a1b2c"
		}
		return &cli.Command{Name: name, Usage: usage, UsageText: "orch deployment " + name + " [options] <deployment>",
			Description: desc, Flags: append([]cli.Flag{addressFlag(), verboseFlag()}, flags...), Action: action}
	}
	return &cli.Command{
		Name:      "deployment",
		Usage:     "Inspect and steer deployments (rolling, canary, blue-green updates)",
		UsageText: "orch deployment <subcommand> [options] [args]",
		Subcommands: []*cli.Command{
			{Name: "list", Usage: "List deployments", UsageText: "orch deployment list [options]",
				Description: "Lists every deployment, newest first.\n\nExamples:\n  orch deployment list",
				Flags:       append([]cli.Flag{addressFlag(), verboseFlag()}, outputFlags()...), Action: deploymentList},
			idAction("status", "Show a deployment and what it waits for",
				`Shows the deployment (its ID or a unique prefix), per group: desired, placed,
healthy and unhealthy allocations, canaries, promotion and progress deadline,
and what the deployment waits for. -monitor follows it until it ends.`, deploymentStatus,
				append([]cli.Flag{&cli.BoolFlag{Name: "monitor", Usage: "follow the deployment until it ends"}}, outputFlags()...)...),
			idAction("promote", "Promote the canaries of a deployment",
				"Promotes the canaries of every group, or of the -group given (repeatable).\n\nExamples:\n  orch deployment promote 3f2a1b2c\n  orch deployment promote -group web 3f2a1b2c", deploymentPromote,
				&cli.StringSliceFlag{Name: "group", Usage: "promote only this group's canaries"}),
			idAction("fail", "Fail a running deployment (auto_revert applies)", "", deploymentFail),
			idAction("allocation-health", "Set the health of a deployment's allocations (health_check \"manual\")",
				`Marks allocations of the deployment (IDs or unique prefixes) healthy or
unhealthy, as an operator does for a group whose update block has
health_check = "manual" (PUT /v1/deployment/allocation-health/:id). An
unhealthy allocation fails the deployment (auto_revert applies).

Examples:
  orch deployment allocation-health -healthy 6d14f2b8 -healthy c45325a3 3f2a1b2c
  orch deployment allocation-health -unhealthy ff249640 3f2a1b2c`, deploymentAllocHealth,
				&cli.StringSliceFlag{Name: "healthy", Usage: "an allocation to mark healthy (repeatable)"},
				&cli.StringSliceFlag{Name: "unhealthy", Usage: "an allocation to mark unhealthy (repeatable)"}),
			idAction("pause", "Pause a deployment", "", deploymentPause),
			idAction("resume", "Resume a paused deployment", "", deploymentResume),
		},
	}
}

// resolveDeployment returns the deployment whose ID starts with prefix.
func resolveDeployment(client *api.Client, prefix string) (*structs.Deployment, error) {
	ds, _, err := client.Deployments().List(&api.QueryOptions{Prefix: prefix})
	if err != nil {
		return nil, errorf(err, "Error querying deployments")
	}
	ids := make([]string, len(ds))
	for i, d := range ds {
		ids[i] = d.ID
	}
	id, err := pickOne("deployment", prefix, ids, structs.ShortID)
	if err != nil {
		return nil, err
	}
	for _, d := range ds {
		if d.ID == id {
			return d, nil
		}
	}
	return nil, fmt.Errorf("deployment %q vanished", id)
}

// withDeployment runs fn on the deployment named by the one argument.
func withDeployment(c *cli.Context, fn func(client *api.Client, d *structs.Deployment) error) error {
	if err := checkArgs(c, 1, 1, "one argument: a deployment ID or prefix"); err != nil {
		return err
	}
	client, err := apiClient(c)
	if err != nil {
		return err
	}
	d, err := resolveDeployment(client, c.Args().First())
	if err != nil {
		return err
	}
	return fn(client, d)
}

func deploymentList(c *cli.Context) error {
	if err := checkArgs(c, 0, 0, "no arguments"); err != nil {
		return err
	}
	client, err := apiClient(c)
	if err != nil {
		return err
	}
	ds, _, err := client.Deployments().List(nil)
	if err != nil {
		return errorf(err, "Error listing deployments")
	}
	if ok, err := formatted(c, ds); ok {
		return err
	}
	if len(ds) == 0 {
		fmt.Fprintln(stdout(c), "No deployments found")
		return nil
	}
	fmt.Fprint(stdout(c), formatDeploymentList(ds, c.Bool("verbose")))
	return nil
}

// formatDeploymentList is Nomad's deployment table, newest first.
func formatDeploymentList(ds []*structs.Deployment, verbose bool) string {
	ds = slices.Clone(ds)
	slices.SortFunc(ds, func(a, b *structs.Deployment) int { return int(b.CreateIndex) - int(a.CreateIndex) })
	rows := make([][]string, len(ds))
	for i, d := range ds {
		rows[i] = []string{shortID(d.ID, verbose), d.JobID, strconv.FormatUint(d.JobVersion, 10), string(d.Status), d.StatusDescription}
	}
	return formatTable([]string{"ID", "Job ID", "Job Version", "Status", "Description"}, rows)
}

func deploymentStatus(c *cli.Context) error {
	return withDeployment(c, func(client *api.Client, d *structs.Deployment) error {
		if ok, err := formatted(c, d); ok {
			return err
		}
		if c.Bool("monitor") {
			return followDeployment(c, client, d.ID, false)
		}
		text, err := describeDeployment(client, d, time.Now(), c.Bool("verbose"))
		if err != nil {
			return err
		}
		fmt.Fprint(stdout(c), text)
		return nil
	})
}

// describeDeployment is `deployment status`: the deployment, its groups and
// what it waits for.
func describeDeployment(client *api.Client, d *structs.Deployment, now time.Time, verbose bool) (string, error) {
	ctx, err := readDeploymentContext(client, d)
	if err != nil {
		return "", err
	}
	return formatDeployment(d, ctx.job, ctx.stubs, ctx.failures, now, verbose), nil
}

// deploymentContext is what a deployment's view needs beside it: its job,
// the job's allocations (with those of the deployment marked) and why the
// latest evaluation could not place some.
type deploymentContext struct {
	job      *structs.Job
	stubs    []*structs.AllocListStub
	failures map[string]string
}

// waiting says per group what d waits for.
func (dc *deploymentContext) waiting(d *structs.Deployment, now time.Time) map[string]string {
	return deploywatch.Waiting(d, dc.job, stubAllocs(dc.stubs, dc.job), dc.failures, now)
}

func readDeploymentContext(client *api.Client, d *structs.Deployment) (*deploymentContext, error) {
	inNS := &api.QueryOptions{Namespace: d.Namespace} // the deployment's job is in its namespace
	job, _, err := client.Jobs().Info(d.JobID, inNS)
	if err != nil && !api.IsNotFound(err) {
		return nil, errorf(err, "Error reading job %q", d.JobID)
	}
	stubs, _, err := client.Jobs().Allocations(d.JobID, inNS)
	if err != nil && !api.IsNotFound(err) {
		return nil, errorf(err, "Error reading the allocations of job %q", d.JobID)
	}
	// A list entry does not name its deployment (Nomad's shape): the
	// deployment's own list tells which are its.
	mine, _, err := client.Deployments().Allocations(d.ID, nil)
	if err != nil && !api.IsNotFound(err) {
		return nil, errorf(err, "Error reading the allocations of deployment %q", shortID(d.ID, false))
	}
	ofDeployment := map[string]bool{}
	for _, a := range mine {
		ofDeployment[a.ID] = true
	}
	for _, s := range stubs {
		if ofDeployment[s.ID] {
			s.DeploymentID = d.ID
		}
	}
	evals, _, err := client.Jobs().Evaluations(d.JobID, inNS)
	if err != nil && !api.IsNotFound(err) {
		return nil, errorf(err, "Error reading the evaluations of job %q", d.JobID)
	}
	return &deploymentContext{job: job, stubs: stubs, failures: placementFailures(d, evals)}, nil
}

// placementFailures says, per group, why the job's latest evaluation since
// the deployment began could not place some of its allocations.
func placementFailures(d *structs.Deployment, evals []*structs.Evaluation) map[string]string {
	var latest *structs.Evaluation
	for _, e := range evals {
		if e.CreateIndex >= d.CreateIndex && e.Status != structs.EvalStatusBlocked && e.Status.Terminal() &&
			(latest == nil || e.CreateIndex > latest.CreateIndex) {
			latest = e
		}
	}
	out := map[string]string{}
	if latest != nil {
		for g, m := range latest.FailedTGAllocs {
			out[g] = scheduler.FailureReasons(m)
		}
	}
	return out
}

// formatDeployment formats a deployment as Nomad does, with a line per
// group saying what it waits for.
func formatDeployment(d *structs.Deployment, job *structs.Job, stubs []*structs.AllocListStub, failures map[string]string,
	now time.Time, verbose bool) string {
	var b strings.Builder
	b.WriteString(formatKV([]kv{
		{"ID", shortID(d.ID, verbose)},
		{"Job ID", d.JobID},
		{"Job Version", strconv.FormatUint(d.JobVersion, 10)},
		{"Status", string(d.Status)},
		{"Description", d.StatusDescription},
	}))
	b.WriteString("\nDeployed\n")
	b.WriteString(formatDeploymentGroups(d, now))
	if waiting := deploywatch.Waiting(d, job, stubAllocs(stubs, job), failures, now); len(waiting) > 0 {
		b.WriteString("\n")
		for _, g := range d.GroupNames() {
			if msg, ok := waiting[g]; ok {
				fmt.Fprintf(&b, "%s: %s\n", g, msg)
			}
		}
	}
	return b.String()
}

// formatDeploymentGroups is the per-group table of a deployment.
func formatDeploymentGroups(d *structs.Deployment, now time.Time) string {
	canaries := false
	for _, s := range d.TaskGroups {
		canaries = canaries || s.DesiredCanaries > 0
	}
	header := []string{"Task Group"}
	if canaries {
		header = append(header, "Promoted")
	}
	header = append(header, "Desired")
	if canaries {
		header = append(header, "Canaries")
	}
	header = append(header, "Placed", "Healthy", "Unhealthy", "Progress Deadline")
	var rows [][]string
	for _, name := range d.GroupNames() {
		s := d.TaskGroups[name]
		row := []string{name}
		if canaries {
			row = append(row, strconv.FormatBool(s.Promoted))
		}
		row = append(row, strconv.Itoa(s.DesiredTotal))
		if canaries {
			row = append(row, strconv.Itoa(s.DesiredCanaries))
		}
		deadline := "N/A"
		if !s.RequireProgressBy.IsZero() && d.Active() {
			deadline = formatTime(s.RequireProgressBy)
		}
		row = append(row, strconv.Itoa(s.PlacedAllocs), strconv.Itoa(s.HealthyAllocs), strconv.Itoa(s.UnhealthyAllocs), deadline)
		rows = append(rows, row)
	}
	return formatTable(header, rows)
}

// stubAllocs turns allocation summaries into the allocations
// deploywatch.Waiting reads (group, deployment, health, statuses, version,
// task states).
func stubAllocs(stubs []*structs.AllocListStub, job *structs.Job) []*structs.Allocation {
	var createIndex uint64
	if job != nil {
		createIndex = job.CreateIndex
	}
	out := make([]*structs.Allocation, len(stubs))
	for i, s := range stubs {
		j := &structs.Job{ID: s.JobID, Version: s.JobVersion, CreateIndex: createIndex}
		if job != nil && job.Version == s.JobVersion {
			j.TaskGroups = job.TaskGroups // which tasks count for health (not prestart ones)
		}
		out[i] = &structs.Allocation{ID: s.ID, Name: s.Name, TaskGroup: s.TaskGroup, DeploymentID: s.DeploymentID,
			DeploymentStatus: s.DeploymentStatus, ClientStatus: s.ClientStatus, DesiredStatus: s.DesiredStatus,
			TaskStates: s.TaskStates, Job: j}
	}
	return out
}

func deploymentPromote(c *cli.Context) error {
	return withDeployment(c, func(client *api.Client, d *structs.Deployment) error {
		resp, err := client.Deployments().Promote(d.ID, c.StringSlice("group"))
		if err != nil {
			return errorf(err, "Error promoting deployment %q", shortID(d.ID, false))
		}
		return afterDeploymentWrite(c, client, d, resp, "promoted")
	})
}

func deploymentFail(c *cli.Context) error {
	return withDeployment(c, func(client *api.Client, d *structs.Deployment) error {
		resp, err := client.Deployments().Fail(d.ID)
		if err != nil {
			return errorf(err, "Error failing deployment %q", shortID(d.ID, false))
		}
		if resp.RevertedJobVersion != nil {
			fmt.Fprintf(stdout(c), "Deployment %q failed. Auto-reverted to job version %d.\n", shortID(d.ID, false), *resp.RevertedJobVersion)
			return nil
		}
		return afterDeploymentWrite(c, client, d, resp, "failed")
	})
}

func deploymentAllocHealth(c *cli.Context) error {
	healthyRefs, unhealthyRefs := c.StringSlice("healthy"), c.StringSlice("unhealthy")
	if len(healthyRefs)+len(unhealthyRefs) == 0 {
		return usageErrorf(c, "-healthy or -unhealthy: give at least one allocation")
	}
	return withDeployment(c, func(client *api.Client, d *structs.Deployment) error {
		stubs, _, err := client.Deployments().Allocations(d.ID, nil)
		if err != nil {
			return errorf(err, "Error reading the allocations of deployment %q", shortID(d.ID, false))
		}
		resolve := func(refs []string) ([]string, error) {
			var out []string
			for _, ref := range refs {
				var ids []string
				for _, a := range stubs {
					if strings.HasPrefix(a.ID, ref) {
						ids = append(ids, a.ID)
					}
				}
				id, err := pickOne("allocation of deployment "+shortID(d.ID, false), ref, ids, structs.ShortID)
				if err != nil {
					return nil, err
				}
				out = append(out, id)
			}
			return out, nil
		}
		healthy, err := resolve(healthyRefs)
		if err != nil {
			return err
		}
		unhealthy, err := resolve(unhealthyRefs)
		if err != nil {
			return err
		}
		resp, err := client.Deployments().SetAllocHealth(d.ID, healthy, unhealthy)
		if err != nil {
			return errorf(err, "Error setting allocation health in deployment %q", shortID(d.ID, false))
		}
		return afterDeploymentWrite(c, client, d, resp,
			fmt.Sprintf("updated: %d allocations marked healthy, %d unhealthy", len(healthy), len(unhealthy)))
	})
}

func deploymentPause(c *cli.Context) error {
	return withDeployment(c, func(client *api.Client, d *structs.Deployment) error {
		resp, err := client.Deployments().Pause(d.ID, true)
		if err != nil {
			return errorf(err, "Error pausing deployment %q", shortID(d.ID, false))
		}
		return afterDeploymentWrite(c, client, d, resp, "paused")
	})
}

func deploymentResume(c *cli.Context) error {
	return withDeployment(c, func(client *api.Client, d *structs.Deployment) error {
		resp, err := client.Deployments().Pause(d.ID, false)
		if err != nil {
			return errorf(err, "Error resuming deployment %q", shortID(d.ID, false))
		}
		return afterDeploymentWrite(c, client, d, resp, "resumed")
	})
}

// afterDeploymentWrite says what a deployment write did.
func afterDeploymentWrite(c *cli.Context, client *api.Client, d *structs.Deployment, resp *structs.DeploymentUpdateResponse, what string) error {
	fmt.Fprintf(stdout(c), "Deployment %q %s", shortID(d.ID, c.Bool("verbose")), what)
	if resp.EvalID != "" {
		fmt.Fprintf(stdout(c), " (evaluation %q)", shortID(resp.EvalID, c.Bool("verbose")))
	}
	fmt.Fprintln(stdout(c))
	return nil
}

// followDeployment shows the deployment's progress live (a table redrawn
// in place on a terminal, plain lines otherwise: deployment_progress.go)
// until it ends: exit 0 when successful, 1 with the reason otherwise. With
// untilPromotion it also returns (0) once the deployment waits for a manual
// promotion, saying how to promote.
func followDeployment(c *cli.Context, client *api.Client, id string, untilPromotion bool) error {
	verbose := c.Bool("verbose")
	out := stdout(c)
	fmt.Fprintf(out, "==> %s: Monitoring deployment %q\n", formatTime(time.Now()), shortID(id, verbose))
	p := newProgressPrinter(out, time.Now)
	var index uint64
	for {
		// On a terminal the deadline counts down: wake every second.
		wait := monitorWait
		if p.tty {
			wait = time.Second
		}
		d, meta, err := client.Deployments().Info(id, &api.QueryOptions{WaitIndex: index, WaitTime: wait, Context: c.Context})
		if err != nil {
			return errorf(err, "Error reading deployment %q", id)
		}
		index = meta.LastIndex
		dc, err := readDeploymentContext(client, d)
		if err != nil {
			return err
		}
		waiting := dc.waiting(d, time.Now())
		p.update(d, waiting)
		if untilPromotion && d.Status == structs.DeploymentStatusRunning && awaitsManualPromotion(waiting) {
			fmt.Fprintf(out, "\n==> %s: Deployment %q waits for promotion: run \"orch deployment promote %s\"\n",
				formatTime(time.Now()), shortID(id, verbose), shortID(id, verbose))
			return nil
		}
		if !d.Active() {
			fmt.Fprintf(out, "\n==> %s: Deployment %q %s: %s\n", formatTime(time.Now()), shortID(id, verbose), d.Status, d.StatusDescription)
			if d.Status != structs.DeploymentStatusSuccessful {
				return exitStatus(exitError)
			}
			return nil
		}
	}
}

// awaitsManualPromotion reports whether a group waits for an operator's
// promotion (deploywatch.Waiting's words).
func awaitsManualPromotion(waiting map[string]string) bool {
	for _, msg := range waiting {
		if strings.HasPrefix(msg, "waiting for promotion") {
			return true
		}
	}
	return false
}

// jobDeploymentsCommand is `orch job deployments`.
func jobDeploymentsCommand() *cli.Command {
	return &cli.Command{
		Name: "deployments", Usage: "List the deployments of a job", UsageText: "orch job deployments [options] <job>",
		Description: "Lists the job's deployments, newest first.\n\nExamples:\n  orch job deployments web",
		Flags:       []cli.Flag{addressFlag(), verboseFlag()},
		Action: withJob(func(c *cli.Context, client *api.Client, job *structs.Job) error {
			ds, _, err := client.Jobs().Deployments(job.ID, nil)
			if err != nil {
				return errorf(err, "Error listing the deployments of job %q", job.ID)
			}
			if len(ds) == 0 {
				fmt.Fprintf(stdout(c), "Job %q has no deployments\n", job.ID)
				return nil
			}
			fmt.Fprint(stdout(c), formatDeploymentList(ds, c.Bool("verbose")))
			return nil
		}),
	}
}

// jobPromoteCommand is `orch job promote`: promote the canaries of the job's
// latest deployment.
func jobPromoteCommand() *cli.Command {
	return &cli.Command{
		Name: "promote", Usage: "Promote the canaries of a job's deployment", UsageText: "orch job promote [options] <job>",
		Description: "Promotes the canaries of the job's latest deployment (of every group, or\nof the -group given).\n\nExamples:\n  orch job promote web",
		Flags: []cli.Flag{addressFlag(), verboseFlag(),
			&cli.StringSliceFlag{Name: "group", Usage: "promote only this group's canaries"}},
		Action: withJob(func(c *cli.Context, client *api.Client, job *structs.Job) error {
			d, _, err := client.Jobs().LatestDeployment(job.ID, nil)
			if err != nil {
				return errorf(err, "Error reading the deployment of job %q", job.ID)
			}
			if d == nil {
				return fmt.Errorf("job %q has no deployment", job.ID)
			}
			resp, err := client.Deployments().Promote(d.ID, c.StringSlice("group"))
			if err != nil {
				return errorf(err, "Error promoting deployment %q", shortID(d.ID, false))
			}
			return afterDeploymentWrite(c, client, d, resp, "promoted")
		}),
	}
}

// withJob is the action of a command that takes one job (ID or prefix): it
// checks the arguments, finds the job and runs fn.
func withJob(fn func(c *cli.Context, client *api.Client, job *structs.Job) error) cli.ActionFunc {
	return func(c *cli.Context) error {
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
		return fn(c, client, job)
	}
}
