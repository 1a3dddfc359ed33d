package command

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/orch-io/orch/acl"
	"github.com/orch-io/orch/structs"
	"github.com/urfave/cli/v2"
)

// aclCommand is `orch acl`: bootstrap, policies and tokens (Nomad's commands).
func aclCommand() *cli.Command {
	return &cli.Command{
		Name:      "acl",
		Usage:     "Manage ACL tokens and policies",
		UsageText: "orch acl <subcommand> [options] [args]",
		Subcommands: []*cli.Command{
			{
				Name:      "bootstrap",
				Usage:     "Create the first management token (once)",
				UsageText: "orch acl bootstrap [options]",
				Description: `Creates the cluster's first management token and prints it. It works once;
to do it again (the token was lost), write the reset index the error names
into <data_dir>/server/acl-bootstrap-reset on the leader and run it again.

Example:
  orch acl bootstrap`,
				Flags:  []cli.Flag{addressFlag()},
				Action: aclBootstrap,
			},
			{
				Name:      "policy",
				Usage:     "Manage ACL policies",
				UsageText: "orch acl policy <subcommand> [options] [args]",
				Subcommands: []*cli.Command{
					{Name: "apply", Usage: "Create or replace a policy from a file ('-' for stdin)",
						UsageText: "orch acl policy apply [options] <name> <path>",
						Flags:     []cli.Flag{addressFlag(), &cli.StringFlag{Name: "description", Usage: "the policy's description"}},
						Action:    aclPolicyApply, Description: "Reads the rules (Nomad's policy language) from the file and checks them\nbefore sending.\n\nExample:\n  orch acl policy apply -description viewers readonly readonly.hcl"},
					{Name: "list", Usage: "List policies", UsageText: "orch acl policy list [options]",
						Flags: []cli.Flag{addressFlag()}, Action: aclPolicyList, Description: "Lists the policies by name.\n\nExample:\n  orch acl policy list"},
					{Name: "info", Usage: "Show a policy and its rules", UsageText: "orch acl policy info [options] <name>",
						Flags: []cli.Flag{addressFlag()}, Action: aclPolicyInfo, Description: "Shows a policy with its rules.\n\nExample:\n  orch acl policy info readonly"},
					{Name: "delete", Usage: "Delete a policy", UsageText: "orch acl policy delete [options] <name>",
						Flags: []cli.Flag{addressFlag()}, Action: aclPolicyDelete, Description: "Deletes a policy; tokens naming it keep the name, which grants nothing.\n\nExample:\n  orch acl policy delete readonly"},
				},
			},
			{
				Name:      "token",
				Usage:     "Manage ACL tokens",
				UsageText: "orch acl token <subcommand> [options] [args]",
				Subcommands: []*cli.Command{
					{Name: "create", Usage: "Create a token", UsageText: "orch acl token create [options]",
						Flags:  append(tokenSpecFlags(), &cli.DurationFlag{Name: "ttl", Usage: "expire the token after this long (e.g. 8h)"}),
						Action: aclTokenCreate, Description: "Creates a token and prints it with its secret ID.\n\nExample:\n  orch acl token create -name alice -policy readonly -ttl 8h"},
					{Name: "update", Usage: "Change a token's name, type or policies", UsageText: "orch acl token update [options] <accessor_id>",
						Flags: tokenSpecFlags(), Action: aclTokenUpdate, Description: "Changes what the flags given set; the secret stays.\n\nExample:\n  orch acl token update -policy readonly -policy ops <accessor_id>"},
					{Name: "list", Usage: "List tokens", UsageText: "orch acl token list [options]",
						Flags: []cli.Flag{addressFlag()}, Action: aclTokenList, Description: "Lists the tokens without their secrets.\n\nExample:\n  orch acl token list"},
					{Name: "info", Usage: "Show a token", UsageText: "orch acl token info [options] <accessor_id>",
						Flags: []cli.Flag{addressFlag()}, Action: aclTokenInfo, Description: "Shows a token, with its secret ID.\n\nExample:\n  orch acl token info <accessor_id>"},
					{Name: "self", Usage: "Show the token in use", UsageText: "orch acl token self [options]",
						Flags: []cli.Flag{addressFlag()}, Action: aclTokenSelf, Description: "Shows the token given by -token, $ORCH_TOKEN or $NOMAD_TOKEN.\n\nExample:\n  ORCH_TOKEN=<secret> orch acl token self"},
					{Name: "delete", Usage: "Delete a token", UsageText: "orch acl token delete [options] <accessor_id>",
						Flags: []cli.Flag{addressFlag()}, Action: aclTokenDelete, Description: "Deletes a token: the servers refuse it at once.\n\nExample:\n  orch acl token delete <accessor_id>"},
				},
			},
		},
	}
}

func tokenSpecFlags() []cli.Flag {
	return []cli.Flag{
		addressFlag(),
		&cli.StringFlag{Name: "name", Usage: "the token's name"},
		&cli.StringFlag{Name: "type", Usage: "client or management", Value: structs.ACLClientToken},
		&cli.StringSliceFlag{Name: "policy", Usage: "a policy of the token (repeatable)"},
		&cli.BoolFlag{Name: "global", Usage: "replicate to every region (every token is: orch runs one region)"},
	}
}

func aclBootstrap(c *cli.Context) error {
	if err := checkArgs(c, 0, 0, "no arguments"); err != nil {
		return err
	}
	client, err := apiClient(c)
	if err != nil {
		return err
	}
	tok, err := client.ACL().Bootstrap()
	if err != nil {
		return errorf(err, "Error bootstrapping the ACL system")
	}
	fmt.Fprint(stdout(c), formatToken(tok))
	return nil
}

func aclPolicyApply(c *cli.Context) error {
	if err := checkArgs(c, 2, 2, "a policy name and the path of its rules"); err != nil {
		return err
	}
	name, path := c.Args().Get(0), c.Args().Get(1)
	var rules []byte
	var err error
	if path == "-" {
		rules, err = io.ReadAll(io.LimitReader(c.App.Reader, acl.MaxPolicySize+1))
		path = "<stdin>"
	} else {
		rules, err = os.ReadFile(path)
	}
	if err != nil {
		return errorf(err, "Error reading the policy rules")
	}
	// Check locally first: the errors then name the file.
	if _, err := acl.Parse(path, string(rules)); err != nil {
		return errorf(err, "Error parsing the policy rules")
	}
	client, err := apiClient(c)
	if err != nil {
		return err
	}
	if err := client.ACL().PolicyUpsert(&structs.ACLPolicy{Name: name, Description: c.String("description"), Rules: string(rules)}); err != nil {
		return errorf(err, "Error writing ACL policy %q", name)
	}
	fmt.Fprintf(stdout(c), "Successfully wrote %q ACL policy!\n", name)
	return nil
}

func aclPolicyList(c *cli.Context) error {
	if err := checkArgs(c, 0, 0, "no arguments"); err != nil {
		return err
	}
	client, err := apiClient(c)
	if err != nil {
		return err
	}
	ps, _, err := client.ACL().Policies(nil)
	if err != nil {
		return errorf(err, "Error listing ACL policies")
	}
	if len(ps) == 0 {
		fmt.Fprintln(stdout(c), "No policies found")
		return nil
	}
	var rows [][]string
	for _, p := range ps {
		rows = append(rows, []string{p.Name, p.Description})
	}
	fmt.Fprint(stdout(c), formatTable([]string{"Name", "Description"}, rows))
	return nil
}

func aclPolicyInfo(c *cli.Context) error {
	if err := checkArgs(c, 1, 1, "a policy name"); err != nil {
		return err
	}
	client, err := apiClient(c)
	if err != nil {
		return err
	}
	p, _, err := client.ACL().PolicyInfo(c.Args().First(), nil)
	if err != nil {
		return errorf(err, "Error reading ACL policy %q", c.Args().First())
	}
	fmt.Fprintf(stdout(c), "Name        = %s\nDescription = %s\nCreateIndex = %d\nModifyIndex = %d\n\nRules\n\n%s\n",
		p.Name, p.Description, p.CreateIndex, p.ModifyIndex, strings.TrimRight(p.Rules, "\n"))
	return nil
}

func aclPolicyDelete(c *cli.Context) error {
	if err := checkArgs(c, 1, 1, "a policy name"); err != nil {
		return err
	}
	client, err := apiClient(c)
	if err != nil {
		return err
	}
	if err := client.ACL().PolicyDelete(c.Args().First()); err != nil {
		return errorf(err, "Error deleting ACL policy %q", c.Args().First())
	}
	fmt.Fprintf(stdout(c), "Successfully deleted %q ACL policy!\n", c.Args().First())
	return nil
}

func tokenFromFlags(c *cli.Context) *structs.ACLToken {
	return &structs.ACLToken{Name: c.String("name"), Type: c.String("type"), Policies: c.StringSlice("policy"), Global: c.Bool("global")}
}

func aclTokenCreate(c *cli.Context) error {
	if err := checkArgs(c, 0, 0, "no arguments"); err != nil {
		return err
	}
	t := tokenFromFlags(c)
	t.ExpirationTTL = c.Duration("ttl")
	if t.ExpirationTTL < 0 {
		return usageErrorf(c, "-ttl=%s: must be >= 0", t.ExpirationTTL)
	}
	if err := t.Validate(); err != nil {
		return usageErrorf(c, "%v", err)
	}
	client, err := apiClient(c)
	if err != nil {
		return err
	}
	tok, err := client.ACL().TokenCreate(t)
	if err != nil {
		return errorf(err, "Error creating the ACL token")
	}
	fmt.Fprint(stdout(c), formatToken(tok))
	return nil
}

func aclTokenUpdate(c *cli.Context) error {
	if err := checkArgs(c, 1, 1, "a token accessor ID"); err != nil {
		return err
	}
	client, err := apiClient(c)
	if err != nil {
		return err
	}
	old, _, err := client.ACL().TokenInfo(c.Args().First(), nil)
	if err != nil {
		return errorf(err, "Error reading ACL token %s", c.Args().First())
	}
	if c.IsSet("name") {
		old.Name = c.String("name")
	}
	if c.IsSet("type") {
		old.Type = c.String("type")
	}
	if c.IsSet("policy") {
		old.Policies = c.StringSlice("policy")
	}
	if c.IsSet("global") {
		old.Global = c.Bool("global")
	}
	tok, err := client.ACL().TokenUpdate(old)
	if err != nil {
		return errorf(err, "Error updating ACL token %s", old.AccessorID)
	}
	fmt.Fprint(stdout(c), formatToken(tok))
	return nil
}

func aclTokenList(c *cli.Context) error {
	if err := checkArgs(c, 0, 0, "no arguments"); err != nil {
		return err
	}
	client, err := apiClient(c)
	if err != nil {
		return err
	}
	ts, _, err := client.ACL().Tokens(nil)
	if err != nil {
		return errorf(err, "Error listing ACL tokens")
	}
	var rows [][]string
	now := time.Now()
	for _, t := range ts {
		expired := t.ExpirationTime != nil && !now.Before(*t.ExpirationTime)
		rows = append(rows, []string{t.Name, t.Type, fmt.Sprint(t.Global), t.AccessorID, fmt.Sprint(expired)})
	}
	fmt.Fprint(stdout(c), formatTable([]string{"Name", "Type", "Global", "Accessor ID", "Expired"}, rows))
	return nil
}

func aclTokenInfo(c *cli.Context) error {
	if err := checkArgs(c, 1, 1, "a token accessor ID"); err != nil {
		return err
	}
	client, err := apiClient(c)
	if err != nil {
		return err
	}
	tok, _, err := client.ACL().TokenInfo(c.Args().First(), nil)
	if err != nil {
		return errorf(err, "Error reading ACL token %s", c.Args().First())
	}
	fmt.Fprint(stdout(c), formatToken(tok))
	return nil
}

func aclTokenSelf(c *cli.Context) error {
	if err := checkArgs(c, 0, 0, "no arguments"); err != nil {
		return err
	}
	client, err := apiClient(c)
	if err != nil {
		return err
	}
	tok, _, err := client.ACL().TokenSelf(nil)
	if err != nil {
		return errorf(err, "Error reading the ACL token in use")
	}
	fmt.Fprint(stdout(c), formatToken(tok))
	return nil
}

func aclTokenDelete(c *cli.Context) error {
	if err := checkArgs(c, 1, 1, "a token accessor ID"); err != nil {
		return err
	}
	client, err := apiClient(c)
	if err != nil {
		return err
	}
	if err := client.ACL().TokenDelete(c.Args().First()); err != nil {
		return errorf(err, "Error deleting ACL token %s", c.Args().First())
	}
	fmt.Fprintf(stdout(c), "Token %s successfully deleted\n", c.Args().First())
	return nil
}

// formatToken prints a token as Nomad's CLI does.
func formatToken(t *structs.ACLToken) string {
	if t == nil {
		return ""
	}
	expiry := "<none>"
	if t.ExpirationTime != nil {
		expiry = t.ExpirationTime.Format(time.RFC3339)
	}
	policies := "n/a"
	if t.Type == structs.ACLClientToken {
		policies = fmt.Sprint(t.Policies)
	}
	return fmt.Sprintf("Accessor ID  = %s\nSecret ID    = %s\nName         = %s\nType         = %s\nGlobal       = %v\nCreate Time  = %s\nExpiry Time  = %s\nCreate Index = %d\nModify Index = %d\nPolicies     = %s\n",
		t.AccessorID, secretOrHidden(t.SecretID), t.Name, t.Type, t.Global, t.CreateTime.Format(time.RFC3339), expiry, t.CreateIndex, t.ModifyIndex, policies)
}

func secretOrHidden(s string) string {
	if s == "" {
		return "<hidden>"
	}
	return s
}
