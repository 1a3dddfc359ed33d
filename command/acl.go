package command

import (
	"fmt"
	"io"
	"os"
	"slices"
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
						Action: aclTokenCreate, Description: "Creates a token and prints it with its secret ID.\n\nExamples:\n  orch acl token create -name alice -policy readonly -ttl 8h\n  orch acl token create -name bob -role-name viewers"},
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
			{
				Name:      "role",
				Usage:     "Manage ACL roles",
				UsageText: "orch acl role <subcommand> [options] [args]",
				Subcommands: []*cli.Command{
					{Name: "create", Usage: "Create a role", UsageText: "orch acl role create [options]",
						Flags: roleSpecFlags(), Action: aclRoleCreate,
						Description: "Creates a role: a named set of policies that tokens hold by link.\n\nExample:\n  orch acl role create -name viewers -policy readonly -policy node-read"},
					{Name: "update", Usage: "Change a role's name, description or policies", UsageText: "orch acl role update [options] <role_id>",
						Flags:       append(roleSpecFlags(), &cli.BoolFlag{Name: "no-merge", Usage: "replace the role's policies with those given, instead of adding them"}),
						Action:      aclRoleUpdate,
						Description: "Changes what the flags given set. -policy adds to the role's policies\nunless -no-merge. Tokens holding the role follow at once.\n\nExample:\n  orch acl role update -no-merge -policy ops <role_id>"},
					{Name: "list", Usage: "List roles", UsageText: "orch acl role list [options]",
						Flags: []cli.Flag{addressFlag()}, Action: aclRoleList, Description: "Lists the roles.\n\nExample:\n  orch acl role list"},
					{Name: "info", Usage: "Show a role", UsageText: "orch acl role info [options] <role_id>",
						Flags:  []cli.Flag{addressFlag(), &cli.BoolFlag{Name: "by-name", Usage: "the argument is the role's name, not its ID"}},
						Action: aclRoleInfo, Description: "Shows a role and its policies.\n\nExamples:\n  orch acl role info <role_id>\n  orch acl role info -by-name viewers"},
					{Name: "delete", Usage: "Delete a role", UsageText: "orch acl role delete [options] <role_id>",
						Flags: []cli.Flag{addressFlag()}, Action: aclRoleDelete, Description: "Deletes a role: tokens holding it lose its policies at once.\n\nExample:\n  orch acl role delete <role_id>"},
				},
			},
		},
	}
}

func roleSpecFlags() []cli.Flag {
	return []cli.Flag{
		addressFlag(),
		&cli.StringFlag{Name: "name", Usage: "the role's name"},
		&cli.StringFlag{Name: "description", Usage: "the role's description"},
		&cli.StringSliceFlag{Name: "policy", Usage: "a policy of the role, by name (repeatable)"},
	}
}

func tokenSpecFlags() []cli.Flag {
	return []cli.Flag{
		addressFlag(),
		&cli.StringFlag{Name: "name", Usage: "the token's name"},
		&cli.StringFlag{Name: "type", Usage: "client or management", Value: structs.ACLClientToken},
		&cli.StringSliceFlag{Name: "policy", Usage: "a policy of the token (repeatable)"},
		&cli.StringSliceFlag{Name: "role-id", Usage: "a role of the token, by ID (repeatable)"},
		&cli.StringSliceFlag{Name: "role-name", Usage: "a role of the token, by name (repeatable)"},
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
	return &structs.ACLToken{Name: c.String("name"), Type: c.String("type"), Policies: c.StringSlice("policy"),
		Roles: roleLinksFromFlags(c), Global: c.Bool("global")}
}

func roleLinksFromFlags(c *cli.Context) []*structs.ACLTokenRoleLink {
	var links []*structs.ACLTokenRoleLink
	for _, id := range c.StringSlice("role-id") {
		links = append(links, &structs.ACLTokenRoleLink{ID: id})
	}
	for _, name := range c.StringSlice("role-name") {
		links = append(links, &structs.ACLTokenRoleLink{Name: name})
	}
	return links
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
	if c.IsSet("role-id") || c.IsSet("role-name") {
		old.Roles = roleLinksFromFlags(c)
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
	policies, roles := "n/a", "n/a"
	if t.Type == structs.ACLClientToken {
		policies = fmt.Sprint(t.Policies)
		names := make([]string, 0, len(t.Roles))
		for _, r := range t.Roles {
			names = append(names, r.Name)
		}
		roles = fmt.Sprint(names)
	}
	return fmt.Sprintf("Accessor ID  = %s\nSecret ID    = %s\nName         = %s\nType         = %s\nGlobal       = %v\nCreate Time  = %s\nExpiry Time  = %s\nCreate Index = %d\nModify Index = %d\nPolicies     = %s\nRoles        = %s\n",
		t.AccessorID, secretOrHidden(t.SecretID), t.Name, t.Type, t.Global, t.CreateTime.Format(time.RFC3339), expiry, t.CreateIndex, t.ModifyIndex, policies, roles)
}

func roleFromFlags(c *cli.Context) *structs.ACLRole {
	r := &structs.ACLRole{Name: c.String("name"), Description: c.String("description")}
	for _, p := range c.StringSlice("policy") {
		r.Policies = append(r.Policies, &structs.ACLRolePolicyLink{Name: p})
	}
	return r
}

func aclRoleCreate(c *cli.Context) error {
	if err := checkArgs(c, 0, 0, "no arguments"); err != nil {
		return err
	}
	r := roleFromFlags(c)
	if err := r.Validate(); err != nil {
		return usageErrorf(c, "%v", err)
	}
	client, err := apiClient(c)
	if err != nil {
		return err
	}
	out, err := client.ACL().RoleCreate(r)
	if err != nil {
		return errorf(err, "Error creating ACL role %q", r.Name)
	}
	fmt.Fprint(stdout(c), formatRole(out))
	return nil
}

func aclRoleUpdate(c *cli.Context) error {
	if err := checkArgs(c, 1, 1, "a role ID"); err != nil {
		return err
	}
	client, err := apiClient(c)
	if err != nil {
		return err
	}
	old, _, err := client.ACL().RoleInfo(c.Args().First(), nil)
	if err != nil {
		return errorf(err, "Error reading ACL role %s", c.Args().First())
	}
	if c.IsSet("name") {
		old.Name = c.String("name")
	}
	if c.IsSet("description") {
		old.Description = c.String("description")
	}
	if c.Bool("no-merge") {
		old.Policies = nil
	}
	for _, p := range c.StringSlice("policy") {
		if !slices.Contains(old.PolicyNames(), p) {
			old.Policies = append(old.Policies, &structs.ACLRolePolicyLink{Name: p})
		}
	}
	out, err := client.ACL().RoleUpdate(old)
	if err != nil {
		return errorf(err, "Error updating ACL role %s", old.ID)
	}
	fmt.Fprint(stdout(c), formatRole(out))
	return nil
}

func aclRoleList(c *cli.Context) error {
	if err := checkArgs(c, 0, 0, "no arguments"); err != nil {
		return err
	}
	client, err := apiClient(c)
	if err != nil {
		return err
	}
	rs, _, err := client.ACL().Roles(nil)
	if err != nil {
		return errorf(err, "Error listing ACL roles")
	}
	if len(rs) == 0 {
		fmt.Fprintln(stdout(c), "No ACL roles found")
		return nil
	}
	var rows [][]string
	for _, r := range rs {
		rows = append(rows, []string{r.ID, r.Name, r.Description, strings.Join(r.PolicyNames(), ",")})
	}
	fmt.Fprint(stdout(c), formatTable([]string{"ID", "Name", "Description", "Policies"}, rows))
	return nil
}

func aclRoleInfo(c *cli.Context) error {
	if err := checkArgs(c, 1, 1, "a role ID (or name with -by-name)"); err != nil {
		return err
	}
	client, err := apiClient(c)
	if err != nil {
		return err
	}
	arg := c.Args().First()
	read := client.ACL().RoleInfo
	if c.Bool("by-name") {
		read = client.ACL().RoleByName
	}
	r, _, err := read(arg, nil)
	if err != nil {
		return errorf(err, "Error reading ACL role %s", arg)
	}
	fmt.Fprint(stdout(c), formatRole(r))
	return nil
}

func aclRoleDelete(c *cli.Context) error {
	if err := checkArgs(c, 1, 1, "a role ID"); err != nil {
		return err
	}
	client, err := apiClient(c)
	if err != nil {
		return err
	}
	if err := client.ACL().RoleDelete(c.Args().First()); err != nil {
		return errorf(err, "Error deleting ACL role %s", c.Args().First())
	}
	fmt.Fprintf(stdout(c), "ACL role %s successfully deleted\n", c.Args().First())
	return nil
}

// formatRole prints a role as Nomad's CLI does.
func formatRole(r *structs.ACLRole) string {
	return fmt.Sprintf("ID           = %s\nName         = %s\nDescription  = %s\nPolicies     = %s\nCreate Index = %d\nModify Index = %d\n",
		r.ID, r.Name, r.Description, strings.Join(r.PolicyNames(), ","), r.CreateIndex, r.ModifyIndex)
}

func secretOrHidden(s string) string {
	if s == "" {
		return "<hidden>"
	}
	return s
}
