package conformance

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	napi "github.com/hashicorp/nomad/api"
	"github.com/orch-io/orch/internal/agenttest"
)

// aclCases cover the ACL routes, on an agent with ACLs on
// (TestNomadClientACL); env.token is the management token.
var aclCases = []conformanceCase{
	{[]string{"PUT /v1/acl/bootstrap", "POST /v1/acl/bootstrap"}, testACLBootstrap},
	{[]string{"PUT /v1/acl/policy/{name}", "POST /v1/acl/policy/{name}", "GET /v1/acl/policies",
		"GET /v1/acl/policy/{name}", "DELETE /v1/acl/policy/{name}"}, testACLPolicies},
	{[]string{"PUT /v1/acl/token", "POST /v1/acl/token", "PUT /v1/acl/token/{id}", "POST /v1/acl/token/{id}",
		"GET /v1/acl/tokens", "GET /v1/acl/token/{id}", "GET /v1/acl/token/self", "DELETE /v1/acl/token/{id}"}, testACLTokens},
	{[]string{"PUT /v1/acl/role", "POST /v1/acl/role", "GET /v1/acl/roles", "GET /v1/acl/role/{id}",
		"GET /v1/acl/role/name/{name}", "PUT /v1/acl/role/{id}", "POST /v1/acl/role/{id}", "DELETE /v1/acl/role/{id}"}, testACLRoles},
}

// TestNomadClientACL drives the ACL routes of a dev agent with ACLs on
// through Nomad's Go client (bootstrapped by agenttest: the bootstrap case
// resets it the way Nomad documents).
func TestNomadClientACL(t *testing.T) {
	a := agenttest.Start(t, agenttest.Options{ACL: true})
	nomad, err := napi.NewClient(&napi.Config{Address: a.URL, SecretID: a.ManagementToken})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{agent: a, nomad: nomad, token: a.ManagementToken}
	for _, c := range aclCases {
		t.Run(strings.Join(c.routes, ","), func(t *testing.T) { c.run(t, e) })
	}
}

func testACLBootstrap(t *testing.T, e *env) {
	anonymous, err := napi.NewClient(&napi.Config{Address: e.agent.URL})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = anonymous.ACLTokens().Bootstrap(nil)
	if err == nil || !strings.Contains(err.Error(), "reset index") {
		t.Fatalf("a second bootstrap: %v, want a refusal naming the reset index", err)
	}
	// Nomad's reset: the index the refusal names, in acl-bootstrap-reset.
	_, index, _ := strings.Cut(err.Error(), "reset index: ")
	index, _, _ = strings.Cut(index, ")")
	if _, err := strconv.ParseUint(index, 10, 64); err != nil {
		t.Fatalf("no reset index in %q", index)
	}
	reset := filepath.Join(e.agent.Agent.DataDir(), "server", "acl-bootstrap-reset")
	if err := os.WriteFile(reset, []byte(index), 0o600); err != nil {
		t.Fatal(err)
	}
	secret := "2b778dd9-f5f1-6f29-b4b4-9a5fa948757a"
	tok, _, err := anonymous.ACLTokens().BootstrapOpts(secret, nil)
	if err != nil || tok.Type != "management" || tok.SecretID != secret || tok.AccessorID == "" || tok.CreateTime.IsZero() {
		t.Fatalf("bootstrap after the reset: %+v %v", tok, err)
	}
	// POST, reset again: the index of the last bootstrap is its token's.
	if err := os.WriteFile(reset, []byte(strconv.FormatUint(tok.CreateIndex, 10)), 0o600); err != nil {
		t.Fatal(err)
	}
	raw := rawDo(t, &env{agent: e.agent}, "POST", "/v1/acl/bootstrap", nil)
	if again := strictDecode[napi.ACLToken](t, "POST /v1/acl/bootstrap", raw); again.Type != "management" || again.SecretID == secret {
		t.Errorf("POST bootstrap after a reset: %+v", again)
	}
}

func testACLPolicies(t *testing.T, e *env) {
	p := &napi.ACLPolicy{Name: "readonly", Description: "viewers", Rules: `namespace "default" { policy = "read" }`}
	if _, err := e.nomad.ACLPolicies().Upsert(p, nil); err != nil {
		t.Fatalf("upsert: %v", err)
	}
	rawDo(t, e, "POST", "/v1/acl/policy/ops", &napi.ACLPolicy{Name: "ops", Rules: `operator { policy = "write" }`})
	list, _, err := e.nomad.ACLPolicies().List(nil)
	names := make([]string, 0, len(list))
	for _, s := range list {
		names = append(names, s.Name)
	}
	if err != nil || !slices.Equal(names, []string{"ops", "readonly"}) {
		t.Errorf("list: %q %v", names, err)
	}
	strictGetAuth[[]*napi.ACLPolicyListStub](t, e.agent.URL, e.token, "/v1/acl/policies")
	got, _, err := e.nomad.ACLPolicies().Info("readonly", nil)
	if err != nil || got.Rules != p.Rules || got.Description != "viewers" || got.CreateIndex == 0 || got.ModifyIndex < got.CreateIndex {
		t.Errorf("info: %+v %v", got, err)
	}
	strictGetAuth[napi.ACLPolicy](t, e.agent.URL, e.token, "/v1/acl/policy/readonly")
	bad := &napi.ACLPolicy{Name: "bad", Rules: `namespace "default" { policy = "sudo" }`}
	if _, err := e.nomad.ACLPolicies().Upsert(bad, nil); err == nil || !strings.Contains(err.Error(), "sudo") {
		t.Errorf("a policy with an unknown level: %v, want a refusal naming it", err)
	}
	if _, err := e.nomad.ACLPolicies().Delete("ops", nil); err != nil {
		t.Errorf("delete: %v", err)
	}
	if _, _, err := e.nomad.ACLPolicies().Info("ops", nil); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("a deleted policy: %v, want 404", err)
	}
}

func testACLTokens(t *testing.T, e *env) {
	if _, err := e.nomad.ACLPolicies().Upsert(&napi.ACLPolicy{Name: "viewer", Rules: `namespace "default" { policy = "read" }`}, nil); err != nil {
		t.Fatal(err)
	}
	tok, _, err := e.nomad.ACLTokens().Create(&napi.ACLToken{Name: "alice", Type: "client", Policies: []string{"viewer"}, ExpirationTTL: time.Hour}, nil)
	if err != nil || tok.AccessorID == "" || tok.SecretID == "" || tok.ExpirationTime == nil ||
		tok.ExpirationTime.Sub(tok.CreateTime) != time.Hour || !slices.Equal(tok.Policies, []string{"viewer"}) {
		t.Fatalf("create: %+v %v", tok, err)
	}
	raw := rawDo(t, e, "POST", "/v1/acl/token", &napi.ACLToken{Name: "bob", Type: "client", Policies: []string{"viewer"}})
	bob := strictDecode[napi.ACLToken](t, "POST /v1/acl/token", raw)

	tok.Name = "alice2"
	if up, _, err := e.nomad.ACLTokens().Update(tok, nil); err != nil || up.Name != "alice2" || up.SecretID != tok.SecretID {
		t.Errorf("update (PUT): %+v %v", up, err)
	}
	raw = rawDo(t, e, "POST", "/v1/acl/token/"+bob.AccessorID, &napi.ACLToken{AccessorID: bob.AccessorID, Name: "bob2", Type: "client", Policies: []string{"viewer"}})
	if up := strictDecode[napi.ACLToken](t, "POST /v1/acl/token/:id", raw); up.Name != "bob2" {
		t.Errorf("update (POST): %+v", up)
	}

	list, _, err := e.nomad.ACLTokens().List(nil)
	if err != nil || !slices.ContainsFunc(list, func(s *napi.ACLTokenListStub) bool { return s.AccessorID == tok.AccessorID && s.Name == "alice2" }) {
		t.Errorf("list: %+v %v", list, err)
	}
	strictGetAuth[[]*napi.ACLTokenListStub](t, e.agent.URL, e.token, "/v1/acl/tokens")
	info, _, err := e.nomad.ACLTokens().Info(tok.AccessorID, nil)
	if err != nil || info.SecretID != tok.SecretID || info.Type != "client" {
		t.Errorf("info: %+v %v", info, err)
	}
	strictGetAuth[napi.ACLToken](t, e.agent.URL, e.token, "/v1/acl/token/"+tok.AccessorID)

	alice, err := napi.NewClient(&napi.Config{Address: e.agent.URL, SecretID: tok.SecretID})
	if err != nil {
		t.Fatal(err)
	}
	self, _, err := alice.ACLTokens().Self(nil)
	if err != nil || self.AccessorID != tok.AccessorID {
		t.Errorf("self: %+v %v", self, err)
	}
	strictGetAuth[napi.ACLToken](t, e.agent.URL, tok.SecretID, "/v1/acl/token/self")
	if _, _, err := alice.ACLTokens().List(nil); err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("a client token lists tokens: %v, want 403", err)
	}

	if _, err := e.nomad.ACLTokens().Delete(tok.AccessorID, nil); err != nil {
		t.Errorf("delete: %v", err)
	}
	if _, _, err := alice.ACLTokens().Self(nil); err == nil {
		t.Error("a deleted token still reads itself")
	}
}

// testACLRoles: a role's policies reach the tokens that hold it, and leave
// them when the role changes or goes.
func testACLRoles(t *testing.T, e *env) {
	for _, p := range []*napi.ACLPolicy{
		{Name: "role-reader", Rules: `namespace "default" { policy = "read" }`},
		{Name: "role-nodes", Rules: `node { policy = "read" }`},
	} {
		if _, err := e.nomad.ACLPolicies().Upsert(p, nil); err != nil {
			t.Fatal(err)
		}
	}
	role, _, err := e.nomad.ACLRoles().Create(&napi.ACLRole{Name: "viewers", Description: "read jobs",
		Policies: []*napi.ACLRolePolicyLink{{Name: "role-reader"}}}, nil)
	if err != nil || role.ID == "" || role.Name != "viewers" || len(role.Policies) != 1 || role.CreateIndex == 0 {
		t.Fatalf("create: %+v %v", role, err)
	}
	raw := rawDo(t, e, "PUT", "/v1/acl/role", &napi.ACLRole{Name: "node-viewers", Policies: []*napi.ACLRolePolicyLink{{Name: "role-nodes"}}})
	other := strictDecode[napi.ACLRole](t, "PUT /v1/acl/role", raw)
	if _, _, err := e.nomad.ACLRoles().Create(&napi.ACLRole{Name: "viewers", Policies: []*napi.ACLRolePolicyLink{{Name: "role-reader"}}}, nil); err == nil || !strings.Contains(err.Error(), "taken") {
		t.Errorf("a second role named viewers: %v, want a refusal", err)
	}
	if _, _, err := e.nomad.ACLRoles().Create(&napi.ACLRole{Name: "ghost", Policies: []*napi.ACLRolePolicyLink{{Name: "nope"}}}, nil); err == nil || !strings.Contains(err.Error(), `policy "nope" not found`) {
		t.Errorf("a role naming a missing policy: %v, want a refusal naming it", err)
	}
	list, _, err := e.nomad.ACLRoles().List(nil)
	if err != nil || len(list) != 2 {
		t.Errorf("list: %+v %v", list, err)
	}
	strictGetAuth[[]*napi.ACLRoleListStub](t, e.agent.URL, e.token, "/v1/acl/roles")
	if got, _, err := e.nomad.ACLRoles().Get(role.ID, nil); err != nil || got.Name != "viewers" || got.Description != "read jobs" {
		t.Errorf("get: %+v %v", got, err)
	}
	strictGetAuth[napi.ACLRole](t, e.agent.URL, e.token, "/v1/acl/role/"+role.ID)
	if got, _, err := e.nomad.ACLRoles().GetByName("viewers", nil); err != nil || got.ID != role.ID {
		t.Errorf("get by name: %+v %v", got, err)
	}
	strictGetAuth[napi.ACLRole](t, e.agent.URL, e.token, "/v1/acl/role/name/viewers")

	// A token holding the role by name reads jobs, not nodes.
	tok, _, err := e.nomad.ACLTokens().Create(&napi.ACLToken{Name: "carol", Type: "client",
		Roles: []*napi.ACLTokenRoleLink{{Name: "viewers"}}}, nil)
	if err != nil || len(tok.Roles) != 1 || tok.Roles[0].ID != role.ID || tok.Roles[0].Name != "viewers" {
		t.Fatalf("token with a role: %+v %v", tok, err)
	}
	carol, err := napi.NewClient(&napi.Config{Address: e.agent.URL, SecretID: tok.SecretID})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := carol.Jobs().List(nil); err != nil {
		t.Errorf("the role's token lists jobs: %v", err)
	}
	if _, _, err := carol.Nodes().List(nil); err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("the role's token lists nodes: %v, want 403", err)
	}
	// The role now grants node reads instead: the tokens holding it follow
	// (at once on the servers; through an agent's token cache within
	// acl.token_ttl, so a token not yet cached shows it here).
	role.Policies = []*napi.ACLRolePolicyLink{{Name: "role-nodes"}}
	if up, _, err := e.nomad.ACLRoles().Update(role, nil); err != nil || up.Policies[0].Name != "role-nodes" {
		t.Fatalf("update (PUT): %+v %v", up, err)
	}
	holder := func(name string) *napi.Client {
		tok, _, err := e.nomad.ACLTokens().Create(&napi.ACLToken{Name: name, Type: "client",
			Roles: []*napi.ACLTokenRoleLink{{ID: role.ID}}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		c, err := napi.NewClient(&napi.Config{Address: e.agent.URL, SecretID: tok.SecretID})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	dave := holder("dave")
	if _, _, err := dave.Nodes().List(nil); err != nil {
		t.Errorf("after the role's update, a token holding it lists nodes: %v", err)
	}
	if _, _, err := dave.Jobs().List(nil); err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("after the role's update, a token holding it lists jobs: %v, want 403", err)
	}
	raw = rawDo(t, e, "POST", "/v1/acl/role/"+other.ID, &napi.ACLRole{ID: other.ID, Name: "node-viewers2", Policies: other.Policies})
	if up := strictDecode[napi.ACLRole](t, "POST /v1/acl/role/:id", raw); up.Name != "node-viewers2" || up.ID != other.ID {
		t.Errorf("update (POST): %+v", up)
	}
	if _, err := e.nomad.ACLRoles().Delete(role.ID, nil); err != nil {
		t.Errorf("delete: %v", err)
	}
	if _, _, err := e.nomad.ACLTokens().Create(&napi.ACLToken{Name: "erin", Type: "client",
		Roles: []*napi.ACLTokenRoleLink{{ID: role.ID}}}, nil); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("a token holding a deleted role: %v, want a refusal naming it", err)
	}
	if _, _, err := e.nomad.ACLRoles().Get(role.ID, nil); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("a deleted role: %v, want 404", err)
	}
}
