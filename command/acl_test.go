package command

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/orch-io/orch/internal/agenttest"
)

// TestACLCommands drives `orch acl` against a real agent with ACLs on:
// bootstrap, a policy from a file, a token of it used through -token and
// NOMAD_TOKEN, and what the token may not do.
func TestACLCommands(t *testing.T) {
	t.Setenv("ORCH_TOKEN", "")
	t.Setenv("NOMAD_TOKEN", "")
	a := agenttest.Start(t, agenttest.Options{ACL: true})
	addr := "-address=" + a.URL
	mgmt := "-token=" + a.ManagementToken

	r := runCLI(t, "acl", "bootstrap", addr)
	if r.code != 1 {
		t.Fatalf("second bootstrap: code %d", r.code)
	}
	mustContain(t, "bootstrap error", r.stderr, "ACL bootstrap already done (reset index:", "acl-bootstrap-reset")

	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.hcl")
	if err := os.WriteFile(bad, []byte(`namespace "default" { policy = "own" }`), 0o600); err != nil {
		t.Fatal(err)
	}
	r = runCLI(t, "acl", "policy", "apply", addr, mgmt, "broken", bad)
	if r.code != 1 {
		t.Fatalf("bad policy: code %d", r.code)
	}
	mustContain(t, "policy error", r.stderr, bad+`:1:1: namespace "default": policy = "own"`)

	good := filepath.Join(dir, "readonly.hcl")
	if err := os.WriteFile(good, []byte(`namespace "default" { policy = "read" }`+"\nnode { policy = \"read\" }\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r = runCLI(t, "acl", "policy", "apply", addr, mgmt, "-description=read only", "readonly", good)
	if r.code != 0 {
		t.Fatalf("apply: %s", r.stderr)
	}
	r = runCLI(t, "acl", "policy", "list", addr, mgmt)
	mustContain(t, "policy list", r.stdout, "readonly", "read only")
	r = runCLI(t, "acl", "policy", "info", addr, mgmt, "readonly")
	mustContain(t, "policy info", r.stdout, `node { policy = "read" }`)

	r = runCLI(t, "acl", "token", "create", addr, mgmt, "-name=viewer", "-policy=readonly")
	if r.code != 0 {
		t.Fatalf("token create: %s", r.stderr)
	}
	mustContain(t, "token create", r.stdout, "Name         = viewer", "Type         = client", "Policies     = [readonly]")
	secret := field(r.stdout, "Secret ID")
	accessor := field(r.stdout, "Accessor ID")

	t.Setenv("NOMAD_TOKEN", secret)
	r = runCLI(t, "acl", "token", "self", addr)
	mustContain(t, "token self", r.stdout, "Accessor ID  = "+accessor)
	r = runCLI(t, "node", "status", addr)
	if r.code != 0 {
		t.Fatalf("a node-read token lists nodes: %s", r.stderr)
	}
	r = runCLI(t, "acl", "token", "list", addr)
	if r.code != 1 || !strings.Contains(r.stderr, "Permission denied") {
		t.Fatalf("a client token lists tokens: code %d %s", r.code, r.stderr)
	}
	t.Setenv("NOMAD_TOKEN", "")

	r = runCLI(t, "acl", "token", "update", addr, mgmt, "-name=renamed", accessor)
	mustContain(t, "token update", r.stdout, "Name         = renamed", "Policies     = [readonly]")
	r = runCLI(t, "acl", "token", "list", addr, mgmt)
	mustContain(t, "token list", r.stdout, "renamed", accessor)
	r = runCLI(t, "acl", "token", "delete", addr, mgmt, accessor)
	if r.code != 0 {
		t.Fatalf("token delete: %s", r.stderr)
	}
	r = runCLI(t, "acl", "token", "info", addr, mgmt, accessor)
	if r.code != 1 {
		t.Fatalf("deleted token info: code %d", r.code)
	}

	// Roles: a token holding one by name; the role's policies can be replaced.
	r = runCLI(t, "acl", "role", "create", addr, mgmt, "-name=viewers", "-description=read things", "-policy=readonly")
	if r.code != 0 {
		t.Fatalf("role create: %s", r.stderr)
	}
	roleID := field(r.stdout, "ID")
	mustContain(t, "role create", r.stdout, "Name         = viewers", "Policies     = readonly")
	r = runCLI(t, "acl", "role", "create", addr, mgmt, "-name=bad name", "-policy=readonly")
	if r.code != 2 || !strings.Contains(r.stderr, `role name "bad name"`) {
		t.Fatalf("a bad role name: code %d %s", r.code, r.stderr)
	}
	r = runCLI(t, "acl", "role", "list", addr, mgmt)
	mustContain(t, "role list", r.stdout, roleID, "viewers", "read things")
	r = runCLI(t, "acl", "role", "info", addr, mgmt, "-by-name", "viewers")
	mustContain(t, "role info", r.stdout, "ID           = "+roleID)
	r = runCLI(t, "acl", "token", "create", addr, mgmt, "-name=holder", "-role-name=viewers")
	if r.code != 0 {
		t.Fatalf("token create with a role: %s", r.stderr)
	}
	mustContain(t, "token with a role", r.stdout, "Roles        = [viewers]")
	t.Setenv("NOMAD_TOKEN", field(r.stdout, "Secret ID"))
	if r = runCLI(t, "node", "status", addr); r.code != 0 {
		t.Fatalf("a token holding the role lists nodes: %s", r.stderr)
	}
	t.Setenv("NOMAD_TOKEN", "")
	r = runCLI(t, "acl", "role", "update", addr, mgmt, "-name=readers", roleID)
	mustContain(t, "role update", r.stdout, "Name         = readers", "Policies     = readonly")
	r = runCLI(t, "acl", "role", "delete", addr, mgmt, roleID)
	if r.code != 0 {
		t.Fatalf("role delete: %s", r.stderr)
	}
	r = runCLI(t, "acl", "policy", "delete", addr, mgmt, "readonly")
	if r.code != 0 {
		t.Fatalf("policy delete: %s", r.stderr)
	}
}

// field returns the value of "Key = value" in out.
func field(out, key string) string {
	for _, line := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
