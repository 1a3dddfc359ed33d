package command

import (
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

// nodeCommand is `orch node`, the group of node commands.
func nodeCommand() *cli.Command {
	return &cli.Command{
		Name:        "node",
		Usage:       "Inspect client nodes",
		UsageText:   "orch node <subcommand> [options] [args]",
		Subcommands: []*cli.Command{nodeStatusCommand(), nodePoolCommand(), nodeEligibilityCommand(), nodeDrainCommand(), nodeMetaCommand()},
	}
}

// nodePoolCommand is `orch node pool`.
func nodePoolCommand() *cli.Command {
	return &cli.Command{
		Name:      "pool",
		Usage:     "Inspect node pools",
		UsageText: "orch node pool <subcommand> [options]",
		Subcommands: []*cli.Command{{
			Name:      "list",
			Usage:     "List the node pools of the registered nodes",
			UsageText: "orch node pool list [options]",
			Description: `Lists the node pools the registered client nodes are in, with how many
nodes each holds. A job runs in the pool its node_pool names ("default"
unless set; "all" for any node).

Examples:
  orch node pool list
  orch node pool list -address http://10.0.0.5:4646`,
			Flags:  []cli.Flag{addressFlag()},
			Action: nodePoolList,
		}},
	}
}

func nodePoolList(c *cli.Context) error {
	if err := checkArgs(c, 0, 0, "no arguments"); err != nil {
		return err
	}
	client, err := apiClient(c)
	if err != nil {
		return err
	}
	// The pools' node counts are orch's own: Nomad's pool list has none.
	nodes, _, err := client.Nodes().List(nil)
	if err != nil {
		return errorf(err, "Error querying node pools")
	}
	pools := structs.NodePools(nodes)
	if len(pools) == 0 {
		fmt.Fprintln(stdout(c), "No node pools: no nodes registered")
		return nil
	}
	rows := make([][]string, len(pools))
	for i, p := range pools {
		rows[i] = []string{p.Name, fmt.Sprint(p.Nodes)}
	}
	fmt.Fprint(stdout(c), formatTable([]string{"Name", "Nodes"}, rows))
	return nil
}

// nodeStatusCommand is `orch node status`.
func nodeStatusCommand() *cli.Command {
	return &cli.Command{
		Name:      "status",
		Usage:     "List client nodes, or show one node",
		UsageText: "orch node status [options] [<node>]",
		Description: `Without an argument, lists every client node. With a node ID (or a unique
prefix of one), shows the node: status, drivers, resources, what its
allocations use, and the allocations; -verbose adds attributes and meta.

Examples:
  orch node status
  orch node status -verbose f840a518`,
		Flags:  append([]cli.Flag{addressFlag(), verboseFlag()}, outputFlags()...),
		Action: nodeStatus,
	}
}

func nodeStatus(c *cli.Context) error {
	if err := checkArgs(c, 0, 1, "one argument: a node ID or prefix"); err != nil {
		return err
	}
	client, err := apiClient(c)
	if err != nil {
		return err
	}
	verbose := c.Bool("verbose")
	if c.NArg() == 0 {
		nodes, _, err := client.Nodes().List(nil)
		if err != nil {
			return errorf(err, "Error querying nodes")
		}
		if ok, err := formatted(c, nodes); ok {
			return err
		}
		if len(nodes) == 0 {
			fmt.Fprintln(stdout(c), "No nodes registered")
			return nil
		}
		fmt.Fprint(stdout(c), formatNodeList(nodes, verbose))
		return nil
	}
	id, err := resolveNodeID(client, c.Args().First())
	if err != nil {
		return err
	}
	node, _, err := client.Nodes().Info(id, nil)
	if err != nil {
		return errorf(err, "Error querying node %q", id)
	}
	if ok, err := formatted(c, node); ok {
		return err
	}
	allocs, running, err := nodeAllocs(client, id)
	if err != nil {
		return err
	}
	fmt.Fprint(stdout(c), formatNodeStatus(node, allocs, running, time.Now(), verbose))
	return nil
}

// nodeAllocs returns the allocations on a node, and the full form of those
// not terminal (for the resources they use). There is no per-node endpoint:
// the list of all allocations is filtered here.
func nodeAllocs(client *api.Client, nodeID string) ([]*structs.AllocListStub, []*structs.Allocation, error) {
	all, _, err := client.Allocations().List(nil)
	if err != nil {
		return nil, nil, errorf(err, "Error querying allocations")
	}
	var onNode []*structs.AllocListStub
	var running []*structs.Allocation
	for _, s := range all {
		if s.NodeID != nodeID {
			continue
		}
		onNode = append(onNode, s)
		if s.DesiredStatus == structs.AllocDesiredStatusStop || s.DesiredStatus == structs.AllocDesiredStatusEvict ||
			isClientTerminal(s.ClientStatus) {
			continue
		}
		a, _, err := client.Allocations().Info(s.ID, nil)
		if api.IsNotFound(err) {
			continue // collected meanwhile
		}
		if err != nil {
			return nil, nil, errorf(err, "Error querying allocation %q", s.ID)
		}
		running = append(running, a)
	}
	return onNode, running, nil
}

func isClientTerminal(s structs.AllocClientStatus) bool {
	return (&structs.Allocation{ClientStatus: s}).ClientTerminal()
}

// formatNodeList is the table of nodes.
func formatNodeList(nodes []*structs.NodeListStub, verbose bool) string {
	rows := make([][]string, len(nodes))
	for i, n := range nodes {
		rows[i] = []string{shortID(n.ID, verbose), n.Datacenter, n.Name, orNone(n.NodeClass), strconv.FormatBool(n.Drain),
			string(n.SchedulingEligibility), string(n.Status)}
	}
	return formatTable([]string{"ID", "DC", "Name", "Class", "Drain", "Eligibility", "Status"}, rows)
}

// formatNodeStatus renders one node, what its allocations use and the allocations.
func formatNodeStatus(n *structs.Node, allocs []*structs.AllocListStub, running []*structs.Allocation, now time.Time, verbose bool) string {
	var b strings.Builder
	var healthy, unhealthy []string
	for _, name := range slices.Sorted(maps.Keys(n.Drivers)) {
		d := n.Drivers[name]
		switch {
		case d.Detected && d.Healthy:
			healthy = append(healthy, name)
		case d.Detected:
			unhealthy = append(unhealthy, name)
		}
	}
	rows := []kv{
		{"ID", shortID(n.ID, verbose)},
		{"Name", n.Name},
		{"Class", n.NodeClass},
		{"DC", n.Datacenter},
		{"Node Pool", n.Pool()},
		{"Drain", formatDrain(n, now)},
		{"Eligibility", string(n.SchedulingEligibility)},
		{"Status", string(n.Status)},
	}
	if n.LastDrain != nil {
		rows = append(rows, kv{"Last Drain", fmt.Sprintf("%s (started %s, updated %s)", n.LastDrain.Status,
			formatTime(n.LastDrain.StartedAt), formatTime(n.LastDrain.UpdatedAt))})
	}
	if n.StatusDescription != "" {
		rows = append(rows, kv{"Status Description", n.StatusDescription})
	}
	rows = append(rows, kv{"Address", n.HTTPAddr}, kv{"Drivers", strings.Join(healthy, ",")})
	if len(unhealthy) > 0 {
		rows = append(rows, kv{"Unhealthy Drivers", strings.Join(unhealthy, ",")})
	}
	b.WriteString(formatKV(rows))

	total := n.Comparable()
	var used structs.ComparableResources
	for _, a := range running {
		used.Add(a.Comparable())
	}
	header := []string{"CPU", "Memory", "Disk"}
	row := []string{
		fmt.Sprintf("%d/%d MHz", used.CPU, total.CPU),
		fmt.Sprintf("%d/%d MB", used.MemoryMB, total.MemoryMB),
		fmt.Sprintf("%d/%d MB", used.DiskMB, total.DiskMB),
	}
	// Cores, on a node that offers them: how many its allocations hold of
	// those it offers, and which.
	if offered := n.SchedulableCores(); len(offered) > 0 {
		var held []int
		for _, a := range running {
			for _, r := range a.AllocatedResources.Tasks {
				if r != nil {
					held = append(held, r.ReservedCores...)
				}
			}
		}
		slices.Sort(held)
		cell := fmt.Sprintf("%d/%d", len(held), len(offered))
		if len(held) > 0 {
			cell += " (" + structs.FormatCoreList(held) + ")"
		}
		header, row = append(header, "Cores"), append(row, cell)
	}
	b.WriteString("\nAllocated Resources\n")
	b.WriteString(formatTable(header, [][]string{row}))
	if r := n.ReservedResources; r != nil && (r.CPU > 0 || r.MemoryMB > 0 || r.DiskMB > 0 || len(r.Cores) > 0) {
		header, row := []string{"CPU", "Memory", "Disk"}, []string{fmt.Sprintf("%d MHz", r.CPU), fmt.Sprintf("%d MB", r.MemoryMB), fmt.Sprintf("%d MB", r.DiskMB)}
		if len(r.Cores) > 0 {
			header, row = append(header, "Cores"), append(row, structs.FormatCoreList(r.Cores))
		}
		b.WriteString("\nReserved Resources\n")
		b.WriteString(formatTable(header, [][]string{row}))
	}

	b.WriteString("\nAllocations\n")
	if len(allocs) == 0 {
		b.WriteString("No allocations placed\n")
	} else {
		b.WriteString(formatAllocTable(allocs, now, verbose, true))
	}

	if verbose {
		if len(n.Drivers) > 0 {
			b.WriteString("\nDrivers\n")
			var drows [][]string
			for _, name := range slices.Sorted(maps.Keys(n.Drivers)) {
				d := n.Drivers[name]
				drows = append(drows, []string{name, fmt.Sprint(d.Detected), fmt.Sprint(d.Healthy), orNone(d.HealthDescription)})
			}
			b.WriteString(formatTable([]string{"Driver", "Detected", "Healthy", "Message"}, drows))
		}
		b.WriteString(formatNodeEvents(n.Events))
		b.WriteString("\nAttributes\n")
		b.WriteString(formatMap(n.Attributes))
		b.WriteString("\nMeta\n")
		b.WriteString(formatMap(n.Meta))
	}
	return b.String()
}

// formatMap is a key = value block of m, sorted by key ("<none>" when empty).
func formatMap(m map[string]string) string {
	if len(m) == 0 {
		return "<none>\n"
	}
	rows := make([]kv, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		rows = append(rows, kv{k, m[k]})
	}
	return formatKV(rows)
}
