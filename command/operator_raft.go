package command

import (
	"fmt"
	"strconv"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/structs"
	"github.com/urfave/cli/v2"
)

// operatorRaftCommand is `orch operator raft`, the Raft membership commands.
func operatorRaftCommand() *cli.Command {
	return &cli.Command{
		Name:      "raft",
		Usage:     "Inspect and change the Raft configuration of the servers",
		UsageText: "orch operator raft <subcommand> [options]",
		Subcommands: []*cli.Command{
			operatorRaftListPeersCommand(),
			operatorRaftRemovePeerCommand(),
			operatorRaftTransferLeadershipCommand(),
		},
	}
}

func operatorRaftListPeersCommand() *cli.Command {
	return &cli.Command{
		Name:      "list-peers",
		Usage:     "List the servers of the Raft configuration",
		UsageText: "orch operator raft list-peers [options]",
		Description: `Lists the servers of the Raft configuration as the leader sees it: node
name, Raft ID, address, whether it leads, and whether it votes.

Example:
  orch operator raft list-peers`,
		Flags: []cli.Flag{
			addressFlag(),
			&cli.BoolFlag{Name: "stale", Usage: "let any server answer, not only the leader"},
		},
		Action: operatorRaftListPeers,
	}
}

func operatorRaftListPeers(c *cli.Context) error {
	if err := checkArgs(c, 0, 0, "no arguments"); err != nil {
		return err
	}
	client, err := apiClient(c)
	if err != nil {
		return err
	}
	resp, err := client.Operator().RaftGetConfiguration(&api.QueryOptions{AllowStale: c.Bool("stale")})
	if err != nil {
		return errorf(err, "Error querying the raft configuration")
	}
	fmt.Fprint(stdout(c), formatRaftPeers(resp.Servers))
	return nil
}

// formatRaftPeers is list-peers' table (Nomad's columns).
func formatRaftPeers(servers []*structs.RaftServer) string {
	rows := make([][]string, 0, len(servers))
	for _, s := range servers {
		state := "follower"
		if s.Leader {
			state = "leader"
		}
		rows = append(rows, []string{orNone(s.Node), s.ID, s.Address, state,
			strconv.FormatBool(s.Voter), s.RaftProtocol})
	}
	return formatTable([]string{"Node", "ID", "Address", "State", "Voter", "RaftProtocol"}, rows)
}

func operatorRaftRemovePeerCommand() *cli.Command {
	return &cli.Command{
		Name:      "remove-peer",
		Usage:     "Remove a server from the Raft configuration",
		UsageText: "orch operator raft remove-peer [options] (-peer-id ID | -peer-address HOST:PORT)",
		Description: `Removes a server from the Raft configuration, for a server that failed and
will not come back. A server that leaves gracefully removes itself; a server
that is still alive in gossip is added back by the leader. The leader cannot
be removed: transfer leadership first (orch operator raft transfer-leadership).

Examples:
  orch operator raft remove-peer -peer-id 2f0b0c4e-5e1a-4b0e-9d0e-6c4f0e7a9b11
  orch operator raft remove-peer -peer-address 10.0.0.3:4647`,
		Flags: []cli.Flag{
			addressFlag(),
			&cli.StringFlag{Name: "peer-id", Usage: "the Raft ID of the server to remove (see list-peers)"},
			&cli.StringFlag{Name: "peer-address", Usage: "the Raft address (host:port) of the server to remove"},
		},
		Action: operatorRaftRemovePeer,
	}
}

func operatorRaftRemovePeer(c *cli.Context) error {
	if err := checkArgs(c, 0, 0, "no arguments: -peer-id or -peer-address"); err != nil {
		return err
	}
	id, addr := c.String("peer-id"), c.String("peer-address")
	switch {
	case id == "" && addr == "":
		return usageErrorf(c, "missing -peer-id or -peer-address: which server to remove")
	case id != "" && addr != "":
		return usageErrorf(c, "both -peer-id and -peer-address given: give one of them")
	}
	client, err := apiClient(c)
	if err != nil {
		return err
	}
	if id != "" {
		err = client.Operator().RaftRemovePeerByID(id)
	} else {
		err = client.Operator().RaftRemovePeerByAddress(addr)
	}
	if err != nil {
		return errorf(err, "Error removing the peer")
	}
	if id != "" {
		fmt.Fprintf(stdout(c), "Removed peer with id %q\n", id)
	} else {
		fmt.Fprintf(stdout(c), "Removed peer with address %q\n", addr)
	}
	return nil
}

func operatorRaftTransferLeadershipCommand() *cli.Command {
	return &cli.Command{
		Name:      "transfer-leadership",
		Usage:     "Hand leadership to another server",
		UsageText: "orch operator raft transfer-leadership [options] [-peer-id ID]",
		Description: `Makes the leader hand leadership to the server with -peer-id (a voter),
or without it to the most up-to-date voter, and waits until the transfer
has finished.

Examples:
  orch operator raft transfer-leadership
  orch operator raft transfer-leadership -peer-id 2f0b0c4e-5e1a-4b0e-9d0e-6c4f0e7a9b11`,
		Flags: []cli.Flag{
			addressFlag(),
			&cli.StringFlag{Name: "peer-id", Usage: "the Raft ID of the server to hand leadership to (see list-peers)"},
		},
		Action: operatorRaftTransferLeadership,
	}
}

func operatorRaftTransferLeadership(c *cli.Context) error {
	if err := checkArgs(c, 0, 0, "no arguments: options only"); err != nil {
		return err
	}
	client, err := apiClient(c)
	if err != nil {
		return err
	}
	if err := client.Operator().RaftTransferLeadership(c.String("peer-id")); err != nil {
		return errorf(err, "Error transferring leadership")
	}
	fmt.Fprintln(stdout(c), "Leadership transferred")
	return nil
}
