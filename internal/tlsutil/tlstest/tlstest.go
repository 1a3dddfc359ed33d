// Package tlstest is test-only: a CA made for one test, and certificates of
// each role written as files in the test's temporary directory, for tests
// that run agents, servers or clients with TLS.
package tlstest

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/orch-io/orch/internal/tlsutil"
)

// CA is a certificate authority of one test, its files in Dir.
type CA struct {
	t      testing.TB
	Dir    string
	PEM    tlsutil.PEM
	CAFile string
}

// NewCA makes a CA and writes it to a new temporary directory.
func NewCA(t testing.TB) *CA {
	t.Helper()
	p, err := tlsutil.GenerateCA(1, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ca := &CA{t: t, Dir: dir, PEM: p, CAFile: filepath.Join(dir, tlsutil.CAFileName)}
	write(t, ca.CAFile, p.Cert)
	return ca
}

// Files makes a certificate of role in region (named name, to tell several
// apart) and returns the files an agent's tls block names.
func (ca *CA) Files(name string, role tlsutil.Role, region string) tlsutil.Files {
	ca.t.Helper()
	p, err := tlsutil.GenerateCert(tlsutil.CertRequest{CA: ca.PEM, Role: role, Region: region, Days: 1}, time.Now())
	if err != nil {
		ca.t.Fatal(err)
	}
	f := tlsutil.Files{CAFile: ca.CAFile, CertFile: filepath.Join(ca.Dir, name+".pem"), KeyFile: filepath.Join(ca.Dir, name+"-key.pem")}
	write(ca.t, f.CertFile, p.Cert)
	write(ca.t, f.KeyFile, p.Key)
	return f
}

// Store is Files loaded into a Store with opts.
func (ca *CA) Store(name string, role tlsutil.Role, opts tlsutil.Options) *tlsutil.Store {
	ca.t.Helper()
	s, err := tlsutil.NewStore(ca.Files(name, role, opts.Region), opts)
	if err != nil {
		ca.t.Fatal(err)
	}
	return s
}

func write(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}
