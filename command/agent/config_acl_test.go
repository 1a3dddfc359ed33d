package agent

import (
	"strings"
	"testing"
	"time"
)

func TestApplyFileACL(t *testing.T) {
	c := DefaultConfig()
	path := writeConfig(t, "acl.hcl", `
acl {
  enabled    = true
  token_ttl  = "10s"
  policy_ttl = "1m"
}`)
	if err := c.ApplyFile(path); err != nil {
		t.Fatal(err)
	}
	if !c.ACL.Enabled || c.ACL.TokenTTL != 10*time.Second || c.ACL.PolicyTTL != time.Minute || c.ACL.aclCacheTTL() != 10*time.Second {
		t.Fatalf("acl = %+v", c.ACL)
	}
	if got := (ACLConfig{}).aclCacheTTL(); got != DefaultACLTokenTTL {
		t.Fatalf("default cache TTL %s", got)
	}
	bad := writeConfig(t, "bad.hcl", "acl {\n  token_ttl = \"soon\"\n}")
	err := DefaultConfig().ApplyFile(bad)
	if err == nil || !strings.Contains(err.Error(), `bad.hcl:2:15: acl.token_ttl = "soon": must be a duration`) {
		t.Fatalf("err = %v", err)
	}
	c.ACL.TokenTTL = -time.Second
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "acl.token_ttl = -1s: must be >= 0") {
		t.Fatalf("Validate: %v", err)
	}
}
