package agent

import (
	"errors"
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/orch-io/orch/internal/tlsutil"
	"github.com/orch-io/orch/server"
	"github.com/zclconf/go-cty/cty"
)

// TLSConfig is Nomad's tls block (README "Securing a cluster"). RPC makes
// every connection of the RPC port mutual TLS (Raft, forwarding between
// servers, clients to servers) and refuses plain ones; HTTP serves the HTTP
// API over TLS. Both use the same CA, certificate and key, which SIGHUP
// reloads (Agent.Reload).
type TLSConfig struct {
	HTTP bool
	RPC  bool
	// RPCUpgradeMode (rpc_upgrade_mode) makes a server's RPC port accept
	// plain connections as well as TLS ones, for a running cluster's
	// migration to TLS: with rpc = true the server dials with TLS, with
	// rpc = false it dials plain (server.RPCTLSMode). A client agent only
	// dials: for it the option changes nothing.
	RPCUpgradeMode bool
	CAFile         string
	CertFile       string
	KeyFile        string
	// VerifyServerHostname: an agent dialling a server accepts only a
	// certificate naming server.<region>.nomad (or .orch), and a server
	// accepts Raft and forwarded requests only from such a certificate.
	VerifyServerHostname bool
	// VerifyHTTPSClient makes the HTTP API require a client certificate
	// signed by the CA.
	VerifyHTTPSClient bool

	// at is where the file set each attribute ("file:line:col", by HCL
	// name, and "tls" for the block), for Validate's errors.
	at map[string]string
}

// Enabled reports whether the agent uses TLS anywhere.
func (c TLSConfig) Enabled() bool { return c.HTTP || c.RPC || c.RPCUpgradeMode }

// rpcMode is the server's use of TLS on the RPC port; meaningful when
// c.RPC or c.RPCUpgradeMode.
func (c TLSConfig) rpcMode() server.RPCTLSMode {
	switch {
	case !c.RPCUpgradeMode:
		return server.RPCTLSRequire
	case c.RPC:
		return server.RPCTLSUpgrade
	default:
		return server.RPCTLSAccept
	}
}

// files are the PEM files of the block.
func (c TLSConfig) files() tlsutil.Files {
	return tlsutil.Files{CAFile: c.CAFile, CertFile: c.CertFile, KeyFile: c.KeyFile}
}

// store loads the block's files for an agent of region.
func (c TLSConfig) store(region string) (*tlsutil.Store, error) {
	return tlsutil.NewStore(c.files(), tlsutil.Options{
		Region:               region,
		VerifyServerHostname: c.VerifyServerHostname,
		VerifyHTTPSClient:    c.VerifyHTTPSClient,
	})
}

type fileTLS struct {
	HTTP                 *bool          `hcl:"http,optional"`
	RPC                  *bool          `hcl:"rpc,optional"`
	RPCUpgradeMode       *bool          `hcl:"rpc_upgrade_mode,optional"`
	CAFile               hcl.Expression `hcl:"ca_file,optional"`
	CertFile             hcl.Expression `hcl:"cert_file,optional"`
	KeyFile              hcl.Expression `hcl:"key_file,optional"`
	VerifyServerHostname *bool          `hcl:"verify_server_hostname,optional"`
	VerifyHTTPSClient    *bool          `hcl:"verify_https_client,optional"`
	// DefRange is where the block is.
	DefRange hcl.Range `hcl:",def_range"`
}

// applyTLS sets in c what the tls block f sets. Paths are taken as written
// (relative ones from the agent's working directory).
func applyTLS(c *TLSConfig, f *fileTLS) error {
	at := map[string]string{}
	for k, v := range c.at {
		at[k] = v
	}
	at["tls"] = rangeAt(f.DefRange)
	for _, b := range []struct {
		dst *bool
		v   *bool
	}{{&c.HTTP, f.HTTP}, {&c.RPC, f.RPC}, {&c.RPCUpgradeMode, f.RPCUpgradeMode}, {&c.VerifyServerHostname, f.VerifyServerHostname}, {&c.VerifyHTTPSClient, f.VerifyHTTPSClient}} {
		if b.v != nil {
			*b.dst = *b.v
		}
	}
	if err := errors.Join(
		decodePath(f.CAFile, "ca_file", &c.CAFile, at),
		decodePath(f.CertFile, "cert_file", &c.CertFile, at),
		decodePath(f.KeyFile, "key_file", &c.KeyFile, at),
	); err != nil {
		return err
	}
	c.at = at
	return nil
}

// decodePath sets dst from a string attribute of the tls block and records
// where it is. An absent attribute leaves dst alone.
func decodePath(expr hcl.Expression, name string, dst *string, at map[string]string) error {
	if expr == nil {
		return nil
	}
	v, diags := expr.Value(nil)
	if !diags.HasErrors() && v.IsNull() {
		return nil
	}
	pos := rangeAt(expr.Range())
	if diags.HasErrors() || v.Type() != cty.String || !v.IsKnown() {
		return fmt.Errorf("%s: tls.%s: must be a string (a file path)", pos, name)
	}
	*dst = v.AsString()
	at[name] = pos
	return nil
}

func rangeAt(r hcl.Range) string {
	return fmt.Sprintf("%s:%d:%d", r.Filename, r.Start.Line, r.Start.Column)
}

// validate reports the block's problems: with http or rpc on, the three
// files must be given, readable, and hold a CA, and a certificate with its
// key. Each error names where the file set the attribute, when it did.
func (c TLSConfig) validate() []error {
	var errs []error
	where := func(name string) string {
		if p := c.at[name]; p != "" {
			return p + ": "
		}
		if p := c.at["tls"]; p != "" {
			return p + ": "
		}
		return ""
	}
	if !c.Enabled() {
		if c.VerifyHTTPSClient {
			errs = append(errs, fmt.Errorf("%stls.verify_https_client = true: needs tls.http = true", where("verify_https_client")))
		}
		return errs
	}
	for _, f := range []struct{ name, path string }{{"ca_file", c.CAFile}, {"cert_file", c.CertFile}, {"key_file", c.KeyFile}} {
		if f.path == "" {
			errs = append(errs, fmt.Errorf(`%stls.%s = "": required with tls.http, tls.rpc or tls.rpc_upgrade_mode = true`, where(f.name), f.name))
		}
	}
	if len(errs) > 0 {
		return errs
	}
	if err := tlsutil.Check(c.files()); err != nil {
		var fe *tlsutil.FileError
		name := "tls"
		if errors.As(err, &fe) {
			name = fe.Field
		}
		errs = append(errs, fmt.Errorf("%stls.%w", where(name), err))
	}
	return errs
}
