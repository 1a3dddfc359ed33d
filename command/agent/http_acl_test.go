package agent_test

import (
	"testing"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/internal/agenttest"
	"github.com/orch-io/orch/internal/structstest"
	"github.com/orch-io/orch/structs"
)

// TestACLTourWithTokens runs a real agent with ACLs on: the management token
// does everything; a read-only token reads and cannot register; a token of
// one namespace neither sees nor reads another's jobs; a deleted token stops
// working.
func TestACLTourWithTokens(t *testing.T) {
	a := agenttest.Start(t, agenttest.Options{ACL: true})
	mgmt := a.API
	if _, err := mgmt.Jobs().Register(structstest.Job("web")); err != nil {
		t.Fatalf("management registers: %v", err)
	}
	prod := structstest.Job("billing")
	prod.Namespace = "prod"
	if _, err := mgmt.Jobs().Register(prod); err != nil {
		t.Fatalf("management registers in prod: %v", err)
	}

	anon, err := api.NewClient(&api.Config{Address: a.URL})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := anon.Jobs().List(nil); !api.IsPermissionDenied(err) {
		t.Fatalf("anonymous list: %v", err)
	}

	for name, rules := range map[string]string{
		"readonly": `namespace "default" { policy = "read" }`,
		"prod":     `namespace "prod" { policy = "write" }`,
	} {
		if err := mgmt.ACL().PolicyUpsert(&structs.ACLPolicy{Name: name, Rules: rules}); err != nil {
			t.Fatal(err)
		}
	}
	token := func(policy string) (*structs.ACLToken, *api.Client) {
		tok, err := mgmt.ACL().TokenCreate(&structs.ACLToken{Name: policy, Type: structs.ACLClientToken, Policies: []string{policy}})
		if err != nil {
			t.Fatal(err)
		}
		c, err := api.NewClient(&api.Config{Address: a.URL, SecretID: tok.SecretID})
		if err != nil {
			t.Fatal(err)
		}
		return tok, c
	}

	roTok, ro := token("readonly")
	if j, _, err := ro.Jobs().Info("web", nil); err != nil || j.ID != "web" {
		t.Fatalf("read-only reads: %v", err)
	}
	if _, err := ro.Jobs().Register(structstest.Job("web2")); !api.IsPermissionDenied(err) {
		t.Fatalf("read-only registers: %v", err)
	}
	if jobs, _, err := ro.Jobs().List(nil); err != nil || len(jobs) != 1 || jobs[0].ID != "web" {
		t.Fatalf("read-only lists only default's jobs: %v %v", jobs, err)
	}
	if _, _, err := ro.Jobs().Info("billing", nil); !api.IsPermissionDenied(err) {
		t.Fatalf("read-only reads prod's job: %v", err)
	}

	_, pr := token("prod")
	if _, _, err := pr.Jobs().Info("web", nil); !api.IsPermissionDenied(err) {
		t.Fatalf("prod token reads default's job: %v", err)
	}
	again := structstest.Job("billing")
	again.Namespace = "prod"
	if _, err := pr.Jobs().Register(again); err != nil {
		t.Fatalf("prod token registers in prod: %v", err)
	}
	if self, _, err := pr.ACL().TokenSelf(nil); err != nil || self.Name != "prod" {
		t.Fatalf("token self: %v", err)
	}
	if _, _, err := pr.ACL().Tokens(nil); !api.IsPermissionDenied(err) {
		t.Fatalf("a client token lists tokens: %v", err)
	}

	if err := mgmt.ACL().TokenDelete(roTok.AccessorID); err != nil {
		t.Fatal(err)
	}
	// The agent's cache may still admit the token at the HTTP layer (up to
	// acl.token_ttl); the servers refuse it at once.
	if _, _, err := ro.Jobs().Info("web", nil); !api.IsPermissionDenied(err) {
		t.Fatalf("deleted token reads: %v", err)
	}
	if _, err := mgmt.ACL().Bootstrap(); err == nil {
		t.Fatal("a second bootstrap succeeded")
	}
}
