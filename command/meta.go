package command

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/orch-io/orch/api"
	"github.com/urfave/cli/v2"
)

// What every command that talks to an agent shares: the -address flag, the
// API client it makes, argument checks and the output streams.

// addressFlag is -address, on every command that talks to an agent (Nomad
// style: `orch job status -address=http://10.0.0.1:4646`).
func addressFlag() cli.Flag {
	return &cli.StringFlag{
		Name:    "address",
		Usage:   "HTTP address of the orch agent",
		Value:   api.DefaultAddress,
		EnvVars: []string{api.EnvAddress},
	}
}

// verboseFlag is -verbose: full IDs and more detail.
func verboseFlag() cli.Flag {
	return &cli.BoolFlag{Name: "verbose", Usage: "show full IDs and more detail"}
}

// tokenFlag is -token, the ACL token's secret ID, on every command that has
// -address (addAgentFlags); default $ORCH_TOKEN, else $NOMAD_TOKEN.
func tokenFlag() cli.Flag {
	return &cli.StringFlag{
		Name:    "token",
		Usage:   "ACL token (secret ID) to send",
		EnvVars: []string{api.EnvToken, api.EnvNomadToken},
	}
}

// namespaceFlag is -namespace, on every command that has -address
// (addAgentFlags): the namespace of the jobs, allocations, evaluations,
// deployments and services the command reads and writes ("*" lists every
// namespace); default $ORCH_NAMESPACE, else $NOMAD_NAMESPACE, else the
// agent's ("default"; a job file's own namespace when it names one).
func namespaceFlag() cli.Flag {
	return &cli.StringFlag{
		Name:    "namespace",
		Usage:   "the `NAMESPACE` of the jobs and what derives from them (\"*\": every namespace, on lists)",
		EnvVars: []string{api.EnvNamespace, api.EnvNomadNamespace},
	}
}

// tlsFlags are the flags of a client of an agent whose HTTP API serves TLS
// (Nomad's names; defaults from the environment, api.TLSConfig).
func tlsFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "ca-cert", Usage: "PEM `FILE` of the CA that signed the agent's certificate", EnvVars: api.EnvCACert},
		&cli.StringFlag{Name: "client-cert", Usage: "PEM `FILE` of this client's certificate (agents with verify_https_client)", EnvVars: api.EnvClientCert},
		&cli.StringFlag{Name: "client-key", Usage: "PEM `FILE` of this client's key", EnvVars: api.EnvClientKey},
		&cli.StringFlag{Name: "tls-server-name", Usage: "`NAME` to verify the agent's certificate against instead of the address's host", EnvVars: api.EnvTLSServerName},
		&cli.BoolFlag{Name: "tls-skip-verify", Usage: "do not verify the agent's certificate (tests only)", EnvVars: api.EnvSkipVerify},
	}
}

// addAgentFlags gives cmd -token and the TLS flags when it talks to an
// agent (has -address).
func addAgentFlags(cmd *cli.Command) {
	has := func(name string) bool {
		for _, f := range cmd.Flags {
			for _, n := range f.Names() {
				if n == name {
					return true
				}
			}
		}
		return false
	}
	if !has("address") {
		return
	}
	if !has("token") {
		cmd.Flags = append(cmd.Flags, tokenFlag())
	}
	if !has("namespace") {
		cmd.Flags = append(cmd.Flags, namespaceFlag())
	}
	if !has("ca-cert") {
		cmd.Flags = append(cmd.Flags, tlsFlags()...)
	}
}

// apiClient returns a client of the agent named by -address, with the
// -token and the TLS flags.
func apiClient(c *cli.Context) (*api.Client, error) {
	client, err := api.NewClient(&api.Config{
		Address:   c.String("address"),
		SecretID:  c.String("token"),
		Namespace: c.String("namespace"),
		TLSConfig: api.TLSConfig{
			CACert:        c.String("ca-cert"),
			ClientCert:    c.String("client-cert"),
			ClientKey:     c.String("client-key"),
			TLSServerName: c.String("tls-server-name"),
			Insecure:      c.Bool("tls-skip-verify"),
		},
	})
	switch {
	case errors.Is(err, api.ErrInvalidAddress):
		return nil, usageErrorf(c, "-address: %v", err)
	case err != nil:
		return nil, usageErrorf(c, "%v", err)
	}
	return client, nil
}

// checkArgs is a usage error unless the command got between min and max
// arguments. An extra argument that looks like a flag gets a hint: flags
// must come before arguments, as with Go's flag package.
func checkArgs(c *cli.Context, min, max int, what string) error {
	n := c.NArg()
	if n >= min && n <= max {
		return nil
	}
	if n > max {
		for _, a := range c.Args().Slice()[max:] {
			if strings.HasPrefix(a, "-") {
				return usageErrorf(c, "flag %s must come before the arguments", a)
			}
		}
	}
	switch {
	case min == max:
		return usageErrorf(c, "this command takes %s (got %s)", what, plural(n, "argument"))
	case n < min:
		return usageErrorf(c, "missing %s", what)
	}
	return usageErrorf(c, "this command takes at most %s (got %s)", what, plural(n, "argument"))
}

// stdout and stderr are the command's output streams.
func stdout(c *cli.Context) io.Writer { return c.App.Writer }
func stderr(c *cli.Context) io.Writer { return c.App.ErrWriter }

// errorf wraps err with what the command was doing, as in "Error querying job: ...".
func errorf(err error, format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), err)
}
