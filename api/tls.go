package api

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
)

// TLSConfig is how a Client talks to an agent whose HTTP API serves TLS
// (tls { http = true }): an https:// address, the CA that signed the agent's
// certificate and, when the agent verifies clients (verify_https_client), a
// certificate of this client. Nomad's field names.
type TLSConfig struct {
	// CACert is the PEM file of the CA to verify the agent's certificate
	// with. Empty means $ORCH_CACERT, else $NOMAD_CACERT, else the system's.
	CACert string
	// ClientCert and ClientKey are the PEM files of this client's
	// certificate and key. Empty means $ORCH_CLIENT_CERT / $NOMAD_CLIENT_CERT
	// and $ORCH_CLIENT_KEY / $NOMAD_CLIENT_KEY.
	ClientCert string
	ClientKey  string
	// TLSServerName is the name to verify the agent's certificate against
	// instead of the address's host ($ORCH_TLS_SERVER_NAME, $NOMAD_TLS_SERVER_NAME).
	TLSServerName string
	// Insecure skips verifying the agent's certificate ($ORCH_SKIP_VERIFY,
	// $NOMAD_SKIP_VERIFY). For tests only.
	Insecure bool
}

// The environment variables of TLSConfig, orch's first, then Nomad's.
var (
	EnvCACert        = []string{"ORCH_CACERT", "NOMAD_CACERT"}
	EnvClientCert    = []string{"ORCH_CLIENT_CERT", "NOMAD_CLIENT_CERT"}
	EnvClientKey     = []string{"ORCH_CLIENT_KEY", "NOMAD_CLIENT_KEY"}
	EnvTLSServerName = []string{"ORCH_TLS_SERVER_NAME", "NOMAD_TLS_SERVER_NAME"}
	EnvSkipVerify    = []string{"ORCH_SKIP_VERIFY", "NOMAD_SKIP_VERIFY"}
)

// firstEnv is the first of names that is set and not empty: its value.
func firstEnv(names []string) string {
	_, v := firstEnvNamed(names)
	return v
}

// firstEnvNamed is firstEnv with the variable's name.
func firstEnvNamed(names []string) (name, value string) {
	for _, n := range names {
		if v := strings.TrimSpace(os.Getenv(n)); v != "" {
			return n, v
		}
	}
	return "", ""
}

// withEnv fills the fields c leaves empty from the environment.
func (c TLSConfig) withEnv() (TLSConfig, error) {
	for _, f := range []struct {
		dst *string
		env []string
	}{{&c.CACert, EnvCACert}, {&c.ClientCert, EnvClientCert}, {&c.ClientKey, EnvClientKey}, {&c.TLSServerName, EnvTLSServerName}} {
		if *f.dst == "" {
			*f.dst = firstEnv(f.env)
		}
	}
	if n, v := firstEnvNamed(EnvSkipVerify); v != "" && !c.Insecure {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return c, fmt.Errorf("%s = %q: must be true or false", n, v)
		}
		c.Insecure = b
	}
	return c, nil
}

// build makes the tls.Config of c; nil when c asks for nothing special.
func (c TLSConfig) build() (*tls.Config, error) {
	if c == (TLSConfig{}) {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: c.TLSServerName, InsecureSkipVerify: c.Insecure}
	if c.CACert != "" {
		pem, err := os.ReadFile(c.CACert)
		if err != nil {
			return nil, fmt.Errorf("-ca-cert %q: %w", c.CACert, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("-ca-cert %q: no PEM certificate in it", c.CACert)
		}
		cfg.RootCAs = pool
	}
	switch {
	case c.ClientCert != "" && c.ClientKey != "":
		cert, err := tls.LoadX509KeyPair(c.ClientCert, c.ClientKey)
		if err != nil {
			return nil, fmt.Errorf("-client-cert %q, -client-key %q: %w", c.ClientCert, c.ClientKey, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	case c.ClientCert != "" || c.ClientKey != "":
		return nil, errors.New("-client-cert and -client-key go together: give both or neither")
	}
	return cfg, nil
}

// applyTLS sets the TLS configuration of hc's transport, when it is an
// *http.Transport (the default client's is).
func applyTLS(hc *http.Client, cfg *tls.Config) error {
	if cfg == nil {
		return nil
	}
	t, ok := hc.Transport.(*http.Transport)
	if !ok {
		return errors.New("api: Config.TLSConfig needs an HTTPClient whose Transport is an *http.Transport")
	}
	t.TLSClientConfig = cfg
	return nil
}

// httpsHint rewrites the answer net/http gives a plain request to a TLS
// port into what to do about it.
func httpsHint(c *Client, status int, msg string) string {
	if status == http.StatusBadRequest && strings.Contains(msg, "HTTP request to an HTTPS server") {
		return fmt.Sprintf("the agent at %s serves HTTPS (tls.http = true): use an https:// address (-address or %s) and the cluster's CA (-ca-cert or %s)",
			c.Address(), EnvAddress, EnvCACert[0])
	}
	return msg
}

// isTLSError reports whether err is a failed TLS handshake: a certificate
// that did not verify (the agent's here, or ours there: a remote alert), or
// an agent that does not speak TLS.
func isTLSError(err error) bool {
	var (
		ua *x509.UnknownAuthorityError
		hn x509.HostnameError
		cv *tls.CertificateVerificationError
		rh tls.RecordHeaderError
		op *net.OpError
	)
	return errors.As(err, &ua) || errors.As(err, &hn) || errors.As(err, &cv) || errors.As(err, &rh) ||
		(errors.As(err, &op) && op.Op == "remote error")
}
