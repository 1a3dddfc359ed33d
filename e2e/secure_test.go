package e2e

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/orch-io/orch/command/agent"
)

// secureCluster is a cluster with acl, tls (mutual, verify_server_hostname,
// verify_https_client) and encrypt configured, and what a test needs to
// talk to it: the CLI's certificate and the management token.
type secureCluster struct {
	t       *testing.T
	pki     string // directory of the CA and certificates (orch tls)
	servers []*clusterServer
	client  *agentProc
	https   *http.Client // with the CLI's certificate
	mgmt    string       // the management token's secret
}

func (c *secureCluster) url(s *clusterServer) string {
	return fmt.Sprintf("https://127.0.0.1:%d", s.ports[0])
}

// orch runs the CLI against server s over HTTPS with the CLI's certificate
// and token (none when ""), and returns its stdout, stderr and exit code.
func (c *secureCluster) orch(s *clusterServer, token string, args ...string) (string, string, int) {
	c.t.Helper()
	cmd := exec.Command(orchBin, args...)
	cmd.Dir = repoRoot()
	cmd.Env = append(os.Environ(), "ORCH_ADDR="+c.url(s), "NOMAD_TOKEN=", "ORCH_TOKEN="+token,
		"ORCH_CACERT="+filepath.Join(c.pki, "nomad-agent-ca.pem"),
		"ORCH_CLIENT_CERT="+filepath.Join(c.pki, "global-cli-nomad.pem"),
		"ORCH_CLIENT_KEY="+filepath.Join(c.pki, "global-cli-nomad-key.pem"))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		return stdout.String(), stderr.String(), exitErr.ExitCode()
	} else if err != nil {
		c.t.Fatalf("running orch %v: %v", args, err)
	}
	return stdout.String(), stderr.String(), 0
}

// mustOrch is orch that fails the test unless the command exits 0.
func (c *secureCluster) mustOrch(s *clusterServer, token string, args ...string) string {
	c.t.Helper()
	out, errOut, code := c.orch(s, token, args...)
	if code != 0 {
		c.t.Fatalf("orch %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// request makes one HTTPS request to s with token (none when "") and
// returns the status and body.
func (c *secureCluster) request(s *clusterServer, method, path, token string) (int, string, error) {
	req, err := http.NewRequest(method, c.url(s)+path, strings.NewReader("{}"))
	if err != nil {
		return 0, "", err
	}
	if token != "" {
		req.Header.Set("X-Nomad-Token", token)
	}
	resp, err := c.https.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, string(b), nil
}

// pkiCommand runs `orch tls ...` in dir.
func pkiCommand(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command(orchBin, append([]string{"tls"}, args...)...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("orch tls %v: %v\n%s", args, err, out)
	}
}

// newPKI makes a CA and a server, a client and a CLI certificate in a new
// directory with `orch tls`.
func newPKI(t *testing.T) string {
	dir := t.TempDir()
	pkiCommand(t, dir, "ca", "create")
	for _, role := range []string{"-server", "-client", "-cli"} {
		pkiCommand(t, dir, "cert", "create", role)
	}
	return dir
}

// secureConfig is the agent file of a secure cluster's agent of role
// ("server" or "client") with the certificates of pki.
func secureConfig(t *testing.T, pki, role, gossipKey string) string {
	t.Helper()
	f := func(name string) string { return filepath.Join(pki, name) }
	cfg := fmt.Sprintf(`acl {
  enabled   = true
  token_ttl = "2s"
}
tls {
  http = true
  rpc  = true
  ca_file   = %q
  cert_file = %q
  key_file  = %q
  verify_server_hostname = true
  verify_https_client    = true
}
server {
  encrypt = %q
}
`, f("nomad-agent-ca.pem"), f("global-"+role+"-nomad.pem"), f("global-"+role+"-nomad-key.pem"), gossipKey)
	if role == "client" {
		cfg += rawExecConfig
	}
	path := filepath.Join(t.TempDir(), role+".hcl")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// httpsClient is an HTTP client that trusts pki's CA and presents its CLI
// certificate.
func httpsClient(t *testing.T, pki string) *http.Client {
	t.Helper()
	caPEM, err := os.ReadFile(filepath.Join(pki, "nomad-agent-ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	cert, err := tls.LoadX509KeyPair(filepath.Join(pki, "global-cli-nomad.pem"), filepath.Join(pki, "global-cli-nomad-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
	}}
}

var secretRE = regexp.MustCompile(`Secret ID\s+=\s+(\S+)`)
var accessorRE = regexp.MustCompile(`Accessor ID\s+=\s+(\S+)`)

// startSecureCluster starts three servers and a client with acl, tls and
// encrypt, waits for a leader, bootstraps the ACLs and waits for the client
// node.
func startSecureCluster(t *testing.T) *secureCluster {
	c := &secureCluster{t: t, pki: newPKI(t)}
	c.https = httpsClient(t, c.pki)
	key, _, code := (&agentProc{t: t}).orch("operator", "gossip", "keyring", "-generate")
	if code != 0 {
		t.Fatalf("keyring -generate: exit %d", code)
	}
	key = strings.TrimSpace(key)
	serverCfg := secureConfig(t, c.pki, "server", key)
	var join []string
	for i := range 3 {
		s := &clusterServer{name: fmt.Sprintf("sec%d", i+1), dataDir: t.TempDir(), ports: freePorts(t)}
		c.servers = append(c.servers, s)
		join = append(join, s.gossipAddr())
	}
	for _, s := range c.servers {
		s.proc = startAgent(t, s.dataDir, s.ports, "-server", "-bootstrap-expect", "3", "-bind", "127.0.0.1",
			"-node", s.name, "-join", join[0], "-config", serverCfg)
	}
	waitFor(t, "every server to know the leader", 60*time.Second, func() (bool, error) {
		for _, s := range c.servers {
			code, body, err := c.request(s, "GET", "/v1/status/leader", "")
			if err != nil || code != 200 || len(body) < 5 {
				return false, fmt.Errorf("%s: %d %q %v", s.name, code, body, err)
			}
		}
		return true, nil
	})
	out := c.mustOrch(c.servers[1], "", "acl", "bootstrap")
	m := secretRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("acl bootstrap printed no secret: %s", out)
	}
	c.mgmt = m[1]
	c.client = startAgent(t, t.TempDir(), freePorts(t), "-client", "-bind", "127.0.0.1", "-node", "sec-client",
		"-join", strings.Join(join, ","), "-config", secureConfig(t, c.pki, "client", key))
	waitFor(t, "the client node ready", 60*time.Second, func() (bool, error) {
		out, errOut, code := c.orch(c.servers[0], c.mgmt, "node", "status")
		return code == 0 && strings.Contains(out, "ready"), fmt.Errorf("exit %d: %s%s", code, out, errOut)
	})
	return c
}

// TestSecureCluster: three servers and a client with acl, tls (mutual,
// certificates made by `orch tls`) and encrypt run the README's tour with the
// management token, and refuse everything else: anonymous requests on every
// route of the router, a read-only token's writes, a namespace-scoped
// token's reads of another namespace (jobs and logs), a revoked token, a
// client agent with a certificate of another CA, plain HTTP.
func TestSecureCluster(t *testing.T) {
	c := startSecureCluster(t)
	s0, s1 := c.servers[0], c.servers[2]

	// The tour, with the management token.
	mustContain(t, "server members", c.mustOrch(s0, c.mgmt, "server", "members"), "sec1", "sec2", "sec3")
	c.mustOrch(s0, c.mgmt, "job", "run", "examples/hello.hcl")
	c.mustOrch(s1, c.mgmt, "job", "run", "-var", "count=2", "examples/web.hcl")
	waitFor(t, "web to run its two allocations", 60*time.Second, func() (bool, error) {
		out, _, code := c.orch(s0, c.mgmt, "job", "status", "web")
		return code == 0 && regexp.MustCompile(`(?m)^web\s+0\s+0\s+2\s+`).MatchString(out), fmt.Errorf("%s", out)
	})
	var helloAlloc string
	waitFor(t, "hello's allocation to complete", 60*time.Second, func() (bool, error) {
		out, _, code := c.orch(s0, c.mgmt, "job", "status", "hello")
		m := regexp.MustCompile(`(?m)^([0-9a-f]{8})\s+\S+\s+hello\s+\d+\s+run\s+complete`).FindStringSubmatch(out)
		if code != 0 || m == nil {
			return false, fmt.Errorf("%s", out)
		}
		helloAlloc = m[1]
		return true, nil
	})
	mustContain(t, "alloc logs", c.mustOrch(s1, c.mgmt, "alloc", "logs", helloAlloc), "hello from")
	mustContain(t, "alloc status", c.mustOrch(s0, c.mgmt, "alloc", "status", helloAlloc), "All tasks have completed")
	// A deployment gated by checks: the client registers the service and
	// reports health with its node's secret.
	c.mustOrch(s0, c.mgmt, "job", "run", "examples/api.hcl")
	waitFor(t, "api's deployment to succeed", 120*time.Second, func() (bool, error) {
		out, _, code := c.orch(s1, c.mgmt, "deployment", "list")
		return code == 0 && regexp.MustCompile(`(?m)\sapi\s.*successful`).MatchString(out), fmt.Errorf("%s", out)
	})
	mustContain(t, "service info", c.mustOrch(s0, c.mgmt, "service", "info", "api"), "api")
	mustContain(t, "eval list", c.mustOrch(s0, c.mgmt, "eval", "list"), "web")
	nodeOut := c.mustOrch(s0, c.mgmt, "node", "status")
	nodeID := regexp.MustCompile(`(?m)^([0-9a-f]{8})\s`).FindStringSubmatch(nodeOut)
	if nodeID == nil {
		t.Fatalf("node status: %s", nodeOut)
	}
	c.mustOrch(s0, c.mgmt, "node", "drain", "-enable", "-yes", "-detach", nodeID[1])
	mustContain(t, "node status after drain", c.mustOrch(s0, c.mgmt, "node", "status"), "true")
	c.mustOrch(s0, c.mgmt, "node", "drain", "-disable", "-yes", nodeID[1])
	c.mustOrch(s0, c.mgmt, "job", "stop", "web")
	c.mustOrch(s0, c.mgmt, "job", "stop", "api")

	// Anonymous requests: refused on every route but the open ones.
	routes := agent.APIRoutes()
	for _, r := range routes {
		if r.Open {
			continue
		}
		method, path, _ := strings.Cut(r.Pattern, " ")
		path = regexp.MustCompile(`\{[a-z]+\}`).ReplaceAllString(path, "x")
		code, body, err := c.request(s0, method, path, "")
		if err != nil || code != http.StatusForbidden || !strings.Contains(body, "Permission denied") {
			t.Errorf("anonymous %s %s: %d %q %v; want 403 Permission denied", method, path, code, body, err)
		}
	}
	t.Logf("%d routes refused anonymously", len(routes))

	// A read-only token reads and cannot register.
	writeFile(t, filepath.Join(c.pki, "readonly.hcl"), `namespace "default" { policy = "read" }`)
	c.mustOrch(s0, c.mgmt, "acl", "policy", "apply", "readonly", filepath.Join(c.pki, "readonly.hcl"))
	ro := c.newToken("ro", "readonly")
	mustContain(t, "read-only job status", c.mustOrch(s1, ro, "job", "status"), "hello")
	if out, errOut, code := c.orch(s1, ro, "job", "run", "examples/hello.hcl"); code == 0 || !strings.Contains(errOut, "Permission denied") {
		t.Errorf("job run with a read-only token: exit %d\n%s%s", code, out, errOut)
	}

	// A token of namespace "default" cannot see namespace "other".
	c.mustOrch(s0, c.mgmt, "namespace", "apply", "other")
	c.mustOrch(s0, c.mgmt, "job", "run", "-namespace", "other", "examples/hello.hcl")
	var otherAlloc string
	waitFor(t, "hello in namespace other to complete", 60*time.Second, func() (bool, error) {
		out, _, code := c.orch(s0, c.mgmt, "job", "status", "-namespace", "other", "hello")
		m := regexp.MustCompile(`(?m)^([0-9a-f]{8})\s+\S+\s+hello\s+\d+\s+run\s+complete`).FindStringSubmatch(out)
		if code != 0 || m == nil {
			return false, fmt.Errorf("%s", out)
		}
		otherAlloc = m[1]
		return true, nil
	})
	writeFile(t, filepath.Join(c.pki, "dev.hcl"), "namespace \"default\" { policy = \"write\" }\nnode { policy = \"read\" }\n")
	c.mustOrch(s0, c.mgmt, "acl", "policy", "apply", "dev", filepath.Join(c.pki, "dev.hcl"))
	dev := c.newToken("dev", "dev")
	mustContain(t, "scoped token's logs in its namespace", c.mustOrch(s1, dev, "alloc", "logs", helloAlloc), "hello from")
	for _, args := range [][]string{
		{"job", "status", "-namespace", "other"},
		{"job", "status", "-namespace", "other", "hello"},
		{"alloc", "logs", "-namespace", "other", otherAlloc},
	} {
		if out, errOut, code := c.orch(s1, dev, args...); code == 0 || strings.Contains(out, "hello from") {
			t.Errorf("orch %v with a token of namespace default: exit %d\n%s%s", args, code, out, errOut)
		}
	}
	mustContain(t, "management token's logs in namespace other", c.mustOrch(s1, c.mgmt, "alloc", "logs", "-namespace", "other", otherAlloc), "hello from")

	// A revoked token stops working within the cache TTL (token_ttl = 2s),
	// also on a route that reaches no server.
	short := c.newToken("short", "dev")
	shortAccessor := accessorRE.FindStringSubmatch(c.mustOrch(s0, short, "acl", "token", "self"))[1]
	for _, path := range []string{"/v1/jobs", "/v1/agent/members"} {
		if code, body, err := c.request(s1, "GET", path, short); code != 200 {
			t.Fatalf("GET %s with a fresh token: %d %q %v", path, code, body, err)
		}
	}
	c.mustOrch(s0, c.mgmt, "acl", "token", "delete", shortAccessor)
	revoked := time.Now()
	waitFor(t, "the revoked token refused everywhere", 30*time.Second, func() (bool, error) {
		for _, s := range c.servers {
			for _, path := range []string{"/v1/jobs", "/v1/agent/members"} {
				if code, _, err := c.request(s, "GET", path, short); code != http.StatusForbidden {
					return false, fmt.Errorf("%s GET %s: %d %v", s.name, path, code, err)
				}
			}
		}
		return true, nil
	})
	t.Logf("revoked token refused on every server %s after its deletion (token_ttl 2s)", time.Since(revoked).Round(time.Millisecond))

	// A client agent with a certificate of another CA is refused by the
	// servers and never registers.
	strangerPKI := newPKI(t)
	key, _, _ := (&agentProc{t: t}).orch("operator", "gossip", "keyring", "-generate")
	stranger := startAgent(t, t.TempDir(), freePorts(t), "-client", "-bind", "127.0.0.1", "-node", "sec-stranger",
		"-servers", s0.rpcAddr(), "-config", secureConfig(t, strangerPKI, "client", strings.TrimSpace(key)))
	waitFor(t, "the servers to refuse the stranger's certificate", 60*time.Second, func() (bool, error) {
		b, err := os.ReadFile(s0.proc.logPath)
		return err == nil && bytes.Contains(b, []byte("TLS handshake failed")), err
	})
	if out := c.mustOrch(s0, c.mgmt, "node", "status"); strings.Contains(out, "sec-stranger") {
		t.Errorf("the stranger registered:\n%s", out)
	}
	_ = stranger
	strangerHTTP := httpsClient(t, strangerPKI)
	strangerHTTP.Transport.(*http.Transport).TLSClientConfig.RootCAs = c.https.Transport.(*http.Transport).TLSClientConfig.RootCAs
	if resp, err := strangerHTTP.Get(c.url(s0) + "/v1/status/leader"); err == nil {
		resp.Body.Close()
		t.Errorf("HTTPS with a CLI certificate of another CA: %s, want a handshake failure", resp.Status)
	}

	// Plain HTTP to the TLS port fails with a clear error, from the CLI too.
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/v1/status/leader", s0.ports[0]))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "HTTPS") {
		t.Errorf("plain HTTP to the TLS port: %s %q", resp.Status, body)
	}
	cmd := exec.Command(orchBin, "job", "status")
	cmd.Env = append(os.Environ(), fmt.Sprintf("ORCH_ADDR=http://127.0.0.1:%d", s0.ports[0]), "ORCH_TOKEN="+c.mgmt)
	cliOut, _ := cmd.CombinedOutput()
	if !strings.Contains(string(cliOut), "serves HTTPS") {
		t.Errorf("orch job status over plain HTTP: %s", cliOut)
	}
}

// newToken creates a client token with policy through the first server
// and waits until every server knows it: a follower resolves tokens from
// its own replicated state, which may lag the write by a moment.
func (c *secureCluster) newToken(name, policy string) string {
	c.t.Helper()
	out := c.mustOrch(c.servers[0], c.mgmt, "acl", "token", "create", "-name", name, "-policy", policy)
	secret := secretRE.FindStringSubmatch(out)[1]
	waitFor(c.t, "every server to know token "+name, 30*time.Second, func() (bool, error) {
		for _, s := range c.servers {
			if _, errOut, code := c.orch(s, secret, "acl", "token", "self"); code != 0 {
				return false, fmt.Errorf("%s: %s", s.name, errOut)
			}
		}
		return true, nil
	})
	return secret
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
