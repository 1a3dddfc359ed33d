package tlsutil

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
)

// Files names the PEM files of an agent's TLS material: the CA that signs
// every agent's certificate, and this agent's certificate and key.
type Files struct {
	CAFile   string
	CertFile string
	KeyFile  string
}

// Options are the checks a Store's configurations make.
type Options struct {
	// Region is the agent's region: the names it expects of servers
	// (server.<region>.nomad or .orch) and clients.
	Region string
	// VerifyServerHostname makes an RPC caller accept only a server's
	// certificate from the server it dials, and the server accept server-only
	// traffic (Raft, forwarded requests) only from a peer whose certificate
	// names a server (PeerRole).
	VerifyServerHostname bool
	// VerifyHTTPSClient makes the HTTP API require a client certificate
	// signed by the CA.
	VerifyHTTPSClient bool
}

// material is one load of the files. Never changed once built.
type material struct {
	cert *tls.Certificate
	pool *x509.CertPool
}

// Store holds the agent's current certificate and CA pool. Load reads them
// at start, Reload again (SIGHUP); the tls.Configs it returns read the
// current material at each handshake. Safe for concurrent use.
type Store struct {
	files Files
	opts  Options
	cur   atomic.Pointer[material]
}

// NewStore loads files and returns a Store over them. Errors name the file
// and what is wrong with it.
func NewStore(files Files, opts Options) (*Store, error) {
	s := &Store{files: files, opts: opts}
	if err := s.Reload(); err != nil {
		return nil, err
	}
	return s, nil
}

// Reload reads the files again and, if they are valid, makes them the
// material of new handshakes. On error the previous material stays.
func (s *Store) Reload() error {
	m, err := load(s.files)
	if err != nil {
		return err
	}
	s.cur.Store(m)
	return nil
}

// Options returns the checks the Store was built with.
func (s *Store) Options() Options { return s.opts }

// Check reads files as NewStore would and reports what is wrong with them,
// without keeping anything: configuration validation.
func Check(files Files) error {
	_, err := load(files)
	return err
}

// FileError is a problem with one of the files: Field is the tls block's
// attribute that names it (ca_file, cert_file, key_file).
type FileError struct {
	Field string
	Path  string
	Err   error
}

func (e *FileError) Error() string { return fmt.Sprintf("%s = %q: %v", e.Field, e.Path, e.Err) }
func (e *FileError) Unwrap() error { return e.Err }

func load(f Files) (*material, error) {
	var errs []error
	for _, req := range []struct{ field, path string }{{"ca_file", f.CAFile}, {"cert_file", f.CertFile}, {"key_file", f.KeyFile}} {
		if req.path == "" {
			errs = append(errs, &FileError{Field: req.field, Err: errors.New("required")})
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	caPEM, err := os.ReadFile(f.CAFile)
	if err != nil {
		return nil, &FileError{"ca_file", f.CAFile, err}
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, &FileError{"ca_file", f.CAFile, errors.New("no PEM certificate in it")}
	}
	for _, p := range []struct{ field, path string }{{"cert_file", f.CertFile}, {"key_file", f.KeyFile}} {
		if _, err := os.Stat(p.path); err != nil {
			return nil, &FileError{p.field, p.path, err}
		}
	}
	cert, err := tls.LoadX509KeyPair(f.CertFile, f.KeyFile)
	if err != nil {
		return nil, &FileError{"cert_file", f.CertFile, fmt.Errorf("with key_file = %q: %w", f.KeyFile, err)}
	}
	return &material{cert: &cert, pool: pool}, nil
}

// IncomingRPC is the server side of the RPC port: mutual TLS, the peer's
// certificate must be signed by the CA (its name is checked by PeerRole,
// per kind of traffic).
func (s *Store) IncomingRPC() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			m := s.cur.Load()
			return &tls.Config{
				MinVersion:   tls.VersionTLS12,
				Certificates: []tls.Certificate{*m.cert},
				ClientCAs:    m.pool,
				ClientAuth:   tls.RequireAndVerifyClientCert,
			}, nil
		},
	}
}

// OutgoingRPC is the dialing side of the RPC port, for one new connection:
// it presents this agent's certificate and verifies the server's against
// the CA and, with VerifyServerHostname, that it names a server of the
// region (server.<region>.nomad or server.<region>.orch).
func (s *Store) OutgoingRPC() *tls.Config {
	m := s.cur.Load()
	region, checkName := s.opts.Region, s.opts.VerifyServerHostname
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		// Always present the certificate, even when the server asks for
		// another CA's: its refusal then says why ("signed by unknown
		// authority") instead of "no certificate".
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return m.cert, nil },
		// The standard check wants one server name; servers may present
		// either of two, and without verify_server_hostname none. The chain
		// is verified in VerifyConnection instead.
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if err := verifyChain(cs, m.pool, x509.ExtKeyUsageServerAuth); err != nil {
				return err
			}
			if checkName && !namesServer(cs.PeerCertificates[0], region) {
				return fmt.Errorf("tls: the server's certificate (names %v) is not a server certificate of region %q: want %s (verify_server_hostname)",
					certNames(cs.PeerCertificates[0]), region, ServerName(region))
			}
			return nil
		},
	}
}

// IncomingHTTP is the HTTP API's side: this agent's certificate, and with
// VerifyHTTPSClient a client certificate signed by the CA is required.
func (s *Store) IncomingHTTP() *tls.Config {
	verify := s.opts.VerifyHTTPSClient
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			m := s.cur.Load()
			c := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{*m.cert}}
			if verify {
				c.ClientCAs, c.ClientAuth = m.pool, tls.RequireAndVerifyClientCert
			}
			return c, nil
		},
	}
}

// verifyChain checks that the peer's certificate chains to pool for usage.
func verifyChain(cs tls.ConnectionState, pool *x509.CertPool, usage x509.ExtKeyUsage) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("tls: the peer presented no certificate")
	}
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{usage}})
	return err
}
