package command

import (
	"fmt"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/orch-io/orch/structs"
	"github.com/urfave/cli/v2"
)

// allocCommand is `orch alloc`, the group of allocation commands.
func allocCommand() *cli.Command {
	return &cli.Command{
		Name:        "alloc",
		Usage:       "Inspect allocations",
		UsageText:   "orch alloc <subcommand> [options] [args]",
		Subcommands: []*cli.Command{allocStatusCommand(), allocChecksCommand(), allocLogsCommand(), allocFSCommand(), allocRestartCommand(), allocSignalCommand(), allocExecCommand(), allocStopCommand()},
	}
}

// allocStatusCommand is `orch alloc status`.
func allocStatusCommand() *cli.Command {
	return &cli.Command{
		Name:      "status",
		Usage:     "Show an allocation's status and its tasks' recent events",
		UsageText: "orch alloc status [options] <alloc>",
		Description: `Shows one allocation (its ID, or a unique prefix of one): where it runs,
what the servers want of it and what its client reports, then each task's
state, resources and recent events, newest first.

Examples:
  orch alloc status 8ba85cef
  orch alloc status -verbose 8b`,
		Flags:  append([]cli.Flag{addressFlag(), verboseFlag()}, outputFlags()...),
		Action: allocStatus,
	}
}

func allocStatus(c *cli.Context) error {
	client, id, err := oneAllocArg(c)
	if err != nil {
		return err
	}
	alloc, _, err := client.Allocations().Info(id, nil)
	if err != nil {
		return errorf(err, "Error querying allocation %q", id)
	}
	if ok, err := formatted(c, alloc); ok {
		return err
	}
	// Usage is the client's too: shown for running allocations.
	var usage *structs.AllocResourceUsage
	if alloc.ClientStatus == structs.AllocClientStatusRunning {
		usage, _ = client.Allocations().Stats(id)
	}
	fmt.Fprint(stdout(c), formatAllocStatusUsage(alloc, usage, time.Now(), c.Bool("verbose")))
	// Check results are the client's: shown when this agent runs it.
	if checks, err := client.Allocations().Checks(id); err == nil && len(checks) > 0 {
		fmt.Fprint(stdout(c), "\nChecks\n"+formatChecks(checks, time.Now(), c.Bool("verbose")))
	}
	return nil
}

// formatAllocStatus renders one allocation and its tasks.
func formatAllocStatus(a *structs.Allocation, now time.Time, verbose bool) string {
	return formatAllocStatusUsage(a, nil, now, verbose)
}

// formatAllocStatusUsage renders one allocation and its tasks, with their
// resource usage when known (usage may be nil).
func formatAllocStatusUsage(a *structs.Allocation, usage *structs.AllocResourceUsage, now time.Time, verbose bool) string {
	var b strings.Builder
	version := "<unknown>"
	if a.Job != nil {
		version = strconv.FormatUint(a.Job.Version, 10)
	}
	kvs := []kv{
		{"ID", shortID(a.ID, verbose)},
		{"Eval ID", shortID(a.EvalID, verbose)},
		{"Name", a.Name},
		{"Node ID", shortID(a.NodeID, verbose)},
		{"Node Name", a.NodeName},
		{"Job ID", a.JobID},
		{"Job Version", version},
		{"Client Status", string(a.ClientStatus)},
		{"Client Description", a.ClientDescription},
		{"Desired Status", string(a.DesiredStatus)},
		{"Desired Description", a.DesiredDescription},
		{"Created", relUnixNano(a.CreateTime, now)},
		{"Modified", relUnixNano(a.ModifyTime, now)},
	}
	if a.PreviousAllocation != "" {
		kvs = append(kvs, kv{"Previous Allocation", shortID(a.PreviousAllocation, verbose)})
	}
	if a.NextAllocation != "" {
		kvs = append(kvs, kv{"Replacement Alloc ID", shortID(a.NextAllocation, verbose)})
	}
	kvs = append(kvs, rescheduleKVs(a, groupReschedulePolicy(a.Job, a.TaskGroup), now)...)
	// Preemption, as Nomad shows it: who evicted this one, whom this one evicted.
	if a.PreemptedByAllocation != "" {
		kvs = append(kvs, kv{"Preempted By Allocation", shortID(a.PreemptedByAllocation, verbose)})
	}
	if len(a.PreemptedAllocations) > 0 {
		ids := make([]string, len(a.PreemptedAllocations))
		for i, id := range a.PreemptedAllocations {
			ids[i] = shortID(id, verbose)
		}
		kvs = append(kvs, kv{"Preempted Allocations", strings.Join(ids, ", ")})
	}
	b.WriteString(formatKV(kvs))
	b.WriteString(formatAllocAddresses(a))

	// Tasks in the job's order, then any others the client reports.
	var names []string
	if a.Job != nil {
		if tg := a.Job.LookupTaskGroup(a.TaskGroup); tg != nil {
			for _, t := range tg.Tasks {
				names = append(names, t.Name)
			}
		}
	}
	for _, n := range slices.Sorted(maps.Keys(a.TaskStates)) {
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	for _, name := range names {
		b.WriteString("\n")
		var tu *structs.TaskResourceUsage
		if usage != nil {
			tu = usage.Tasks[name]
		}
		b.WriteString(formatTaskState(a, name, tu, verbose))
	}
	if verbose && a.Metrics != nil {
		b.WriteString("\n")
		b.WriteString(formatPlacementMetrics(a.Metrics, verbose))
	}
	return b.String()
}

// formatAllocAddresses renders the allocation's host ports as Nomad does:
//
//	Allocation Addresses:
//	Label  Dynamic  Address
//	*http  yes      10.0.0.7:24001
//	*db    no       10.0.0.7:5432 -> 6000
//
// It is empty for an allocation without ports.
func formatAllocAddresses(a *structs.Allocation) string {
	if a.AllocatedResources == nil || len(a.AllocatedResources.Shared.Ports) == 0 {
		return ""
	}
	dynamic := map[string]bool{}
	if a.Job != nil {
		if tg := a.Job.LookupTaskGroup(a.TaskGroup); tg != nil {
			for _, n := range tg.Networks {
				for _, p := range n.DynamicPorts {
					dynamic[p.Label] = true
				}
			}
		}
	}
	rows := make([][]string, 0, len(a.AllocatedResources.Shared.Ports))
	for _, p := range a.AllocatedResources.Shared.Ports {
		addr := net.JoinHostPort(p.HostIP, strconv.Itoa(p.Value))
		if p.To > 0 && p.To != p.Value {
			addr += " -> " + strconv.Itoa(p.To)
		}
		yes := "no"
		if dynamic[p.Label] {
			yes = "yes"
		}
		rows = append(rows, []string{"*" + p.Label, yes, addr})
	}
	return "\nAllocation Addresses:\n" + formatTable([]string{"Label", "Dynamic", "Address"}, rows)
}

// formatPlacementMetrics explains how the scheduler chose the allocation's
// node: how many nodes it looked at, and the best scores it saw, one row per
// node (best first), one column per score, then the final (mean) score.
func formatPlacementMetrics(m *structs.AllocMetric, verbose bool) string {
	var b strings.Builder
	b.WriteString("Placement Metrics\n")
	rows := []kv{
		{"Nodes Evaluated", strconv.Itoa(m.NodesEvaluated)},
		{"Nodes Filtered", strconv.Itoa(m.NodesFiltered)},
		{"Nodes Exhausted", strconv.Itoa(m.NodesExhausted)},
	}
	if m.AllocationTime > 0 { // the scheduler reads no clock; a caller may time it
		rows = append(rows, kv{"Allocation Time", time.Duration(m.AllocationTime).String()})
	}
	b.WriteString(formatKV(rows))
	b.WriteString(formatAllocMetric(m, ""))
	if len(m.ScoreMetaData) == 0 {
		return b.String()
	}
	names := map[string]bool{}
	for _, s := range m.ScoreMetaData {
		for _, sc := range s.Scores {
			names[sc.Name] = true
		}
	}
	columns := slices.Sorted(maps.Keys(names))
	table := make([][]string, len(m.ScoreMetaData))
	for i, s := range m.ScoreMetaData {
		row := []string{shortID(s.NodeID, verbose)}
		for _, n := range columns {
			v, ok := s.Scores.Get(n)
			if !ok {
				row = append(row, "-")
				continue
			}
			row = append(row, formatScore(v))
		}
		table[i] = append(row, formatScore(s.NormScore))
	}
	b.WriteString("\n")
	b.WriteString(formatTable(append(append([]string{"Node"}, columns...), "final score"), table))
	return b.String()
}

// formatScore prints a score with three significant digits.
func formatScore(v float64) string { return strconv.FormatFloat(v, 'g', 3, 64) }

// formatTaskState renders one task of an allocation: state, resources, events.
// With usage, CPU and Memory read used/allocated, as Nomad prints them.
func formatTaskState(a *structs.Allocation, name string, usage *structs.TaskResourceUsage, verbose bool) string {
	var b strings.Builder
	ts := a.TaskStates[name]
	state := string(structs.TaskStatePending)
	if ts != nil {
		state = string(ts.State)
	}
	if ts != nil && ts.Failed {
		state += " (failed)"
	}
	fmt.Fprintf(&b, "Task %q is %q\n", name, state)

	if a.AllocatedResources != nil {
		if r := a.AllocatedResources.Tasks[name]; r != nil {
			b.WriteString("Task Resources:\n")
			cpu, mem := fmt.Sprintf("%d MHz", r.CPU), fmt.Sprintf("%d MB", r.MemoryMB)
			if u := usage; u != nil && u.ResourceUsage != nil && u.ResourceUsage.CpuStats != nil && u.ResourceUsage.MemoryStats != nil {
				used := u.ResourceUsage.MemoryStats.RSS
				if u.ResourceUsage.MemoryStats.Usage != 0 {
					used = u.ResourceUsage.MemoryStats.Usage
				}
				cpu = fmt.Sprintf("%.0f/%d MHz", u.ResourceUsage.CpuStats.TotalTicks, r.CPU)
				mem = fmt.Sprintf("%s/%d MiB", formatMiB(used), r.MemoryMB)
			}
			b.WriteString(formatTable([]string{"CPU", "Memory", "Disk"}, [][]string{{
				cpu, mem, fmt.Sprintf("%d MB", a.AllocatedResources.Shared.DiskMB),
			}}))
		}
	}
	if ts == nil {
		return b.String()
	}

	b.WriteString("\nTask Events:\n")
	b.WriteString(formatKV([]kv{
		{"Started At", formatUnixNano(ts.StartedAt)},
		{"Finished At", formatUnixNano(ts.FinishedAt)},
		{"Total Restarts", strconv.FormatUint(ts.Restarts, 10)},
		{"Last Restart", formatUnixNano(ts.LastRestart)},
	}))
	b.WriteString("\nRecent Events:\n")
	if len(ts.Events) == 0 {
		b.WriteString("No events\n")
		return b.String()
	}
	rows := make([][]string, 0, len(ts.Events))
	for i := len(ts.Events) - 1; i >= 0; i-- { // newest first
		e := ts.Events[i]
		rows = append(rows, []string{formatUnixNano(e.Time), e.Type, describeTaskEvent(e)})
	}
	b.WriteString(formatTable([]string{"Time", "Type", "Description"}, rows))
	return b.String()
}

// describeTaskEvent is an event's message: the client's own, or one made
// from the event's fields.
func describeTaskEvent(e *structs.TaskEvent) string {
	if e.DisplayMessage != "" {
		return e.DisplayMessage
	}
	switch e.Type {
	case structs.TaskTerminated:
		s := fmt.Sprintf("Exit Code: %d", e.ExitCode)
		if e.Signal != 0 {
			s += fmt.Sprintf(", Signal: %d", e.Signal)
		}
		return s
	case structs.TaskRestarting, structs.TaskNotRestarting:
		return orNone(e.RestartReason)
	case structs.TaskDriverFailure:
		return orNone(e.DriverError)
	case structs.TaskKilling:
		return fmt.Sprintf("Sent interrupt. Waiting %v before force killing", time.Duration(e.KillTimeout))
	}
	return ""
}

// formatMiB prints bytes as MiB with one decimal.
func formatMiB(b uint64) string { return strconv.FormatFloat(float64(b)/(1<<20), 'f', 1, 64) }
