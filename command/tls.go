package command

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"time"

	"github.com/orch-io/orch/internal/tlsutil"
	"github.com/urfave/cli/v2"
)

// tlsCommand is `orch tls`: a CA and certificates for a cluster's TLS,
// written to the current directory with Nomad's file names
// (nomad-agent-ca.pem, global-server-nomad.pem, ...).
func tlsCommand() *cli.Command {
	return &cli.Command{
		Name:      "tls",
		Usage:     "Create a CA and certificates for TLS",
		UsageText: "orch tls <ca|cert> create [options]",
		Subcommands: []*cli.Command{{
			Name:        "ca",
			Usage:       "Certificate authority",
			UsageText:   "orch tls ca create [options]",
			Subcommands: []*cli.Command{tlsCACreateCommand()},
		}, {
			Name:        "cert",
			Usage:       "Certificates of servers, clients and the CLI",
			UsageText:   "orch tls cert create -server|-client|-cli [options]",
			Subcommands: []*cli.Command{tlsCertCreateCommand()},
		}},
	}
}

func tlsCACreateCommand() *cli.Command {
	return &cli.Command{
		Name:      "create",
		Usage:     "Create a self-signed certificate authority",
		UsageText: "orch tls ca create [-days N]",
		Description: `Writes ` + tlsutil.CAFileName + ` and ` + tlsutil.CAKeyFileName + ` to the current
directory (ECDSA P-256). Keep the key private: whoever holds it can make
certificates the cluster trusts.

Example:
  orch tls ca create`,
		Flags:  []cli.Flag{&cli.IntFlag{Name: "days", Value: 5 * 365, Usage: "`N` days the CA is valid for"}},
		Action: tlsCACreate,
	}
}

func tlsCACreate(c *cli.Context) error {
	if err := checkArgs(c, 0, 0, "no arguments"); err != nil {
		return err
	}
	if c.Int("days") < 1 {
		return usageErrorf(c, "-days = %d: must be >= 1", c.Int("days"))
	}
	ca, err := tlsutil.GenerateCA(c.Int("days"), time.Now())
	if err != nil {
		return err
	}
	if err := writeNew(tlsutil.CAFileName, ca.Cert, 0o644); err != nil {
		return err
	}
	if err := writeNew(tlsutil.CAKeyFileName, ca.Key, 0o600); err != nil {
		return err
	}
	fmt.Fprintf(stdout(c), "==> CA certificate saved to: %s\n==> CA certificate key saved to: %s\n", tlsutil.CAFileName, tlsutil.CAKeyFileName)
	return nil
}

func tlsCertCreateCommand() *cli.Command {
	return &cli.Command{
		Name:      "create",
		Usage:     "Create a certificate signed by the CA",
		UsageText: "orch tls cert create -server|-client|-cli [-region REGION] [-additional-dnsname NAME]... [-additional-ipaddress IP]... [options]",
		Description: `Writes <region>-<role>-nomad.pem and <region>-<role>-nomad-key.pem to the
current directory, signed by the CA of -ca and -key. A server's certificate
names server.<region>.nomad, a client's client.<region>.nomad, the CLI's
cli.<region>.nomad; each also names localhost and 127.0.0.1.

A server certificate grants the authority of a server: with
verify_server_hostname it can join Raft and see all state. Give it to
server hosts only.

Example:
  orch tls cert create -server -region global
  orch tls cert create -client
  orch tls cert create -cli`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "server", Usage: "a server's certificate"},
			&cli.BoolFlag{Name: "client", Usage: "a client's certificate"},
			&cli.BoolFlag{Name: "cli", Usage: "the CLI's certificate"},
			&cli.StringFlag{Name: "region", Value: "global", Usage: "`REGION` of the agent"},
			&cli.IntFlag{Name: "days", Value: 365, Usage: "`N` days the certificate is valid for"},
			&cli.StringFlag{Name: "ca", Value: tlsutil.CAFileName, Usage: "the CA's certificate `FILE`"},
			&cli.StringFlag{Name: "key", Value: tlsutil.CAKeyFileName, Usage: "the CA's key `FILE`"},
			&cli.StringSliceFlag{Name: "additional-dnsname", Usage: "another DNS `NAME` the certificate is valid for (repeatable)"},
			&cli.StringSliceFlag{Name: "additional-ipaddress", Usage: "another `IP` the certificate is valid for (repeatable)"},
		},
		Action: tlsCertCreate,
	}
}

func tlsCertCreate(c *cli.Context) error {
	if err := checkArgs(c, 0, 0, "no arguments"); err != nil {
		return err
	}
	var roles []tlsutil.Role
	for _, r := range []tlsutil.Role{tlsutil.RoleServer, tlsutil.RoleClient, tlsutil.RoleCLI} {
		if c.Bool(string(r)) {
			roles = append(roles, r)
		}
	}
	if len(roles) != 1 {
		return usageErrorf(c, "give exactly one of -server, -client and -cli")
	}
	req := tlsutil.CertRequest{Role: roles[0], Region: c.String("region"), Days: c.Int("days"), DNSNames: c.StringSlice("additional-dnsname")}
	if req.Region == "" {
		return usageErrorf(c, `-region = "": must not be empty`)
	}
	if req.Days < 1 {
		return usageErrorf(c, "-days = %d: must be >= 1", req.Days)
	}
	for _, s := range c.StringSlice("additional-ipaddress") {
		ip := net.ParseIP(s)
		if ip == nil {
			return usageErrorf(c, "-additional-ipaddress = %q: must be an IP address", s)
		}
		req.IPs = append(req.IPs, ip)
	}
	var err error
	if req.CA.Cert, err = os.ReadFile(c.String("ca")); err != nil {
		return fmt.Errorf("-ca: %w (run `orch tls ca create` first)", err)
	}
	if req.CA.Key, err = os.ReadFile(c.String("key")); err != nil {
		return fmt.Errorf("-key: %w", err)
	}
	p, err := tlsutil.GenerateCert(req, time.Now())
	if err != nil {
		return err
	}
	certFile, keyFile := tlsutil.CertFileNames(req.Role, req.Region)
	if err := writeNew(certFile, p.Cert, 0o644); err != nil {
		return err
	}
	if err := writeNew(keyFile, p.Key, 0o600); err != nil {
		return err
	}
	if req.Role == tlsutil.RoleServer {
		fmt.Fprintln(stdout(c), "==> WARNING: a server certificate grants the authority of a server (Raft, all state and ACL tokens): give it to server hosts only")
	}
	fmt.Fprintf(stdout(c), "==> Using CA file %s and CA key %s\n==> Certificate saved to: %s\n==> Certificate key saved to: %s\n",
		c.String("ca"), c.String("key"), certFile, keyFile)
	return nil
}

// writeNew writes a file that must not exist yet: a CA or key is never
// overwritten by accident.
func writeNew(path string, data []byte, perm os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s already exists: move it away first (nothing was overwritten)", path)
	}
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
