package command

import (
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/internal/atomicfile"
	"github.com/orch-io/orch/server"
	"github.com/urfave/cli/v2"
)

// operatorSnapshotCommand is `orch operator snapshot`: save, inspect and
// restore snapshots of the cluster state (the file format is in
// server/snapshot.go).
func operatorSnapshotCommand() *cli.Command {
	return &cli.Command{
		Name:      "snapshot",
		Usage:     "Save, inspect and restore snapshots of the cluster state",
		UsageText: "orch operator snapshot <subcommand> [options] FILE",
		Subcommands: []*cli.Command{
			operatorSnapshotSaveCommand(),
			operatorSnapshotInspectCommand(),
			operatorSnapshotRestoreCommand(),
		},
	}
}

func operatorSnapshotSaveCommand() *cli.Command {
	return &cli.Command{
		Name:      "save",
		Usage:     "Save a snapshot of the cluster state to a file",
		UsageText: "orch operator snapshot save [options] FILE",
		Description: `Asks the leader for a snapshot of the whole cluster state (jobs, nodes,
allocations, evaluations, scheduler configuration) and writes it to FILE,
with a checksum. The file is written under a temporary name and renamed once
complete and verified, so FILE is never half written. With -stale, the
agent's server snapshots its own state even if it is not the leader (for
when there is none); its state may lag the leader's.

Example:
  orch operator snapshot save backup.snap`,
		Flags: []cli.Flag{
			addressFlag(),
			&cli.BoolFlag{Name: "stale", Usage: "let the agent's server snapshot its own state, leader or not (when there is no leader)"},
		},
		Action: operatorSnapshotSave,
	}
}

func operatorSnapshotSave(c *cli.Context) error {
	if err := checkArgs(c, 1, 1, "one argument: the file to write"); err != nil {
		return err
	}
	path := c.Args().First()
	client, err := apiClient(c)
	if err != nil {
		return err
	}
	body, err := client.Operator().SnapshotSave(&api.QueryOptions{AllowStale: c.Bool("stale")})
	if err != nil {
		return errorf(err, "Error saving the snapshot")
	}
	defer body.Close()
	data, err := io.ReadAll(body)
	if err != nil {
		return errorf(err, "Error receiving the snapshot")
	}
	// Verify before writing: a snapshot damaged on the way is no backup.
	if _, _, err := server.ReadSnapshot(data); err != nil {
		return errorf(err, "Error verifying the received snapshot")
	}
	if err := atomicfile.Write(path, data, 0o600); err != nil {
		return errorf(err, "Error writing the snapshot")
	}
	fmt.Fprintf(stdout(c), "State file written to %s\n", path)
	return nil
}

func operatorSnapshotInspectCommand() *cli.Command {
	return &cli.Command{
		Name:      "inspect",
		Usage:     "Show what a snapshot file holds",
		UsageText: "orch operator snapshot inspect FILE",
		Description: `Verifies a snapshot file's checksum and shows its Raft index and term,
when it was taken, its size, and how many jobs, nodes, allocations and
evaluations it holds. It reads the file only: no agent is needed.

Example:
  orch operator snapshot inspect backup.snap`,
		Action: operatorSnapshotInspect,
	}
}

func operatorSnapshotInspect(c *cli.Context) error {
	if err := checkArgs(c, 1, 1, "one argument: the snapshot file"); err != nil {
		return err
	}
	path := c.Args().First()
	data, err := os.ReadFile(path)
	if err != nil {
		return errorf(err, "Error reading the snapshot")
	}
	sum, err := server.InspectSnapshot(data)
	if err != nil {
		return errorf(err, "Error inspecting %s", path)
	}
	fmt.Fprint(stdout(c), formatKV([]kv{
		{"Index", strconv.FormatUint(sum.Index, 10)},
		{"Term", strconv.FormatUint(sum.Term, 10)},
		{"Created", formatTime(sum.Created)},
		{"Size", strconv.Itoa(len(data))},
		{"Jobs", strconv.Itoa(sum.Jobs)},
		{"Nodes", strconv.Itoa(sum.Nodes)},
		{"Allocations", strconv.Itoa(sum.Allocs)},
		{"Evaluations", strconv.Itoa(sum.Evals)},
	}))
	return nil
}

func operatorSnapshotRestoreCommand() *cli.Command {
	return &cli.Command{
		Name:      "restore",
		Usage:     "Replace the cluster state with a snapshot's",
		UsageText: "orch operator snapshot restore [options] FILE",
		Description: `Replaces the whole cluster state with the snapshot file's, through Raft:
the leader verifies the file's checksum, takes on its state, replicates it
to every server and restarts its duties (eval broker, heartbeats) from it.
Everything written since the snapshot was taken is lost. Meant for disaster
recovery, typically into a new cluster.

Example:
  orch operator snapshot restore backup.snap`,
		Flags:  []cli.Flag{addressFlag()},
		Action: operatorSnapshotRestore,
	}
}

func operatorSnapshotRestore(c *cli.Context) error {
	if err := checkArgs(c, 1, 1, "one argument: the snapshot file"); err != nil {
		return err
	}
	data, err := os.ReadFile(c.Args().First())
	if err != nil {
		return errorf(err, "Error reading the snapshot")
	}
	client, err := apiClient(c)
	if err != nil {
		return err
	}
	if _, err := client.Operator().SnapshotRestore(data); err != nil {
		return errorf(err, "Error restoring the snapshot")
	}
	fmt.Fprintln(stdout(c), "Snapshot Restored")
	return nil
}
