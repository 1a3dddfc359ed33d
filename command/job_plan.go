package command

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/orch-io/orch/structs"
	"github.com/urfave/cli/v2"
)

// Exit codes of `job plan`, as in Nomad.
const (
	exitPlanNoChanges = 0
	exitPlanChanges   = 1
	exitPlanError     = 255
)

// jobPlanCommand is `orch job plan`: a dry run of `job run`.
func jobPlanCommand() *cli.Command {
	return &cli.Command{
		Name:      "plan",
		Usage:     "Show what running a job file would change, without changing anything",
		UsageText: "orch job plan [options] <path>",
		Description: `Parses the job file and asks the servers what registering it would do: the
real scheduler runs against a snapshot of the cluster and nothing is
committed. Prints the difference between the running job and the file
("+" added, "-" removed, "+/-" changed), what the scheduler would do to each
task group's allocations (create, destroy, in-place update, create/destroy
update, ignore), the allocations it could not place and why, and the job
modify index to pass to "orch job run -check-index", so that the run fails
if someone changed the job in between.

Exit codes: 0 when nothing would change, 1 when something would (the job
or its allocations), 255 on an error (2 for wrong flags or arguments).

Examples:
  orch job plan web.hcl
  orch job plan -var count=5 web.hcl
  orch job plan -diff=false -verbose web.hcl`,
		Flags: append([]cli.Flag{
			addressFlag(),
			&cli.BoolFlag{Name: "diff", Value: true, Usage: "show the difference between the running job and the file"},
			verboseFlag(),
		}, jobFileFlags()...),
		Action: jobPlan,
	}
}

func jobPlan(c *cli.Context) error {
	if err := checkArgs(c, 1, 1, "one argument: the path of the job file"); err != nil {
		return err
	}
	job, err := readJobFile(c)
	if err != nil {
		return planFailed(err)
	}
	if err := validateJob(job); err != nil {
		return planFailed(validationFailed(err))
	}
	client, err := apiClient(c)
	if err != nil {
		return err
	}
	diff := c.Bool("diff")
	resp, err := client.Jobs().Plan(job, diff)
	if err != nil {
		return planFailed(errorf(err, "Error during plan"))
	}
	if resp.Warnings != "" {
		fmt.Fprintf(stderr(c), "Job Warnings:\n%s\n\n", resp.Warnings)
	}
	verbose := c.Bool("verbose")
	var b strings.Builder
	if diff && resp.Diff != nil {
		b.WriteString(formatJobDiff(resp.Diff, verbose))
		b.WriteString("\n")
	}
	b.WriteString(formatPlanDryRun(resp))
	b.WriteString(formatPlanDeployment(resp.Deployment, job))
	b.WriteString(formatPlanPreemptions(resp, verbose))
	b.WriteString(formatCheckIndexHint(resp.JobModifyIndex, jobFileArgs(c)))
	fmt.Fprint(stdout(c), b.String())
	if planHasChanges(resp) {
		return exitStatus(exitPlanChanges)
	}
	return nil
}

// planFailed prints like any error but exits 255, as `nomad job plan` does.
func planFailed(err error) error {
	var ue *usageError
	if errors.As(err, &ue) {
		return err
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "Error") {
		msg = "Error: " + msg
	}
	return cli.Exit(msg, exitPlanError)
}

// planHasChanges reports whether registering the job would change anything:
// the job itself, or any allocation (anything but "ignore").
func planHasChanges(resp *structs.JobPlanResponse) bool {
	if resp.Diff != nil && resp.Diff.Type != structs.DiffTypeNone {
		return true
	}
	if resp.Annotations != nil {
		for _, u := range resp.Annotations.DesiredTGUpdates {
			if u.Place+u.Stop+u.Migrate+u.InPlaceUpdate+u.DestructiveUpdate+u.Canary+u.Preemptions > 0 {
				return true
			}
		}
	}
	return false
}

// formatPlanDryRun is the "Scheduler dry-run" section: all placed, or which
// groups could not be placed and why (the same detail as `job status`).
func formatPlanDryRun(resp *structs.JobPlanResponse) string {
	var b strings.Builder
	b.WriteString("Scheduler dry-run:\n")
	if len(resp.FailedTGAllocs) == 0 {
		b.WriteString("- All tasks successfully allocated.\n")
		return b.String()
	}
	b.WriteString("- WARNING: Failed to place all allocations.\n")
	b.WriteString(formatFailedTGAllocs(resp.FailedTGAllocs, "  "))
	// The blocked evaluation of a dry run is never created: no ID to show.
	for _, e := range resp.CreatedEvals {
		if e.Status == structs.EvalStatusBlocked {
			b.WriteString("\n  A blocked evaluation would wait for additional capacity to place the remainder.\n")
			break
		}
	}
	return b.String()
}

// formatPlanDeployment describes the deployment the change would create:
// per group, the allocations it deploys, its canaries, how many it replaces
// at once, and whether it promotes and reverts by itself; empty when none.
func formatPlanDeployment(d *structs.Deployment, job *structs.Job) string {
	if d == nil || len(d.TaskGroups) == 0 {
		return ""
	}
	var rows [][]string
	for _, name := range d.GroupNames() {
		s := d.TaskGroups[name]
		maxParallel := "-"
		if tg := job.LookupTaskGroup(name); tg != nil && tg.Update != nil {
			maxParallel = strconv.Itoa(tg.Update.MaxParallel)
		}
		deadline := "none"
		if s.ProgressDeadline > 0 {
			deadline = s.ProgressDeadline.String()
		}
		rows = append(rows, []string{name, strconv.Itoa(s.DesiredTotal), strconv.Itoa(s.DesiredCanaries), maxParallel,
			strconv.FormatBool(s.AutoPromote), strconv.FormatBool(s.AutoRevert), deadline})
	}
	out := "\nDeployment:\n- The change creates a deployment"
	if d.RequiresPromotion() {
		out += "; its canaries wait for a promotion (\"orch deployment promote\") unless auto_promote"
	}
	out += ".\n" + formatTable([]string{"Task Group", "Desired", "Canaries", "Max Parallel", "Auto Promote", "Auto Revert", "Progress Deadline"}, rows)
	return out
}

// formatPlanPreemptions lists the allocations of other jobs the plan would
// evict, as `nomad job plan` does; empty when none.
func formatPlanPreemptions(resp *structs.JobPlanResponse, verbose bool) string {
	if resp.Annotations == nil || len(resp.Annotations.PreemptedAllocs) == 0 {
		return ""
	}
	rows := make([][]string, 0, len(resp.Annotations.PreemptedAllocs))
	for _, a := range resp.Annotations.PreemptedAllocs {
		rows = append(rows, []string{shortID(a.ID, verbose), a.JobID, a.TaskGroup})
	}
	return "\nPreemptions:\n\n" + formatTable([]string{"Alloc ID", "Job ID", "Task Group"}, rows)
}

// jobFileArgs are the arguments of `job run` that read the same job as the
// planned one: -var, -var-file and -json as the user gave them, then the
// path, each quoted for a POSIX shell where needed.
func jobFileArgs(c *cli.Context) []string {
	var args []string
	for _, v := range c.StringSlice("var") {
		args = append(args, "-var", v)
	}
	for _, f := range c.StringSlice("var-file") {
		args = append(args, "-var-file", f)
	}
	if c.Bool("json") {
		args = append(args, "-json")
	}
	args = append(args, c.Args().First())
	for i, a := range args {
		args[i] = shellQuote(a)
	}
	return args
}

// shellQuote returns s as one word of a POSIX shell: unchanged when it holds
// only characters no shell treats specially, else in single quotes.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-+=:,./@%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// formatCheckIndexHint says how to run the planned job only if it did not
// change in between; args are the job file's arguments (jobFileArgs).
func formatCheckIndexHint(index uint64, args []string) string {
	return fmt.Sprintf(`
Job Modify Index: %d
To submit the job with version verification run:

orch job run -check-index %d %s

When running the job with the check-index flag, the job will only be run if the
job modify index given matches the server-side version. If the index has
changed, another user has modified the job and the plan's results are
potentially invalid.
`, index, index, strings.Join(args, " "))
}

// formatJobDiff prints a job diff as Nomad does: one line per job, group,
// task, block and field, marked "+" (added), "-" (deleted) or "+/-"
// (edited), nested by two spaces. Fields and blocks of an element are shown
// when it was edited, or always with verbose; with verbose, the unchanged
// ones of a contextual diff too, unmarked.
func formatJobDiff(d *structs.JobDiff, verbose bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%sJob: %q\n", diffMarker(d.Type), d.ID)
	if d.Type == structs.DiffTypeEdited || verbose {
		writeFieldsAndObjects(&b, "", d.Fields, d.Objects, verbose, 0)
	}
	for _, g := range d.TaskGroups {
		fmt.Fprintf(&b, "%sTask Group: %q%s\n", diffMarker(g.Type), g.Name, formatGroupUpdates(g.Updates))
		if g.Type == structs.DiffTypeEdited || verbose {
			writeFieldsAndObjects(&b, "  ", g.Fields, g.Objects, verbose, 0)
		}
		for _, t := range g.Tasks {
			fmt.Fprintf(&b, "  %sTask: %q%s\n", diffMarker(t.Type), t.Name, parenthesized(t.Annotations))
			if t.Type == structs.DiffTypeEdited || verbose {
				writeFieldsAndObjects(&b, "    ", t.Fields, t.Objects, verbose, 0)
			}
		}
	}
	return b.String()
}

// writeFieldsAndObjects prints fields, then blocks, at indent; what did not
// change (a contextual diff's DiffTypeNone) only with verbose, unmarked but
// indented as deep as the widest marker of its level (at least minWidth, the
// parent level's), as Nomad does.
func writeFieldsAndObjects(b *strings.Builder, indent string, fields []*structs.FieldDiff, objects []*structs.ObjectDiff, verbose bool, minWidth int) {
	show := func(t structs.DiffType) bool { return t != structs.DiffTypeNone || verbose }
	width := minWidth
	for _, f := range fields {
		if show(f.Type) {
			width = max(width, len(diffMarker(f.Type)))
		}
	}
	for _, o := range objects {
		if show(o.Type) {
			width = max(width, len(diffMarker(o.Type)))
		}
	}
	marker := func(t structs.DiffType) string {
		if t == structs.DiffTypeNone {
			return strings.Repeat(" ", width)
		}
		return diffMarker(t)
	}
	for _, f := range fields {
		if show(f.Type) {
			fmt.Fprintf(b, "%s%s%s\n", indent, marker(f.Type), formatFieldDiff(f))
		}
	}
	for _, o := range objects {
		if !show(o.Type) {
			continue
		}
		fmt.Fprintf(b, "%s%s%s {\n", indent, marker(o.Type), o.Name)
		writeFieldsAndObjects(b, indent+"  ", o.Fields, o.Objects, verbose, width)
		fmt.Fprintf(b, "%s%s}\n", indent, strings.Repeat(" ", len(marker(o.Type))))
	}
}

// formatFieldDiff is a field without its marker: `Count: "3" => "5"` when
// edited, `Name: "value"` otherwise, with its annotations.
func formatFieldDiff(f *structs.FieldDiff) string {
	var s string
	switch f.Type {
	case structs.DiffTypeDeleted:
		s = fmt.Sprintf("%s: %q", f.Name, f.Old)
	case structs.DiffTypeEdited:
		s = fmt.Sprintf("%s: %q => %q", f.Name, f.Old, f.New)
	default:
		s = fmt.Sprintf("%s: %q", f.Name, f.New)
	}
	return s + parenthesized(f.Annotations)
}

// diffMarker is the prefix of a line for a change of type t.
func diffMarker(t structs.DiffType) string {
	switch t {
	case structs.DiffTypeAdded:
		return "+ "
	case structs.DiffTypeDeleted:
		return "- "
	case structs.DiffTypeEdited:
		return "+/- "
	}
	return ""
}

// updateOrder is the order in which a group's counts are listed.
var updateOrder = []string{
	structs.UpdateTypeCreate, structs.UpdateTypeDestroy, structs.UpdateTypeMigrate, structs.UpdateTypeCanary,
	structs.UpdateTypeInplaceUpdate, structs.UpdateTypeDestructiveUpdate, structs.UpdateTypeIgnore,
}

// formatGroupUpdates is " (1 create, 2 in-place update)", "" when empty.
func formatGroupUpdates(updates map[string]uint64) string {
	var parts []string
	for _, name := range updateOrder {
		if n := updates[name]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, name))
		}
	}
	// Kinds this CLI does not know yet, after the known ones.
	for _, name := range slices.Sorted(maps.Keys(updates)) {
		if n := updates[name]; n > 0 && !slices.Contains(updateOrder, name) {
			parts = append(parts, fmt.Sprintf("%d %s", n, name))
		}
	}
	return parenthesized(parts)
}

// parenthesized is " (a, b)", "" for none.
func parenthesized(items []string) string {
	if len(items) == 0 {
		return ""
	}
	return " (" + strings.Join(items, ", ") + ")"
}
