package command

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/orch-io/orch/api"
	"github.com/urfave/cli/v2"
)

// nodeMetaCommand is `orch node meta`, Nomad 1.5's dynamic node metadata.
func nodeMetaCommand() *cli.Command {
	nodeID := &cli.StringFlag{Name: "node-id", Usage: "the node (ID or unique prefix); default: the agent's own node"}
	return &cli.Command{
		Name:      "meta",
		Usage:     "Interact with a node's metadata",
		UsageText: "orch node meta <subcommand> [options]",
		Subcommands: []*cli.Command{{
			Name:      "apply",
			Usage:     "Set or unset dynamic node metadata",
			UsageText: "orch node meta apply [-node-id ID] [-unset key1,key2] key=value ...",
			Description: `Sets metadata keys of a node at run time, on top of the static metadata of
its agent's configuration (client { meta { } }), or unsets them (a static key
unset is hidden). The node's client keeps them across restarts and sends them
to the servers at once, so a job constrained on ${meta.<key>} can be placed
as soon as the command returns. Needs node:write.

Examples:
  orch node meta apply rack=r1 zone=a
  orch node meta apply -node-id f840a518 -unset rack,zone`,
			Flags: []cli.Flag{addressFlag(), nodeID,
				&cli.StringFlag{Name: "unset", Usage: "comma-separated keys to unset"}},
			Action: nodeMetaApply,
		}, {
			Name:      "read",
			Usage:     "Read a node's metadata",
			UsageText: "orch node meta read [-node-id ID] [-json]",
			Description: `Shows a node's metadata as its client holds it: all of it (static and
dynamic merged), the dynamic keys, and the static keys. Needs node:read.

Examples:
  orch node meta read
  orch node meta read -node-id f840a518 -json`,
			Flags:  []cli.Flag{addressFlag(), nodeID, &cli.BoolFlag{Name: "json", Usage: "print the answer as JSON"}},
			Action: nodeMetaRead,
		}},
	}
}

// parseMetaApply reads key=value arguments and the -unset list into an
// apply: every problem at once.
func parseMetaApply(args []string, unset string) (map[string]*string, error) {
	meta := map[string]*string{}
	var bad []string
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok || k == "" {
			bad = append(bad, fmt.Sprintf("%q: must be key=value", a))
			continue
		}
		meta[k] = &v
	}
	for _, k := range strings.Split(unset, ",") {
		if k = strings.TrimSpace(k); k == "" {
			continue
		}
		if _, set := meta[k]; set {
			bad = append(bad, fmt.Sprintf("%q: both set and unset", k))
			continue
		}
		meta[k] = nil
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(bad, "; "))
	}
	if len(meta) == 0 {
		return nil, fmt.Errorf("nothing to apply: give key=value arguments or -unset keys")
	}
	return meta, nil
}

func nodeMetaApply(c *cli.Context) error {
	meta, err := parseMetaApply(c.Args().Slice(), c.String("unset"))
	if err != nil {
		return usageErrorf(c, "%v", err)
	}
	client, err := apiClient(c)
	if err != nil {
		return err
	}
	id, err := optionalNodeID(c, client)
	if err != nil {
		return err
	}
	if _, err := client.Nodes().Meta().Apply(&api.NodeMetaApplyRequest{NodeID: id, Meta: meta}); err != nil {
		return errorf(err, "Error applying dynamic node metadata")
	}
	return nil
}

func nodeMetaRead(c *cli.Context) error {
	if err := checkArgs(c, 0, 0, "no arguments"); err != nil {
		return err
	}
	client, err := apiClient(c)
	if err != nil {
		return err
	}
	id, err := optionalNodeID(c, client)
	if err != nil {
		return err
	}
	resp, err := client.Nodes().Meta().Read(id, nil)
	if err != nil {
		return errorf(err, "Error reading node metadata")
	}
	if c.Bool("json") {
		b, err := json.MarshalIndent(resp, "", "    ")
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout(c), "%s\n", b)
		return nil
	}
	fmt.Fprint(stdout(c), formatNodeMeta(resp))
	return nil
}

// optionalNodeID resolves -node-id ("" stays "": the agent's own node).
func optionalNodeID(c *cli.Context, client *api.Client) (string, error) {
	id := c.String("node-id")
	if id == "" {
		return "", nil
	}
	return resolveNodeID(client, id)
}

// formatNodeMeta prints the three views of a node's metadata, as Nomad's
// `node meta read`.
func formatNodeMeta(r *api.NodeMetaResponse) string {
	var b strings.Builder
	section := func(title string, keys []string, value func(string) string) {
		fmt.Fprintf(&b, "%s\n", title)
		rows := make([]kv, 0, len(keys))
		for _, k := range keys {
			rows = append(rows, kv{k, value(k)})
		}
		b.WriteString(formatKV(rows))
	}
	section("All Meta", slices.Sorted(maps.Keys(r.Meta)), func(k string) string { return r.Meta[k] })
	b.WriteString("\n")
	section("Dynamic Meta", slices.Sorted(maps.Keys(r.Dynamic)), func(k string) string {
		if v := r.Dynamic[k]; v != nil {
			return *v
		}
		return "<unset>"
	})
	b.WriteString("\n")
	section("Static Meta", slices.Sorted(maps.Keys(r.Static)), func(k string) string { return r.Static[k] })
	return b.String()
}
