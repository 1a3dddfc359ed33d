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
	"github.com/orch-io/orch/scheduler"
	"github.com/orch-io/orch/structs"
	"github.com/urfave/cli/v2"
)

// jobStatusCommand is `orch job status`: all jobs, or one job in detail.
func jobStatusCommand() *cli.Command {
	return &cli.Command{
		Name:      "status",
		Usage:     "List jobs, or show one job's status",
		UsageText: "orch job status [options] [<job>]",
		Description: `Without an argument, lists every job. With a job ID (or a unique prefix of
one), shows the job, a summary of its allocations per task group, why
allocations could not be placed (from the latest evaluation), and its
allocations.

Examples:
  orch job status
  orch job status web
  orch job status -verbose -address http://10.0.0.1:4646 web`,
		Flags:  append([]cli.Flag{addressFlag(), verboseFlag()}, outputFlags()...),
		Action: jobStatus,
	}
}

func jobStatus(c *cli.Context) error {
	if err := checkArgs(c, 0, 1, "one argument: a job ID or prefix"); err != nil {
		return err
	}
	client, err := apiClient(c)
	if err != nil {
		return err
	}
	if c.NArg() == 0 {
		return listJobs(c, client)
	}
	job, err := lookupJob(client, c.Args().First())
	if err != nil {
		return err
	}
	if job.IsParent() {
		return parentJobStatus(c, client, job)
	}
	allocs, _, err := client.Jobs().Allocations(job.ID, nil)
	if err != nil {
		return errorf(err, "Error querying the allocations of job %q", job.ID)
	}
	evals, _, err := client.Jobs().Evaluations(job.ID, nil)
	if err != nil {
		return errorf(err, "Error querying the evaluations of job %q", job.ID)
	}
	// Nomad's -json of one job: its status, a list of one.
	if ok, err := formatted(c, []any{map[string]any{"Job": job, "Allocations": allocs, "Evaluations": evals}}); ok {
		return err
	}
	fmt.Fprint(stdout(c), formatJobStatus(job, allocs, evals, time.Now(), c.Bool("verbose")))
	return nil
}

// listJobs prints the table of every job.
func listJobs(c *cli.Context, client *api.Client) error {
	jobs, _, err := client.Jobs().List(nil)
	if err != nil {
		return errorf(err, "Error querying jobs")
	}
	if ok, err := formatted(c, jobs); ok {
		return err
	}
	if len(jobs) == 0 {
		fmt.Fprintln(stdout(c), "No running jobs")
		return nil
	}
	rows := make([][]string, len(jobs))
	for i, j := range jobs {
		rows[i] = []string{j.ID, jobTypeText(j), strconv.Itoa(j.Priority), jobStatusText(j.Status, j.Stop), formatUnixNano(j.SubmitTime)}
	}
	header := []string{"ID", "Type", "Priority", "Status", "Submit Date"}
	if client.Namespace() == structs.AllNamespaces { // every namespace: say whose (as Nomad)
		header = slices.Insert(header, 1, "Namespace")
		for i, j := range jobs {
			rows[i] = slices.Insert(rows[i], 1, j.Namespace)
		}
	}
	fmt.Fprint(stdout(c), formatTable(header, rows))
	return nil
}

// jobStatusText is a job's status, with Nomad's "(stopped)" for a stopped job.
func jobStatusText(status structs.JobStatus, stop bool) string {
	if stop {
		return string(status) + " (stopped)"
	}
	return string(status)
}

// formatJobStatus renders one job: fields, summary, placement failures,
// (with verbose) evaluations, and allocations.
func formatJobStatus(job *structs.Job, allocs []*structs.AllocListStub, evals []*structs.Evaluation, now time.Time, verbose bool) string {
	var b strings.Builder
	b.WriteString(formatKV(append(jobFieldsKV(job), kv{"Version", strconv.FormatUint(job.Version, 10)})))

	latest := latestEval(evals)
	b.WriteString("\nSummary\n")
	b.WriteString(formatJobSummary(job, allocs, latest))

	if latest != nil && len(latest.FailedTGAllocs) > 0 {
		b.WriteString("\nPlacement Failure\n")
		for _, tg := range slices.Sorted(maps.Keys(latest.FailedTGAllocs)) {
			metric := latest.FailedTGAllocs[tg]
			failed := failedCount(metric)
			if q := latest.QueuedAllocations[tg]; q > failed {
				failed = q
			}
			count := failed
			if group := job.LookupTaskGroup(tg); group != nil {
				count = group.Count
			}
			fmt.Fprintf(&b, "%s\n", scheduler.FailureSummary(tg, count, failed, metric))
			b.WriteString(formatAllocMetric(metric, "  "))
		}
	}

	if verbose && len(evals) > 0 {
		b.WriteString("\nEvaluations\n")
		sorted := slices.Clone(evals)
		slices.SortFunc(sorted, func(x, y *structs.Evaluation) int { return cmp.Compare(y.CreateIndex, x.CreateIndex) })
		rows := make([][]string, len(sorted))
		for i, e := range sorted {
			rows[i] = []string{e.ID, strconv.Itoa(e.Priority), e.TriggeredBy, string(e.Status),
				strconv.FormatBool(len(e.FailedTGAllocs) > 0), relUnixNano(e.CreateTime, now)}
		}
		b.WriteString(formatTable([]string{"ID", "Priority", "Triggered By", "Status", "Placement Failures", "Created"}, rows))
	}

	b.WriteString("\nAllocations\n")
	if len(allocs) == 0 {
		b.WriteString("No allocations placed\n")
		return b.String()
	}
	b.WriteString(formatAllocTable(allocs, now, verbose, false))
	b.WriteString(formatJobReschedules(job, allocs, now, verbose))
	return b.String()
}

// latestEval is the evaluation created last, or nil. A blocked evaluation
// is skipped: it has no results of its own yet, and the evaluation that
// created it holds the placement failures it waits to resolve.
func latestEval(evals []*structs.Evaluation) *structs.Evaluation {
	var latest *structs.Evaluation
	for _, e := range evals {
		if e.Status == structs.EvalStatusBlocked {
			continue
		}
		if latest == nil || e.CreateIndex > latest.CreateIndex {
			latest = e
		}
	}
	return latest
}

// formatJobSummary counts the job's allocations by client status per task
// group; Queued comes from the latest evaluation.
func formatJobSummary(job *structs.Job, allocs []*structs.AllocListStub, latest *structs.Evaluation) string {
	type counts struct{ queued, starting, running, failed, complete, lost int }
	groups := []string{}
	byGroup := map[string]*counts{}
	add := func(tg string) *counts {
		if byGroup[tg] == nil {
			byGroup[tg] = &counts{}
			groups = append(groups, tg)
		}
		return byGroup[tg]
	}
	for _, tg := range job.TaskGroups {
		add(tg.Name)
	}
	for _, a := range allocs {
		n := add(a.TaskGroup)
		switch a.ClientStatus {
		case structs.AllocClientStatusPending:
			n.starting++
		case structs.AllocClientStatusRunning:
			n.running++
		case structs.AllocClientStatusFailed:
			n.failed++
		case structs.AllocClientStatusComplete:
			n.complete++
		case structs.AllocClientStatusLost:
			n.lost++
		}
	}
	if latest != nil {
		for tg, q := range latest.QueuedAllocations {
			add(tg).queued = q
		}
	}
	rows := make([][]string, 0, len(groups))
	for _, tg := range groups {
		n := byGroup[tg]
		rows = append(rows, []string{tg, strconv.Itoa(n.queued), strconv.Itoa(n.starting), strconv.Itoa(n.running),
			strconv.Itoa(n.failed), strconv.Itoa(n.complete), strconv.Itoa(n.lost)})
	}
	return formatTable([]string{"Task Group", "Queued", "Starting", "Running", "Failed", "Complete", "Lost"}, rows)
}

// formatAllocTable is the allocations table of `job status` (and, with
// withJob, of `node status`), newest first.
func formatAllocTable(allocs []*structs.AllocListStub, now time.Time, verbose, withJob bool) string {
	sorted := slices.Clone(allocs)
	slices.SortFunc(sorted, func(x, y *structs.AllocListStub) int {
		return cmp.Or(cmp.Compare(y.CreateIndex, x.CreateIndex), strings.Compare(x.ID, y.ID))
	})
	header := []string{"ID", "Node ID", "Task Group", "Version", "Desired", "Status", "Created", "Modified"}
	if withJob {
		header = []string{"ID", "Job ID", "Task Group", "Version", "Desired", "Status", "Created", "Modified"}
	}
	rows := make([][]string, len(sorted))
	for i, a := range sorted {
		second := shortID(a.NodeID, verbose)
		if withJob {
			second = a.JobID
		}
		rows[i] = []string{shortID(a.ID, verbose), second, a.TaskGroup, strconv.FormatUint(a.JobVersion, 10),
			string(a.DesiredStatus), string(a.ClientStatus), relUnixNano(a.CreateTime, now), relUnixNano(a.ModifyTime, now)}
	}
	return formatTable(header, rows)
}

// jobTypeText is a list entry's type, with Nomad's "/periodic" and
// "/parameterized" for a parent, whose children are summarized after it.
func jobTypeText(j *structs.JobListStub) string {
	t := string(j.Type)
	switch {
	case j.Periodic:
		t += "/periodic"
	case j.Parameterized:
		t += "/parameterized"
	}
	if (j.Periodic || j.Parameterized) && j.JobSummary != nil {
		c := j.JobSummary.Children
		t += fmt.Sprintf(" (children: %d pending, %d running, %d dead)", c.Pending, c.Running, c.Dead)
	}
	return t
}

// parentJobStatus prints a periodic or parameterized job as Nomad's `job
// status`: its fields (with the next periodic launch), the summary of its
// children and the table of its children.
func parentJobStatus(c *cli.Context, client *api.Client, job *structs.Job) error {
	children, _, err := client.Jobs().List(&api.QueryOptions{Prefix: job.ID + "/"})
	if err != nil {
		return errorf(err, "Error querying the children of job %q", job.ID)
	}
	children = slices.DeleteFunc(children, func(j *structs.JobListStub) bool { return j.ParentID != job.ID })
	if ok, err := formatted(c, []any{map[string]any{"Job": job, "Children": children}}); ok {
		return err
	}
	fmt.Fprint(stdout(c), formatParentJobStatus(job, children, time.Now()))
	return nil
}

func formatParentJobStatus(job *structs.Job, children []*structs.JobListStub, now time.Time) string {
	var b strings.Builder
	fields := append(jobFieldsKV(job),
		kv{"Periodic", strconv.FormatBool(job.IsPeriodic())},
		kv{"Parameterized", strconv.FormatBool(job.IsParameterized())})
	if p := job.Periodic; p != nil {
		next := "none (disabled)"
		if p.Enabled && !job.Stop {
			if t := p.Next(now); !t.IsZero() {
				next = fmt.Sprintf("%s (%s from now)", t.Format(time.RFC3339), t.Sub(now).Round(time.Second))
			}
		}
		fields = append(fields, kv{"Next Periodic Launch", next})
	}
	b.WriteString(formatKV(fields))

	var sum structs.JobChildrenSummary
	for _, c := range children {
		switch c.Status {
		case structs.JobStatusDead:
			sum.Dead++
		case structs.JobStatusRunning:
			sum.Running++
		default:
			sum.Pending++
		}
	}
	b.WriteString("\nChildren Job Summary\n")
	b.WriteString(formatTable([]string{"Pending", "Running", "Dead"},
		[][]string{{strconv.FormatInt(sum.Pending, 10), strconv.FormatInt(sum.Running, 10), strconv.FormatInt(sum.Dead, 10)}}))

	title := "Previously Launched Jobs"
	if job.IsParameterized() {
		title = "Dispatched Jobs"
	}
	b.WriteString("\n" + title + "\n")
	if len(children) == 0 {
		b.WriteString("No instances of this job found\n")
		return b.String()
	}
	rows := make([][]string, len(children))
	for i, c := range children {
		rows[i] = []string{c.ID, string(c.Status)}
	}
	b.WriteString(formatTable([]string{"ID", "Status"}, rows))
	return b.String()
}

// jobFieldsKV are the fields `job status` shows first for every job.
func jobFieldsKV(job *structs.Job) []kv {
	return []kv{
		{"ID", job.ID},
		{"Name", job.Name},
		{"Submit Date", formatUnixNano(job.SubmitTime)},
		{"Type", string(job.Type)},
		{"Priority", strconv.Itoa(job.Priority)},
		{"Datacenters", strings.Join(job.Datacenters, ",")},
		{"Namespace", job.Namespace},
		{"Status", jobStatusText(job.Status, job.Stop)},
	}
}
