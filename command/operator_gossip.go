package command

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/orch-io/orch/internal/gossipkey"
	"github.com/orch-io/orch/structs"
	"github.com/urfave/cli/v2"
)

// operatorGossipCommand is `orch operator gossip keyring`, Nomad's command
// for gossip encryption keys.
func operatorGossipCommand() *cli.Command {
	return &cli.Command{
		Name:        "gossip",
		Usage:       "Manage gossip encryption",
		UsageText:   "orch operator gossip keyring [options]",
		Subcommands: []*cli.Command{operatorGossipKeyringCommand()},
	}
}

func operatorGossipKeyringCommand() *cli.Command {
	return &cli.Command{
		Name:      "keyring",
		Usage:     "Generate, list, install, use and remove gossip encryption keys",
		UsageText: "orch operator gossip keyring [options] (-generate | -list | -install KEY | -use KEY | -remove KEY)",
		Description: `Manages the keys that encrypt gossip (server.encrypt). -generate prints a
new key and contacts no agent. The other operations are sent to the agent,
which has a server apply them on every server and reports how many hold each
key. Rotate without downtime: install the new key, use it, remove the old one,
checking each step reached every server.

Examples:
  orch operator gossip keyring -generate
  orch operator gossip keyring -install "$NEW"
  orch operator gossip keyring -use "$NEW"
  orch operator gossip keyring -remove "$OLD"
  orch operator gossip keyring -list`,
		Flags: []cli.Flag{
			addressFlag(),
			&cli.BoolFlag{Name: "generate", Usage: "print a new random 32-byte key (base64)"},
			&cli.BoolFlag{Name: "list", Usage: "list the keys installed on the servers"},
			&cli.StringFlag{Name: "install", Usage: "install `KEY` on every server"},
			&cli.StringFlag{Name: "use", Usage: "make the installed `KEY` the one gossip is encrypted with"},
			&cli.StringFlag{Name: "remove", Usage: "remove `KEY` (not the one in use) from every server"},
		},
		Action: operatorGossipKeyring,
	}
}

func operatorGossipKeyring(c *cli.Context) error {
	if err := checkArgs(c, 0, 0, "no arguments: one of -generate, -list, -install, -use, -remove"); err != nil {
		return err
	}
	var given []string
	for _, f := range []string{"generate", "list", "install", "use", "remove"} {
		if c.IsSet(f) {
			given = append(given, "-"+f)
		}
	}
	if len(given) != 1 {
		return usageErrorf(c, "give exactly one of -generate, -list, -install, -use, -remove (got %d: %s)", len(given), strings.Join(given, " "))
	}
	if c.Bool("generate") {
		key, err := gossipkey.Generate()
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout(c), key)
		return nil
	}
	client, err := apiClient(c)
	if err != nil {
		return err
	}
	var resp *structs.KeyringResponse
	switch given[0] {
	case "-list":
		resp, err = client.Agent().ListKeys()
	case "-install":
		resp, err = client.Agent().InstallKey(c.String("install"))
	case "-use":
		resp, err = client.Agent().UseKey(c.String("use"))
	case "-remove":
		resp, err = client.Agent().RemoveKey(c.String("remove"))
	}
	if err != nil {
		return errorf(err, "Error: keyring %s", given[0])
	}
	fmt.Fprint(stdout(c), formatKeyring(resp))
	return nil
}

// formatKeyring prints each installed key with how many servers hold it.
func formatKeyring(r *structs.KeyringResponse) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Key%s  Servers\n", strings.Repeat(" ", 41))
	for _, k := range slices.Sorted(maps.Keys(r.Keys)) {
		fmt.Fprintf(&b, "%-44s  %d/%d\n", k, r.Keys[k], r.NumNodes)
	}
	return b.String()
}
