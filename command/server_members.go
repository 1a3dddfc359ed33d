package command

import (
	"cmp"
	"fmt"
	"net"
	"slices"
	"strconv"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/structs"
	"github.com/urfave/cli/v2"
)

// serverCommand is `orch server`, the group of server commands.
func serverCommand() *cli.Command {
	return &cli.Command{
		Name:        "server",
		Usage:       "Inspect the servers",
		UsageText:   "orch server <subcommand> [options] [args]",
		Subcommands: []*cli.Command{serverMembersCommand()},
	}
}

// serverMembersCommand is `orch server members`.
func serverMembersCommand() *cli.Command {
	return &cli.Command{
		Name:      "members",
		Usage:     "List the servers in the gossip pool",
		UsageText: "orch server members [options]",
		Description: `Lists the servers the agent knows through gossip: address, gossip status,
which one leads, and their datacenter and region.

Example:
  orch server members -address http://10.0.0.1:4646`,
		Flags:  []cli.Flag{addressFlag()},
		Action: serverMembers,
	}
}

func serverMembers(c *cli.Context) error {
	if err := checkArgs(c, 0, 0, "no arguments"); err != nil {
		return err
	}
	client, err := apiClient(c)
	if err != nil {
		return err
	}
	resp, err := client.Agent().Members()
	if err != nil {
		return errorf(err, "Error querying members")
	}
	// The leader's address, to mark it when members do not carry a leader tag.
	leader, err := client.Status().Leader()
	if err != nil {
		leader = ""
	}
	fmt.Fprint(stdout(c), formatMembers(resp.Members, leader))
	return nil
}

// formatMembers is the table of server members (members whose role tag says
// otherwise are clients, and left out), sorted by name.
func formatMembers(members []*structs.AgentMember, leader string) string {
	var servers []*structs.AgentMember
	for _, m := range members {
		if api.IsServerMember(m) {
			servers = append(servers, m)
		}
	}
	if len(servers) == 0 {
		return "No servers found\n"
	}
	slices.SortFunc(servers, func(a, b *structs.AgentMember) int { return cmp.Compare(a.Name, b.Name) })
	rows := make([][]string, len(servers))
	for i, m := range servers {
		rows[i] = []string{m.Name, m.Addr, strconv.Itoa(int(m.Port)), m.Status, strconv.FormatBool(isLeader(m, leader)),
			tagOr(m, "voter", "-"), tagOr(m, "version", "-"), tagOr(m, "dc", "-"), tagOr(m, "region", "-")}
	}
	return formatTable([]string{"Name", "Address", "Port", "Status", "Leader", "Voter", "Build", "Datacenter", "Region"}, rows)
}

// isLeader reports whether m is the leader: its "leader" tag, or its RPC
// address (tag "rpc_addr", or Addr with tag "port") equal to leader's.
func isLeader(m *structs.AgentMember, leader string) bool {
	if v, ok := m.Tags["leader"]; ok {
		return v == "true"
	}
	if leader == "" {
		return false
	}
	if m.Tags["rpc_addr"] == leader {
		return true
	}
	if port := m.Tags["port"]; port != "" {
		return net.JoinHostPort(m.Addr, port) == leader
	}
	return false
}

func tagOr(m *structs.AgentMember, tag, def string) string {
	if v := m.Tags[tag]; v != "" {
		return v
	}
	return def
}
