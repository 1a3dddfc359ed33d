package command

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/server/drainer"
	"github.com/orch-io/orch/structs"
	"github.com/urfave/cli/v2"
)

// nodeDrainCommand is `orch node drain`.
func nodeDrainCommand() *cli.Command {
	return &cli.Command{
		Name:      "drain",
		Usage:     "Drain a node for maintenance, or cancel its drain",
		UsageText: "orch node drain [options] -enable|-disable|-monitor <node>",
		Description: `-enable makes the node ineligible and moves its allocations away: service
allocations are migrated in batches paced by each group's migrate block,
batch allocations are left to finish, system allocations are stopped last
(unless -ignore-system). At the deadline everything left is stopped. The
drain is complete once the node's client reports every allocation stopped.
Without -detach, the drain is monitored until then.

-disable cancels a drain (allocations already moved stay where they went) and
makes the node eligible again, unless -keep-ineligible.

Examples:
  orch node drain -enable -yes f840a518
  orch node drain -enable -deadline 30m -ignore-system -yes f8
  orch node drain -monitor f8
  orch node drain -disable -self`,
		Flags: []cli.Flag{addressFlag(), verboseFlag(),
			&cli.BoolFlag{Name: "enable", Usage: "start draining the node"},
			&cli.BoolFlag{Name: "disable", Usage: "cancel the node's drain"},
			&cli.DurationFlag{Name: "deadline", Value: time.Hour, Usage: "stop whatever is left on the node after this `DURATION`"},
			&cli.BoolFlag{Name: "no-deadline", Usage: "wait for every allocation to move or finish, however long it takes"},
			&cli.BoolFlag{Name: "force", Usage: "stop every allocation now (a deadline of now)"},
			&cli.BoolFlag{Name: "ignore-system", Usage: "leave system allocations running"},
			&cli.BoolFlag{Name: "keep-ineligible", Usage: "with -disable, keep the node ineligible"},
			&cli.BoolFlag{Name: "detach", Usage: "return once the drain is set, without monitoring it"},
			&cli.BoolFlag{Name: "monitor", Usage: "monitor the node's drain (alone: an existing drain)"},
			&cli.BoolFlag{Name: "yes", Usage: "do not ask for confirmation"},
			&cli.BoolFlag{Name: "self", Usage: "the node of the local agent (instead of a node argument)"},
		},
		Action: nodeDrain,
	}
}

// drainFlags checks the flag combinations and returns the drain spec to
// send: nil with -disable (or -monitor alone).
func drainFlags(c *cli.Context) (*structs.DrainSpec, error) {
	enable, disable, monitorOnly := c.Bool("enable"), c.Bool("disable"), c.Bool("monitor")
	switch {
	case enable && disable:
		return nil, usageErrorf(c, "-enable and -disable cannot be used together")
	case !enable && !disable && !monitorOnly:
		return nil, usageErrorf(c, "one of -enable, -disable or -monitor is required")
	case c.Bool("keep-ineligible") && !disable:
		return nil, usageErrorf(c, "-keep-ineligible applies only with -disable")
	case !enable:
		for _, f := range []string{"deadline", "no-deadline", "force", "ignore-system"} {
			if c.IsSet(f) {
				return nil, usageErrorf(c, "-%s applies only with -enable", f)
			}
		}
		return nil, nil
	}
	set := 0
	for _, f := range []string{"deadline", "no-deadline", "force"} {
		if c.IsSet(f) {
			set++
		}
	}
	if set > 1 {
		return nil, usageErrorf(c, "-deadline, -no-deadline and -force exclude one another")
	}
	spec := &structs.DrainSpec{Deadline: c.Duration("deadline"), IgnoreSystemJobs: c.Bool("ignore-system")}
	switch {
	case c.Bool("force"):
		spec.Deadline = -1
	case c.Bool("no-deadline"):
		spec.Deadline = 0
	case spec.Deadline <= 0:
		return nil, usageErrorf(c, "-deadline %s: must be > 0 (use -no-deadline or -force)", spec.Deadline)
	}
	return spec, nil
}

func nodeDrain(c *cli.Context) error {
	spec, err := drainFlags(c)
	if err != nil {
		return err
	}
	client, err := apiClient(c)
	if err != nil {
		return err
	}
	id, err := nodeArg(c, client)
	if err != nil {
		return err
	}
	enable, disable := c.Bool("enable"), c.Bool("disable")
	if enable || disable {
		if !c.Bool("yes") && !confirm(c, id, enable) {
			fmt.Fprintln(stdout(c), "Canceling drain: not confirmed (pass -yes to skip the question)")
			return exitStatus(exitError)
		}
		if _, err := client.Nodes().UpdateDrain(id, spec, !c.Bool("keep-ineligible")); err != nil {
			return errorf(err, "Error updating drain of node %q", id)
		}
		word := "enabled"
		if disable {
			word = "disabled"
		}
		fmt.Fprintf(stdout(c), "%s: Drain %s for node %q\n", formatTime(time.Now()), word, id)
		if disable || c.Bool("detach") {
			return nil
		}
	}
	ctx := c.Context
	if ctx == nil {
		ctx = context.Background()
	}
	m := &drainMonitor{client: client, out: stdout(c), nodeID: id, verbose: c.Bool("verbose"), ctx: ctx}
	return m.run()
}

// confirm asks on stdin whether to go ahead.
func confirm(c *cli.Context, nodeID string, enable bool) bool {
	verb := "enable"
	if !enable {
		verb = "disable"
	}
	fmt.Fprintf(stdout(c), "Are you sure you want to %s drain mode for node %q? [y/N] ", verb, nodeID)
	line, _ := bufio.NewReader(c.App.Reader).ReadString('\n')
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return true
	}
	fmt.Fprintln(stdout(c))
	return false
}

// nodeArg is the node a node command acts on: the one argument (an ID or
// unique prefix), or with -self the local agent's client node.
func nodeArg(c *cli.Context, client *api.Client) (string, error) {
	if c.Bool("self") {
		if err := checkArgs(c, 0, 0, "no node argument with -self"); err != nil {
			return "", err
		}
		h, err := client.Agent().Health()
		if err != nil {
			return "", errorf(err, "Error querying the local agent")
		}
		if h.Client == nil || h.Client.NodeID == "" {
			return "", fmt.Errorf("-self: the agent at %s runs no client node", c.String("address"))
		}
		return h.Client.NodeID, nil
	}
	if err := checkArgs(c, 1, 1, "one argument: a node ID or prefix (or -self)"); err != nil {
		return "", err
	}
	return resolveNodeID(client, c.Args().First())
}

// drainMonitor follows a node's drain with blocking queries and prints what
// happens to its allocations, until the drain ends:
//
//	2024-05-01T10:00:00Z: Alloc "3f2a1b0c" marked for migration
//	2024-05-01T10:00:01Z: Alloc "3f2a1b0c" draining
//	2024-05-01T10:00:03Z: Alloc "3f2a1b0c" status running -> complete
//	2024-05-01T10:00:13Z: Alloc "3f2a1b0c" replaced by "9c1d0e2f" (healthy)
//	2024-05-01T10:00:20Z: Drain complete for node "f840a518"
type drainMonitor struct {
	client  *api.Client
	out     io.Writer
	nodeID  string
	verbose bool
	ctx     context.Context
	jobs    map[structs.NamespacedID]*structs.Job // fetched once, for their migrate blocks
	waiting string                                // the reasons last printed
}

// explain prints, when they change, the reasons the drain waits: the
// servers' own decision (drainer.Decide) computed here from what the API
// shows.
func (m *drainMonitor) explain(node *structs.Node, all []*structs.AllocListStub) {
	in := drainer.Input{Now: time.Now(), Node: node, Jobs: map[structs.NamespacedID]*structs.Job{}, JobAllocs: map[structs.NamespacedID][]*structs.Allocation{}}
	previous := previousAllocations(all)
	for _, s := range all {
		a := allocFromStub(s, previous)
		key := drainer.JobKey(a)
		if s.NodeID == m.nodeID {
			in.Allocs = append(in.Allocs, a)
			if job := m.job(key); job != nil {
				in.Jobs[key] = job
			}
		}
		in.JobAllocs[key] = append(in.JobAllocs[key], a)
	}
	if w := strings.Join(drainer.Decide(in).Waiting, "; "); w != "" && w != m.waiting {
		m.waiting = w
		m.line("Drain waiting: %s", w)
	}
}

// allocFromStub is the part of an allocation a list shows; previous is
// previousAllocations of the list.
func allocFromStub(s *structs.AllocListStub, previous map[string]string) *structs.Allocation {
	return &structs.Allocation{ID: s.ID, Name: s.Name, Namespace: s.Namespace, NodeID: s.NodeID, JobID: s.JobID, TaskGroup: s.TaskGroup,
		DesiredStatus: s.DesiredStatus, ClientStatus: s.ClientStatus, TaskStates: s.TaskStates,
		DesiredTransition: s.DesiredTransition, DeploymentStatus: s.DeploymentStatus,
		PreviousAllocation: previous[s.ID], NextAllocation: s.NextAllocation, ModifyTime: s.ModifyTime}
}

// previousAllocations maps each replacement in a list to the allocation it
// replaces: a list entry names its replacement (NextAllocation), not its
// predecessor.
func previousAllocations(all []*structs.AllocListStub) map[string]string {
	previous := map[string]string{}
	for _, a := range all {
		if a.NextAllocation != "" {
			previous[a.NextAllocation] = a.ID
		}
	}
	return previous
}

// job returns the job with ID id, fetched once (nil when gone).
func (m *drainMonitor) job(id structs.NamespacedID) *structs.Job {
	job, ok := m.jobs[id]
	if !ok {
		job, _, _ = m.client.Jobs().Info(id.ID, &api.QueryOptions{Context: m.ctx, Namespace: id.Namespace})
		m.jobs[id] = job // nil (gone, or an error) is remembered too
	}
	return job
}

// allocSeen is what the monitor last printed of an allocation.
type allocSeen struct {
	marked, draining, replaced bool
	status                     structs.AllocClientStatus
}

func (m *drainMonitor) line(format string, args ...any) {
	fmt.Fprintf(m.out, "%s: %s\n", formatTime(time.Now()), fmt.Sprintf(format, args...))
}

func (m *drainMonitor) run() error {
	seen := map[string]*allocSeen{}
	m.jobs = map[structs.NamespacedID]*structs.Job{}
	var completeAt time.Time
	for {
		node, _, err := m.client.Nodes().Info(m.nodeID, &api.QueryOptions{Context: m.ctx})
		if err != nil {
			return errorf(err, "Error querying node %q", m.nodeID)
		}
		// A node runs allocations of every namespace.
		all, ameta, err := m.client.Allocations().List(&api.QueryOptions{Context: m.ctx, Namespace: structs.AllNamespaces})
		if err != nil {
			return errorf(err, "Error querying allocations")
		}
		pending := m.report(all, seen)
		if node.DrainStrategy != nil {
			m.explain(node, all)
		}
		if node.DrainStrategy == nil {
			if node.LastDrain == nil || node.LastDrain.Status != structs.DrainStatusComplete {
				m.line("No drain strategy set for node %q", shortID(m.nodeID, m.verbose))
				return nil
			}
			// The node is empty; say how the replacements came up, for a
			// while, before saying so.
			if completeAt.IsZero() {
				completeAt = time.Now()
			}
			if pending == 0 || time.Since(completeAt) > drainMonitorHealthWait {
				m.line("Drain complete for node %q", shortID(m.nodeID, m.verbose))
				return nil
			}
		}
		// Wait for a change of the allocations; health (by time) and the
		// node's own changes are seen within a second anyway.
		q := &api.QueryOptions{Context: m.ctx, WaitIndex: ameta.LastIndex, WaitTime: time.Second, Namespace: structs.AllNamespaces}
		if _, _, err := m.client.Allocations().List(q); err != nil {
			return errorf(err, "Error querying allocations")
		}
	}
}

// drainMonitorHealthWait bounds how long the monitor, once the node is
// empty, waits for replacements to become healthy before it ends.
const drainMonitorHealthWait = time.Minute

// report prints what changed among the node's allocations since seen. It
// returns how many migrated allocations have a live replacement not yet
// reported healthy.
func (m *drainMonitor) report(all []*structs.AllocListStub, seen map[string]*allocSeen) int {
	pending := 0
	byID := make(map[string]*structs.AllocListStub, len(all))
	for _, a := range all {
		byID[a.ID] = a
	}
	for _, a := range all {
		if a.NodeID != m.nodeID {
			continue
		}
		s := seen[a.ID]
		if s == nil {
			s = &allocSeen{status: a.ClientStatus}
			seen[a.ID] = s
		}
		id := shortID(a.ID, m.verbose)
		if a.DesiredTransition.Migrate && !s.marked {
			s.marked = true
			m.line("Alloc %q marked for migration", id)
		}
		if a.DesiredStatus != structs.AllocDesiredStatusRun && !isClientTerminal(a.ClientStatus) && !s.draining {
			s.draining = true
			m.line("Alloc %q draining", id)
		}
		if a.ClientStatus != s.status {
			m.line("Alloc %q status %s -> %s", id, s.status, a.ClientStatus)
			s.status = a.ClientStatus
		}
		r := byID[a.NextAllocation]
		switch {
		case r == nil || s.replaced || !s.marked:
		case m.healthy(r):
			s.replaced = true
			m.line("Alloc %q replaced by %q (healthy)", id, shortID(r.ID, m.verbose))
		case r.DesiredStatus == structs.AllocDesiredStatusRun && !isClientTerminal(r.ClientStatus):
			pending++
		}
	}
	return pending
}

// healthy reports whether a replacement is healthy: the client's verdict
// when it gave one, else the servers' stand-in (its tasks running for the
// group's migrate min_healthy_time; TODO(#8): client-reported health).
func (m *drainMonitor) healthy(r *structs.AllocListStub) bool {
	if ds := r.DeploymentStatus; ds != nil && ds.Healthy != nil {
		return *ds.Healthy
	}
	job := m.job(structs.NamespacedID{Namespace: structs.NamespaceOr(r.Namespace), ID: r.JobID})
	minHealthy := structs.DefaultMigrateStrategy(structs.JobTypeService).MinHealthyTime
	if tg := groupOf(job, r.TaskGroup); tg != nil && tg.Migrate != nil {
		minHealthy = tg.Migrate.MinHealthyTime
	}
	ok, _ := allocFromStub(r, nil).HealthyByTaskStates(minHealthy, time.Now())
	return ok
}

func groupOf(job *structs.Job, group string) *structs.TaskGroup {
	if job == nil {
		return nil
	}
	return job.LookupTaskGroup(group)
}

// formatDrain is the node's Drain field: "false", or the drain's deadline.
func formatDrain(n *structs.Node, now time.Time) string {
	ds := n.DrainStrategy
	switch {
	case ds == nil:
		return "false"
	case ds.Deadline < 0:
		return "true; force"
	case ds.Deadline == 0:
		return "true; no deadline"
	}
	return fmt.Sprintf("true; %s deadline (%s)", formatTime(ds.ForceDeadline), prettyTimeDiff(ds.ForceDeadline, now))
}

// formatNodeEvents is the Events table of `node status -verbose`, newest first.
func formatNodeEvents(events []*structs.NodeEvent) string {
	if len(events) == 0 {
		return ""
	}
	rows := make([][]string, 0, len(events))
	for i := len(events) - 1; i >= 0; i-- {
		e := events[i]
		rows = append(rows, []string{formatTime(e.Timestamp), e.Subsystem, e.Message})
	}
	return "\nEvents\n" + formatTable([]string{"Time", "Subsystem", "Message"}, rows)
}
