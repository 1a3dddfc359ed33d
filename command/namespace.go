package command

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/structs"
	"github.com/urfave/cli/v2"
)

// namespaceCommand is `orch namespace`: Nomad's namespace commands.
func namespaceCommand() *cli.Command {
	return &cli.Command{
		Name:      "namespace",
		Usage:     "Manage namespaces",
		UsageText: "orch namespace <subcommand> [options] [args]",
		Subcommands: []*cli.Command{
			{Name: "apply", Usage: "Create a namespace or update its description",
				UsageText: "orch namespace apply [options] <name>",
				Flags: []cli.Flag{addressFlag(),
					&cli.StringFlag{Name: "description", Usage: "the namespace's description"},
					&cli.StringSliceFlag{Name: "meta", Usage: "`KEY=VALUE` metadata of the namespace (repeatable)"}},
				Action: namespaceApply,
				Description: "Creates the namespace, or replaces the description and metadata of an\nexisting one (a flag not given keeps the value it had).\n\n" +
					"Example:\n  orch namespace apply -description \"the web team\" web"},
			{Name: "list", Usage: "List namespaces", UsageText: "orch namespace list [options]",
				Flags: []cli.Flag{addressFlag(), &cli.BoolFlag{Name: "json", Usage: "print the namespaces as JSON"}}, Action: namespaceList,
				Description: "Lists the namespaces (those the token has a capability in).\n\nExample:\n  orch namespace list"},
			{Name: "status", Usage: "Show a namespace", UsageText: "orch namespace status [options] <name>",
				Flags: []cli.Flag{addressFlag(), &cli.BoolFlag{Name: "json", Usage: "print the namespace as JSON"}}, Action: namespaceStatus,
				Description: "Shows a namespace, with its metadata.\n\nExample:\n  orch namespace status web"},
			{Name: "delete", Usage: "Delete a namespace", UsageText: "orch namespace delete [options] <name>",
				Flags: []cli.Flag{addressFlag()}, Action: namespaceDelete,
				Description: "Deletes a namespace. \"default\" cannot be deleted, nor a namespace that still\nhas a job that is not dead: stop its jobs first (orch job stop -namespace NAME JOB).\n\nExample:\n  orch namespace delete web"},
		},
	}
}

func namespaceApply(c *cli.Context) error {
	if err := checkArgs(c, 1, 1, "a namespace name"); err != nil {
		return err
	}
	name := c.Args().First()
	if err := structs.ValidateNamespaceName(name); err != nil {
		return usageErrorf(c, "%v", err)
	}
	client, err := apiClient(c)
	if err != nil {
		return err
	}
	ns := &structs.Namespace{Name: name}
	// Flags not given keep what the namespace has.
	if old, _, err := client.Namespaces().Info(name, nil); err == nil {
		ns.Description, ns.Meta = old.Description, old.Meta
	} else if !api.IsNotFound(err) {
		return errorf(err, "Error reading namespace %q", name)
	}
	if c.IsSet("description") {
		ns.Description = c.String("description")
	}
	if c.IsSet("meta") {
		ns.Meta = map[string]string{}
		for _, kv := range c.StringSlice("meta") {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || k == "" {
				return usageErrorf(c, "-meta %q: must be KEY=VALUE", kv)
			}
			ns.Meta[k] = v
		}
	}
	if err := client.Namespaces().Register(ns); err != nil {
		return errorf(err, "Error applying namespace %q", name)
	}
	fmt.Fprintf(stdout(c), "Successfully applied namespace %q!\n", name)
	return nil
}

func namespaceList(c *cli.Context) error {
	if err := checkArgs(c, 0, 0, "no arguments"); err != nil {
		return err
	}
	client, err := apiClient(c)
	if err != nil {
		return err
	}
	nss, _, err := client.Namespaces().List(nil)
	if err != nil {
		return errorf(err, "Error listing namespaces")
	}
	if c.Bool("json") {
		out := make([]*api.Namespace, 0, len(nss))
		for _, ns := range nss {
			out = append(out, api.NamespaceFromStructs(ns))
		}
		return printNamespaceJSON(c, out)
	}
	if len(nss) == 0 {
		fmt.Fprintln(stdout(c), "No namespaces found")
		return nil
	}
	var rows [][]string
	for _, ns := range nss {
		rows = append(rows, []string{ns.Name, ns.Description})
	}
	fmt.Fprint(stdout(c), formatTable([]string{"Name", "Description"}, rows))
	return nil
}

func namespaceStatus(c *cli.Context) error {
	if err := checkArgs(c, 1, 1, "a namespace name"); err != nil {
		return err
	}
	client, err := apiClient(c)
	if err != nil {
		return err
	}
	ns, _, err := client.Namespaces().Info(c.Args().First(), nil)
	if err != nil {
		return errorf(err, "Error reading namespace %q", c.Args().First())
	}
	if c.Bool("json") {
		return printNamespaceJSON(c, api.NamespaceFromStructs(ns))
	}
	fmt.Fprint(stdout(c), formatKV([]kv{{"Name", ns.Name}, {"Description", ns.Description}}))
	if len(ns.Meta) > 0 {
		fmt.Fprintln(stdout(c), "\nNamespace Metadata")
		var rows []kv
		for _, k := range slices.Sorted(maps.Keys(ns.Meta)) {
			rows = append(rows, kv{k, ns.Meta[k]})
		}
		fmt.Fprint(stdout(c), formatKV(rows))
	}
	return nil
}

func namespaceDelete(c *cli.Context) error {
	if err := checkArgs(c, 1, 1, "a namespace name"); err != nil {
		return err
	}
	client, err := apiClient(c)
	if err != nil {
		return err
	}
	if err := client.Namespaces().Delete(c.Args().First()); err != nil {
		return errorf(err, "Error deleting namespace %q", c.Args().First())
	}
	fmt.Fprintf(stdout(c), "Successfully deleted namespace %q!\n", c.Args().First())
	return nil
}

// printNamespaceJSON prints v as indented JSON (the API's shape).
func printNamespaceJSON(c *cli.Context, v any) error {
	b, err := json.MarshalIndent(v, "", "    ")
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout(c), string(b))
	return nil
}
