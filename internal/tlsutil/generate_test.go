package tlsutil_test

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/orch-io/orch/internal/tlsutil"
)

func timeNow() time.Time { return time.Now() }

func leaf(t *testing.T, c tls.Certificate) []*x509.Certificate {
	t.Helper()
	x, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	return []*x509.Certificate{x}
}

func TestGenerateCert_NamesAndUsages(t *testing.T) {
	ca, err := tlsutil.GenerateCA(30, timeNow())
	if err != nil {
		t.Fatal(err)
	}
	p, err := tlsutil.GenerateCert(tlsutil.CertRequest{CA: ca, Role: tlsutil.RoleServer, Region: "eu", Days: 10,
		DNSNames: []string{"orch.example.com"}, IPs: []net.IP{net.ParseIP("10.0.0.7")}}, timeNow())
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(p.Cert, p.Key)
	if err != nil {
		t.Fatal(err)
	}
	x := leaf(t, cert)[0]
	for _, name := range []string{"server.eu.nomad", "localhost", "orch.example.com", "127.0.0.1", "10.0.0.7"} {
		if err := x.VerifyHostname(name); err != nil {
			t.Errorf("VerifyHostname(%s): %v", name, err)
		}
	}
	if !slices.Contains(x.ExtKeyUsage, x509.ExtKeyUsageClientAuth) || !slices.Contains(x.ExtKeyUsage, x509.ExtKeyUsageServerAuth) {
		t.Errorf("server certificate usages %v: want server and client auth", x.ExtKeyUsage)
	}
	if d := x.NotAfter.Sub(x.NotBefore); d < 10*24*time.Hour || d > 10*24*time.Hour+time.Hour {
		t.Errorf("validity %s, want 10 days", d)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.Cert)
	if _, err := x.Verify(x509.VerifyOptions{Roots: pool}); err != nil {
		t.Errorf("does not chain to the CA: %v", err)
	}
}

func TestGenerateCert_BadRequests(t *testing.T) {
	ca, err := tlsutil.GenerateCA(1, timeNow())
	if err != nil {
		t.Fatal(err)
	}
	for name, req := range map[string]tlsutil.CertRequest{
		"role":   {CA: ca, Role: "admin", Region: "global", Days: 1},
		"region": {CA: ca, Role: tlsutil.RoleClient, Days: 1},
		"days":   {CA: ca, Role: tlsutil.RoleClient, Region: "global"},
		"ca":     {CA: tlsutil.PEM{Cert: []byte("x"), Key: ca.Key}, Role: tlsutil.RoleClient, Region: "global", Days: 1},
	} {
		if _, err := tlsutil.GenerateCert(req, timeNow()); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if name, key := tlsutil.CertFileNames(tlsutil.RoleServer, "global"); name != "global-server-nomad.pem" || key != "global-server-nomad-key.pem" {
		t.Errorf("CertFileNames = %s, %s", name, key)
	}
}
