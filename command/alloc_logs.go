package command

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/structs"
	"github.com/urfave/cli/v2"
)

// defaultTailLines is what -tail shows without -n or -c, as Nomad.
const defaultTailLines = 10

// allocLogsCommand is `orch alloc logs`.
func allocLogsCommand() *cli.Command {
	return &cli.Command{
		Name:      "logs",
		Usage:     "Stream the logs of a task of an allocation",
		UsageText: "orch alloc logs [options] <alloc> [<task>]",
		Description: `Prints a task's stdout (or stderr with -stderr), across its rotated log
files, as the client running the allocation keeps them. The task may be left
out when the allocation has only one.

Examples:
  orch alloc logs 8ba85cef
  orch alloc logs -f -tail -n 20 8ba85cef web
  orch alloc logs -stderr -c 1024 8ba85cef`,
		Flags: []cli.Flag{
			addressFlag(),
			&cli.StringFlag{Name: "task", Usage: "the task (instead of the second argument)"},
			&cli.BoolFlag{Name: "stderr", Usage: "show stderr instead of stdout"},
			&cli.BoolFlag{Name: "f", Usage: "follow: keep printing what the task writes"},
			&cli.BoolFlag{Name: "tail", Usage: "start from the end (default the last 10 lines)"},
			&cli.IntFlag{Name: "n", Usage: "with -tail: the number of lines to show"},
			&cli.Int64Flag{Name: "c", Usage: "with -tail: the number of bytes to show"},
		},
		Action: allocLogs,
	}
}

func allocLogs(c *cli.Context) error {
	lines, nbytes := c.Int("n"), c.Int64("c")
	if lines < 0 || nbytes < 0 {
		return usageErrorf(c, "-n = %d, -c = %d: must be >= 0", lines, nbytes)
	}
	if c.IsSet("n") && c.IsSet("c") {
		return usageErrorf(c, "-n and -c: give one or the other")
	}
	client, id, err := allocArgs(c, "an allocation ID or prefix, and optionally a task")
	if err != nil {
		return err
	}
	alloc, task, err := allocAndTask(c, client, id)
	if err != nil {
		return err
	}
	opts := api.LogsOptions{Task: task, Stderr: c.Bool("stderr"), Follow: c.Bool("f")}
	keepLines := 0
	if c.Bool("tail") || c.IsSet("n") || c.IsSet("c") {
		opts.Origin = structs.LogOriginEnd
		switch {
		case c.IsSet("c"):
			opts.Offset = nbytes
		default:
			keepLines = defaultTailLines
			if c.IsSet("n") {
				keepLines = lines
			}
			// Enough bytes for the lines, unless they are very long.
			opts.Offset = max(int64(keepLines)*1024, 64<<10)
		}
	}
	frames, err := client.AllocFS().Logs(c.Context, alloc.ID, opts)
	if err != nil {
		return errorf(err, "Error reading the logs of task %q of allocation %s", task, alloc.ID)
	}
	defer frames.Close()
	tailLines := opts.Origin == structs.LogOriginEnd && !c.IsSet("c")
	return printLogs(stdout(c), frames, keepLines, tailLines)
}

// printLogs copies the frames' data to w. With tailLines, what was written
// before the stream started (up to the first heartbeat, or the end) is cut
// to its last keepLines lines first.
func printLogs(w io.Writer, frames *api.Frames, keepLines int, tailLines bool) error {
	var backlog bytes.Buffer
	buffering := tailLines
	flush := func() error {
		buffering = false
		_, err := w.Write(lastLines(backlog.Bytes(), keepLines))
		return err
	}
	for {
		f, err := frames.Next()
		if errors.Is(err, io.EOF) {
			if buffering {
				return flush()
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("Error reading logs: %w", err)
		}
		switch {
		case buffering && f.IsHeartbeat():
			if err := flush(); err != nil {
				return err
			}
		case buffering:
			backlog.Write(f.Data)
		case len(f.Data) > 0:
			if _, err := w.Write(f.Data); err != nil {
				return err
			}
		}
	}
}

// lastLines returns the last n lines of b (a final line without a newline
// counts).
func lastLines(b []byte, n int) []byte {
	if n <= 0 {
		return nil
	}
	end := len(b)
	if end > 0 && b[end-1] == '\n' {
		end--
	}
	for i := end - 1; i >= 0; i-- {
		if b[i] == '\n' {
			n--
			if n == 0 {
				return b[i+1:]
			}
		}
	}
	return b
}

// allocAndTask reads the allocation id and picks the task: the
// second argument or -task, else the allocation's only task.
func allocAndTask(c *cli.Context, client *api.Client, id string) (*structs.Allocation, string, error) {
	alloc, _, err := client.Allocations().Info(id, nil)
	if err != nil {
		return nil, "", errorf(err, "Error querying allocation %q", id)
	}
	task, err := taskArg(c)
	if err != nil {
		return nil, "", err
	}
	var names []string
	if alloc.Job != nil {
		if tg := alloc.Job.LookupTaskGroup(alloc.TaskGroup); tg != nil {
			for _, t := range tg.Tasks {
				names = append(names, t.Name)
			}
		}
	}
	slices.Sort(names)
	switch {
	case task != "" && !slices.Contains(names, task):
		return nil, "", fmt.Errorf("allocation %s has no task %q (tasks: %s)", structs.ShortID(alloc.ID), task, strings.Join(names, ", "))
	case task == "" && len(names) == 1:
		task = names[0]
	case task == "":
		return nil, "", usageErrorf(c, "allocation %s has %d tasks (%s): name one", structs.ShortID(alloc.ID), len(names), strings.Join(names, ", "))
	}
	return alloc, task, nil
}
