package command

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"
)

// allocFSCommand is `orch alloc fs`.
func allocFSCommand() *cli.Command {
	return &cli.Command{
		Name:      "fs",
		Usage:     "List or print the files of an allocation",
		UsageText: "orch alloc fs [options] <alloc> [<path>]",
		Description: `Lists a directory of an allocation's directory (its root by default), or
prints a file, as the client running the allocation has them. Paths are
relative to the allocation directory: alloc/logs, web/local/config.json.
Paths cannot leave it ("..", or a symlink that points outside, are refused).

Examples:
  orch alloc fs 8ba85cef
  orch alloc fs 8ba85cef alloc/logs
  orch alloc fs -stat 8ba85cef web/local/app.conf
  orch alloc fs 8ba85cef alloc/logs/web.stdout.0`,
		Flags: []cli.Flag{
			addressFlag(),
			&cli.BoolFlag{Name: "stat", Usage: "describe the file instead of printing it"},
		},
		Action: allocFS,
	}
}

func allocFS(c *cli.Context) error {
	client, id, err := allocArgs(c, "an allocation ID or prefix, and optionally a path")
	if err != nil {
		return err
	}
	path := c.Args().Get(1)
	if path == "" {
		path = "/"
	}
	fs := client.AllocFS()
	info, err := fs.Stat(c.Context, id, path)
	if err != nil {
		return errorf(err, "Error reading %q of allocation %s", path, id)
	}
	w := stdout(c)
	if c.Bool("stat") || info.IsDir {
		files := []*infoRow{{info.FileMode, info.Size, info.ModTime.Format("2006-01-02T15:04:05Z07:00"), info.Name, info.IsDir}}
		if info.IsDir && !c.Bool("stat") {
			list, err := fs.List(c.Context, id, path)
			if err != nil {
				return errorf(err, "Error listing %q of allocation %s", path, id)
			}
			files = files[:0]
			for _, f := range list {
				files = append(files, &infoRow{f.FileMode, f.Size, f.ModTime.Format("2006-01-02T15:04:05Z07:00"), f.Name, f.IsDir})
			}
		}
		printFileRows(w, files)
		return nil
	}
	body, err := fs.Cat(c.Context, id, path)
	if err != nil {
		return errorf(err, "Error reading %q of allocation %s", path, id)
	}
	defer body.Close()
	if _, err := io.Copy(w, body); err != nil {
		return errorf(err, "Error reading %q of allocation %s", path, id)
	}
	return nil
}

type infoRow struct {
	mode    string
	size    int64
	modTime string
	name    string
	isDir   bool
}

// printFileRows prints files as Nomad's alloc fs does: mode, size, time, name
// (directories end with /).
func printFileRows(w io.Writer, files []*infoRow) {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "Mode\tSize\tModified Time\tName")
	for _, f := range files {
		name := f.name
		if f.isDir && !strings.HasSuffix(name, "/") {
			name += "/"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", f.mode, f.size, f.modTime, name)
	}
	tw.Flush()
}
