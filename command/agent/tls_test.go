package agent

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/internal/structstest"
	"github.com/orch-io/orch/internal/tlsutil"
	"github.com/orch-io/orch/internal/tlsutil/tlstest"
	"github.com/orch-io/orch/server"
	"github.com/orch-io/orch/structs"
)

// tlsBlock is a tls block with everything on, over files.
func tlsBlock(files tlsutil.Files) TLSConfig {
	return TLSConfig{HTTP: true, RPC: true, CAFile: files.CAFile, CertFile: files.CertFile, KeyFile: files.KeyFile,
		VerifyServerHostname: true, VerifyHTTPSClient: true}
}

func startTestAgent(t *testing.T, cfg *Config) *Agent {
	t.Helper()
	a, err := New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Shutdown() })
	return a
}

// waitUntil polls cond until it holds or timeout passes.
func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting until %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond) // poll interval, bounded by the deadline
	}
}

// TestTLSClusterRunsAJob: three servers and a client with mutual TLS on RPC
// and HTTP (verify_server_hostname, verify_https_client) form a cluster,
// Raft inside TLS, and run a job registered over HTTPS with the CLI's
// certificate. A client agent whose certificate another CA signed is
// refused, and a plain HTTP request to the TLS port gets an error that
// says to use https.
func TestTLSClusterRunsAJob(t *testing.T) {
	ca := tlstest.NewCA(t)
	var servers []*Agent
	var join []string
	for i := range 3 {
		cfg := DefaultConfig()
		cfg.DataDir, cfg.BindAddr, cfg.NodeName = t.TempDir(), "127.0.0.1", fmt.Sprintf("tls-server-%d", i)
		cfg.Ports = testPorts(t)
		cfg.Server = ServerConfig{Enabled: true, BootstrapExpect: 3}
		cfg.TLS = tlsBlock(ca.Files(cfg.NodeName, tlsutil.RoleServer, "global"))
		if i == 0 {
			join = []string{fmt.Sprintf("127.0.0.1:%d", cfg.Ports.Serf)}
		} else {
			cfg.ServerJoin.RetryJoin = join
		}
		servers = append(servers, startTestAgent(t, cfg))
	}
	rpcAddrs := make([]string, len(servers))
	for i, s := range servers {
		rpcAddrs[i] = s.server.RPCAddr()
	}
	newClientAgent := func(name string, files tlsutil.Files) *Agent {
		cfg := DefaultConfig()
		cfg.DataDir, cfg.BindAddr, cfg.NodeName = t.TempDir(), "127.0.0.1", name
		cfg.Ports = testPorts(t)
		cfg.Client = ClientConfig{Enabled: true, Servers: rpcAddrs, EmbeddedSupervisor: true}
		cfg.Plugins.Mock = true
		cfg.TLS = tlsBlock(files)
		return startTestAgent(t, cfg)
	}
	newClientAgent("tls-client", ca.Files("client", tlsutil.RoleClient, "global"))

	cli := ca.Files("cli", tlsutil.RoleCLI, "global")
	client, err := api.NewClient(&api.Config{Address: servers[1].HTTPURL(),
		TLSConfig: api.TLSConfig{CACert: cli.CAFile, ClientCert: cli.CertFile, ClientKey: cli.KeyFile}})
	if err != nil {
		t.Fatal(err)
	}
	var nodeID string
	waitUntil(t, 60*time.Second, "a leader and the client's node ready", func() bool {
		nodes, _, err := client.Nodes().List(nil)
		for _, n := range nodes {
			if err == nil && n.Name == "tls-client" && n.Status == structs.NodeStatusReady {
				nodeID = n.ID
			}
		}
		return nodeID != ""
	})
	job := structstest.Job("tls-job")
	job.TaskGroups[0].Tasks[0].Driver = "mock"
	job.TaskGroups[0].Tasks[0].Config = map[string]any{"run_for": "1h"}
	if _, err := client.Jobs().Register(job); err != nil {
		t.Fatalf("registering over HTTPS: %v", err)
	}
	waitUntil(t, 60*time.Second, "the job's allocation runs on the TLS client", func() bool {
		allocs, _, err := client.Jobs().Allocations("tls-job", nil)
		return err == nil && len(allocs) == 1 && allocs[0].NodeID == nodeID && allocs[0].ClientStatus == structs.AllocClientStatusRunning
	})
	for _, s := range servers {
		if s.server.Leader() == "" {
			t.Errorf("%s knows no leader", s.cfg.NodeName)
		}
	}

	// A client of another CA: the servers refuse its connection, so its
	// calls fail.
	stranger := newClientAgent("stranger", tlstest.NewCA(t).Files("stranger", tlsutil.RoleClient, "global"))
	var leader string
	if err := stranger.Backend().RPC(t.Context(), "Status.Leader", &structs.GenericRequest{}, &leader); err == nil {
		t.Error("a client with a certificate of another CA reached the servers")
	}

	// Plain HTTP to the TLS port, and HTTPS without the CLI's certificate.
	plain, err := api.NewClient(&api.Config{Address: "http://" + servers[0].HTTPAddr()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plain.Status().Leader(); err == nil || !strings.Contains(err.Error(), "serves HTTPS") {
		t.Errorf("plain HTTP to the TLS port: %v, want an error saying it serves HTTPS", err)
	}
	noCert, err := api.NewClient(&api.Config{Address: servers[0].HTTPURL(), TLSConfig: api.TLSConfig{CACert: cli.CAFile}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := noCert.Status().Leader(); err == nil || !strings.Contains(err.Error(), "TLS with the orch agent") {
		t.Errorf("HTTPS without a client certificate (verify_https_client): %v", err)
	}
}

// TestApplyFileTLS: the tls block's attributes, and errors that name the
// attribute's position.
func TestApplyFileTLS(t *testing.T) {
	ca := tlstest.NewCA(t)
	files := ca.Files("server", tlsutil.RoleServer, "global")
	c := DefaultConfig()
	c.DataDir, c.Server = t.TempDir(), ServerConfig{Enabled: true, BootstrapExpect: 1}
	path := writeConfig(t, "tls.hcl", fmt.Sprintf(`
tls {
  http = true
  rpc  = true
  ca_file   = %q
  cert_file = %q
  key_file  = %q
  verify_server_hostname = true
  verify_https_client    = true
}`, files.CAFile, files.CertFile, files.KeyFile))
	if err := c.ApplyFile(path); err != nil {
		t.Fatal(err)
	}
	got := c.TLS
	got.at = nil
	if want := tlsBlock(files); fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want) {
		t.Errorf("tls = %+v, want %+v", got, want)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}

	missing := DefaultConfig()
	if err := missing.ApplyFile(writeConfig(t, "missing.hcl", "tls {\n  rpc = true\n  ca_file = \"/nonexistent/ca.pem\"\n}\n")); err != nil {
		t.Fatal(err)
	}
	err := missing.Validate()
	for _, w := range []string{`missing.hcl:1:1: tls.cert_file = "": required`, `missing.hcl:1:1: tls.key_file = "": required`} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("Validate: %v\nwant %s", err, w)
		}
	}
	missing.TLS.CertFile, missing.TLS.KeyFile = files.CertFile, files.KeyFile
	if err := missing.Validate(); err == nil || !strings.Contains(err.Error(), `missing.hcl:3:13: tls.ca_file = "/nonexistent/ca.pem"`) {
		t.Errorf("Validate with a missing CA file: %v", err)
	}
	badKey := DefaultConfig()
	if err := os.WriteFile(files.KeyFile, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := badKey.ApplyFile(path); err != nil {
		t.Fatal(err)
	}
	if err := badKey.Validate(); err == nil || !strings.Contains(err.Error(), "tls.hcl:6:15: tls.cert_file = ") {
		t.Errorf("Validate with a bad key: %v", err)
	}
	notString := writeConfig(t, "num.hcl", "tls {\n  ca_file = 3\n}\n")
	if err := DefaultConfig().ApplyFile(notString); err == nil || !strings.Contains(err.Error(), "num.hcl:2:13: tls.ca_file: must be a string") {
		t.Errorf("ca_file = 3: %v", err)
	}
	upgrade := DefaultConfig()
	if err := upgrade.ApplyFile(writeConfig(t, "upgrade.hcl", "tls {\n  rpc_upgrade_mode = true\n}\n")); err != nil {
		t.Fatal(err)
	}
	if !upgrade.TLS.RPCUpgradeMode || upgrade.TLS.rpcMode() != server.RPCTLSAccept {
		t.Errorf("rpc_upgrade_mode = true alone: %+v, mode %v; want the accept step", upgrade.TLS, upgrade.TLS.rpcMode())
	}
	if err := upgrade.Validate(); err == nil || !strings.Contains(err.Error(), `upgrade.hcl:1:1: tls.ca_file = "": required with tls.http, tls.rpc or tls.rpc_upgrade_mode = true`) {
		t.Errorf("rpc_upgrade_mode without files: %v", err)
	}
	upgrade.TLS.RPC = true
	if upgrade.TLS.rpcMode() != server.RPCTLSUpgrade {
		t.Errorf("rpc and rpc_upgrade_mode: mode %v, want upgrade", upgrade.TLS.rpcMode())
	}
	unknown := writeConfig(t, "unknown.hcl", "tls {\n  tls_cipher_suites = \"x\"\n}\n")
	if err := DefaultConfig().ApplyFile(unknown); err == nil || !strings.Contains(err.Error(), "unknown.hcl:2:") {
		t.Errorf("unknown attribute: %v", err)
	}
}

// TestTLSReloadKeepsConnections: Reload (SIGHUP) makes new connections get
// the new certificate, and a connection opened before goes on working.
func TestTLSReloadKeepsConnections(t *testing.T) {
	ca := tlstest.NewCA(t)
	files := ca.Files("dev", tlsutil.RoleServer, "global")
	cfg := DevConfig()
	cfg.DataDir, cfg.Ports, cfg.Client.Enabled = t.TempDir(), testPorts(t), false
	cfg.TLS = tlsBlock(files)
	a := startTestAgent(t, cfg)
	cli := ca.Files("cli", tlsutil.RoleCLI, "global")
	cert, err := tls.LoadX509KeyPair(cli.CertFile, cli.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.PEM.Cert)
	dial := func() *tls.Conn {
		conn, err := tls.Dial("tcp", a.HTTPAddr(), &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		return conn
	}
	get := func(conn *tls.Conn, r *bufio.Reader) error {
		if _, err := io.WriteString(conn, "GET /v1/status/leader HTTP/1.1\r\nHost: orch\r\n\r\n"); err != nil {
			return err
		}
		resp, err := http.ReadResponse(r, nil)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	}
	old := dial()
	oldReader := bufio.NewReader(old)
	if err := get(old, oldReader); err != nil {
		t.Fatal(err)
	}
	serial := old.ConnectionState().PeerCertificates[0].SerialNumber

	next := ca.Files("dev-next", tlsutil.RoleServer, "global")
	for from, to := range map[string]string{next.CertFile: files.CertFile, next.KeyFile: files.KeyFile} {
		b, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(to, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Reload(); err != nil {
		t.Fatal(err)
	}
	if err := get(old, oldReader); err != nil {
		t.Errorf("the connection opened before the reload: %v", err)
	}
	fresh := dial()
	if got := fresh.ConnectionState().PeerCertificates[0].SerialNumber; got.Cmp(serial) == 0 {
		t.Error("a new connection after the reload got the old certificate")
	}
}
