package tlsutil_test

import (
	"crypto/tls"
	"net"
	"os"
	"strings"
	"testing"

	"github.com/orch-io/orch/internal/tlsutil"
	"github.com/orch-io/orch/internal/tlsutil/tlstest"
)

var verify = tlsutil.Options{Region: "global", VerifyServerHostname: true}

// handshake runs a TLS handshake between a dialer with client and a
// listener with server over loopback TCP (buffered, so that an alert a side
// sends after the other finished does not block), and returns the server
// side's connection state and each side's error.
func handshake(t *testing.T, client, server *tls.Config) (tls.ConnectionState, error, error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type result struct {
		cs  tls.ConnectionState
		err error
	}
	done := make(chan result, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			done <- result{err: err}
			return
		}
		defer conn.Close()
		s := tls.Server(conn, server)
		err = s.HandshakeContext(t.Context())
		done <- result{s.ConnectionState(), err}
	}()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := tls.Client(conn, client)
	cerr := c.HandshakeContext(t.Context())
	if cerr != nil {
		conn.Close()
	}
	r := <-done
	return r.cs, cerr, r.err
}

func TestStore_MutualTLSNamesTheRoles(t *testing.T) {
	ca := tlstest.NewCA(t)
	srv := ca.Store("server", tlsutil.RoleServer, verify)
	for _, role := range []tlsutil.Role{tlsutil.RoleServer, tlsutil.RoleClient} {
		dialer := ca.Store(string(role)+"-dialer", role, verify)
		cs, cerr, serr := handshake(t, dialer.OutgoingRPC(), srv.IncomingRPC())
		if cerr != nil || serr != nil {
			t.Fatalf("%s: handshake: dialer %v, server %v", role, cerr, serr)
		}
		if got := tlsutil.PeerRole(cs, "global"); got != role {
			t.Errorf("PeerRole = %q, want %q", got, role)
		}
		if got := tlsutil.PeerRole(cs, "eu"); got != tlsutil.RoleOther {
			t.Errorf("PeerRole in another region = %q, want other", got)
		}
	}
}

func TestStore_RefusesAnotherCA(t *testing.T) {
	ours, theirs := tlstest.NewCA(t), tlstest.NewCA(t)
	srv := ours.Store("server", tlsutil.RoleServer, verify)
	stranger := theirs.Store("client", tlsutil.RoleClient, verify)
	// The stranger trusts anyone: the refusal is the server's.
	cfg := stranger.OutgoingRPC()
	cfg.VerifyConnection = nil
	_, _, serr := handshake(t, cfg, srv.IncomingRPC())
	if serr == nil || !strings.Contains(serr.Error(), "certificate signed by unknown authority") {
		t.Errorf("server accepted a certificate of another CA: %v", serr)
	}
}

// A client certificate cannot pass for a server: a dialer that verifies the
// server's name refuses it.
func TestStore_VerifyServerHostnameRefusesClientCertAsServer(t *testing.T) {
	ca := tlstest.NewCA(t)
	fake := ca.Store("fake-server", tlsutil.RoleClient, verify)
	dialer := ca.Store("client", tlsutil.RoleClient, verify)
	_, cerr, _ := handshake(t, dialer.OutgoingRPC(), fake.IncomingRPC())
	if cerr == nil || !strings.Contains(cerr.Error(), "server.global.nomad") {
		t.Errorf("dialer accepted a client certificate as a server: %v", cerr)
	}
	// Without verify_server_hostname, any certificate of the CA does.
	lax := ca.Store("lax", tlsutil.RoleClient, tlsutil.Options{Region: "global"})
	if _, cerr, serr := handshake(t, lax.OutgoingRPC(), fake.IncomingRPC()); cerr != nil || serr != nil {
		t.Errorf("handshake without verify_server_hostname: %v, %v", cerr, serr)
	}
}

// A server's certificate in orch's own domain (server.<region>.orch) is a
// server's too.
func TestPeerRole_AcceptsOrchDomain(t *testing.T) {
	ca := tlstest.NewCA(t)
	p, err := tlsutil.GenerateCert(tlsutil.CertRequest{CA: ca.PEM, Role: tlsutil.RoleCLI, Region: "global", Days: 1,
		DNSNames: []string{"server.global.orch"}}, timeNow())
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(p.Cert, p.Key)
	if err != nil {
		t.Fatal(err)
	}
	if got := tlsutil.PeerRole(tls.ConnectionState{PeerCertificates: leaf(t, cert)}, "global"); got != tlsutil.RoleServer {
		t.Errorf("PeerRole = %q, want server", got)
	}
}

// Reload swaps the material for new handshakes; a bad file leaves the old.
func TestStore_Reload(t *testing.T) {
	ca := tlstest.NewCA(t)
	files := ca.Files("server", tlsutil.RoleServer, "global")
	srv, err := tlsutil.NewStore(files, verify)
	if err != nil {
		t.Fatal(err)
	}
	dialer := ca.Store("client", tlsutil.RoleClient, verify)
	if _, cerr, serr := handshake(t, dialer.OutgoingRPC(), srv.IncomingRPC()); cerr != nil || serr != nil {
		t.Fatalf("handshake: %v, %v", cerr, serr)
	}
	// A certificate for another region replaces it: the dialer now refuses.
	other := ca.Files("server-eu", tlsutil.RoleServer, "eu")
	copyFile(t, other.CertFile, files.CertFile)
	copyFile(t, other.KeyFile, files.KeyFile)
	if err := srv.Reload(); err != nil {
		t.Fatal(err)
	}
	if _, cerr, _ := handshake(t, dialer.OutgoingRPC(), srv.IncomingRPC()); cerr == nil {
		t.Error("the reloaded certificate (region eu) was not the one presented")
	}
	if err := os.WriteFile(files.KeyFile, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := srv.Reload(); err == nil || !strings.Contains(err.Error(), "key_file = \""+files.KeyFile) {
		t.Errorf("Reload of a bad key: %v, want an error naming %s", err, files.KeyFile)
	}
}

func TestNewStore_ErrorsNameTheFile(t *testing.T) {
	_, err := tlsutil.NewStore(tlsutil.Files{CAFile: "/nonexistent/ca.pem", CertFile: "c", KeyFile: "k"}, verify)
	if err == nil || !strings.Contains(err.Error(), `ca_file = "/nonexistent/ca.pem"`) {
		t.Errorf("err = %v", err)
	}
	_, err = tlsutil.NewStore(tlsutil.Files{}, verify)
	for _, want := range []string{"ca_file", "cert_file", "key_file"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want it to name %s", err, want)
		}
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
