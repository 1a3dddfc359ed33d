package command

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"os"
	"strings"
	"testing"
)

// TestTLSCreate: `tls ca create` and `tls cert create` write Nomad's file
// names, certificates that chain to the CA and name their role, and never
// overwrite a file.
func TestTLSCreate(t *testing.T) {
	t.Chdir(t.TempDir())
	runOK := func(args ...string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		if code := run(append([]string{"orch"}, args...), &out, &errOut); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errOut.String())
		}
		return out.String()
	}
	runOK("tls", "ca", "create")
	runOK("tls", "cert", "create", "-server", "-region", "eu", "-additional-dnsname", "orch.example.com", "-additional-ipaddress", "10.0.0.9")
	runOK("tls", "cert", "create", "-client", "-region", "eu")
	runOK("tls", "cert", "create", "-cli", "-region", "eu")

	caPEM, err := os.ReadFile("nomad-agent-ca.pem")
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	for file, names := range map[string][]string{
		"eu-server-nomad": {"server.eu.nomad", "localhost", "orch.example.com", "10.0.0.9"},
		"eu-client-nomad": {"client.eu.nomad"},
		"eu-cli-nomad":    {"cli.eu.nomad"},
	} {
		if _, err := tls.LoadX509KeyPair(file+".pem", file+"-key.pem"); err != nil {
			t.Errorf("%s: %v", file, err)
			continue
		}
		b, _ := os.ReadFile(file + ".pem")
		block, _ := pem.Decode(b)
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cert.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
			t.Errorf("%s does not chain to the CA: %v", file, err)
		}
		for _, n := range names {
			if err := cert.VerifyHostname(n); err != nil {
				t.Errorf("%s: %v", file, err)
			}
		}
	}
	if st, err := os.Stat("eu-server-nomad-key.pem"); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("key file mode: %v %v", st.Mode(), err)
	}

	var out, errOut bytes.Buffer
	if code := run([]string{"orch", "tls", "cert", "create", "-server", "-region", "eu"}, &out, &errOut); code == 0 ||
		!strings.Contains(errOut.String(), "eu-server-nomad.pem already exists") {
		t.Errorf("overwriting: exit %d, %s", code, errOut.String())
	}
	errOut.Reset()
	if code := run([]string{"orch", "tls", "cert", "create", "-server", "-client"}, &out, &errOut); code != exitUsage ||
		!strings.Contains(errOut.String(), "exactly one of -server, -client and -cli") {
		t.Errorf("two roles: exit %d, %s", code, errOut.String())
	}
	errOut.Reset()
	if code := run([]string{"orch", "tls", "cert", "create", "-cli", "-additional-ipaddress", "nope"}, &out, &errOut); code != exitUsage ||
		!strings.Contains(errOut.String(), `-additional-ipaddress = "nope": must be an IP address`) {
		t.Errorf("bad IP: exit %d, %s", code, errOut.String())
	}
}
