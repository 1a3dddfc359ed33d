package acl

import "testing"

func mustParse(t testing.TB, src string) *Policy {
	t.Helper()
	p, err := Parse("test.hcl", src)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestNamespaceCapabilities(t *testing.T) {
	a := New([]*Policy{
		mustParse(t, `namespace "default" { policy = "read" }
namespace "prod-*" { policy = "write" }
namespace "prod-secret" { policy = "deny" }
namespace "*" { capabilities = ["list-jobs"] }`),
		mustParse(t, `namespace "default" { capabilities = ["read-logs"] }`),
	})
	for _, tc := range []struct {
		ns, op string
		want   bool
	}{
		{"default", CapReadJob, true},
		{"default", CapListJobs, true},
		{"default", CapSubmitJob, false},
		{"default", CapReadLogs, true}, // policies add up
		{"prod-web", CapSubmitJob, true},
		{"prod-web", CapAllocExec, true},
		{"prod-secret", CapReadJob, false}, // exact name beats the glob; deny wins
		{"other", CapListJobs, true},       // "*"
		{"other", CapReadJob, false},
		{"prod-web", CapAllocNodeExec, false}, // not part of write
	} {
		if got := a.AllowNamespaceOperation(tc.ns, tc.op); got != tc.want {
			t.Errorf("AllowNamespaceOperation(%q, %q) = %v, want %v", tc.ns, tc.op, got, tc.want)
		}
	}
	if a.AllowNamespace("prod-secret") || !a.AllowNamespace("other") {
		t.Error("AllowNamespace: a denied namespace is hidden, a listed one shown")
	}
}

func TestMostSpecificGlobWins(t *testing.T) {
	a := New([]*Policy{mustParse(t, `namespace "*" { policy = "write" }
namespace "team-*" { policy = "read" }
namespace "team-a*" { policy = "deny" }`)})
	if !a.AllowNamespaceOperation("x", CapSubmitJob) || a.AllowNamespaceOperation("team-b", CapSubmitJob) ||
		!a.AllowNamespaceOperation("team-b", CapReadJob) || a.AllowNamespaceOperation("team-abc", CapReadJob) {
		t.Fatal("the glob with the most literal characters must decide")
	}
}

func TestDenyWinsAcrossPolicies(t *testing.T) {
	a := New([]*Policy{
		mustParse(t, `namespace "default" { policy = "write" }
node { policy = "write" }
operator { policy = "write" }`),
		mustParse(t, `namespace "default" { capabilities = ["deny"] }
node { policy = "deny" }
agent { policy = "read" }`),
	})
	if a.AllowNamespaceOperation("default", CapReadJob) || a.AllowNodeRead() || a.AllowNodeWrite() {
		t.Fatal("deny must win")
	}
	if !a.AllowOperatorWrite() || !a.AllowOperatorRead() || !a.AllowAgentRead() || a.AllowAgentWrite() {
		t.Fatal("levels: write implies read; read is not write")
	}
}

func TestManagementAndEmpty(t *testing.T) {
	if !Management.AllowNamespaceOperation("any", CapAllocExec) || !Management.AllowOperatorWrite() || !Management.IsManagement() {
		t.Fatal("management allows everything")
	}
	none := New(nil)
	if none.AllowNamespaceOperation("default", CapListJobs) || none.AllowNodeRead() || none.AllowAgentRead() || none.IsManagement() {
		t.Fatal("no policy allows nothing")
	}
}

// BenchmarkCheck is the cost of one authorization decision on a compiled ACL
// (what every request pays once its token is resolved and cached).
func BenchmarkCheck(b *testing.B) {
	a := New([]*Policy{mustParse(b, `namespace "default" { policy = "write" }
namespace "prod-*" { policy = "read" }
node { policy = "read" }`)})
	b.ReportAllocs()
	for b.Loop() {
		if !a.AllowNamespaceOperation("prod-web", CapReadJob) {
			b.Fatal("denied")
		}
	}
}

func TestAnywhereChecks(t *testing.T) {
	a := New([]*Policy{mustParse(t, `namespace "team-*" { policy = "read" }
namespace "ops" { capabilities = ["deny"] }`)})
	if !a.AllowNamespaceOperationAnywhere(CapReadJob) || a.AllowNamespaceOperationAnywhere(CapSubmitJob) {
		t.Error("read-job is granted somewhere (team-*), submit-job nowhere")
	}
	if !a.AllowAnyNamespace() {
		t.Error("a policy with a namespace block grants something somewhere")
	}
	none := New([]*Policy{mustParse(t, `namespace "ops" { capabilities = ["deny"] }
node { policy = "read" }`)})
	if none.AllowAnyNamespace() || none.AllowNamespaceOperationAnywhere(CapReadJob) || New(nil).AllowAnyNamespace() {
		t.Error("a deny, or no policy, grants nothing in any namespace")
	}
	if !Management.AllowAnyNamespace() || !Management.AllowNamespaceOperationAnywhere(CapSubmitJob) {
		t.Error("management may do everything")
	}
}
