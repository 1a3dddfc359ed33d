package acl

import (
	"strings"
	"testing"
)

func TestParseNomadPolicy(t *testing.T) {
	src := `
namespace "default" {
  policy = "read"
  capabilities = ["submit-job"]
}
namespace "prod-*" { policy = "write" }
node     { policy = "read" }
agent    { policy = "write" }
operator { policy = "deny" }
`
	p, err := Parse("dev.hcl", src)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Namespaces) != 2 || p.Namespaces[0].Name != "default" || p.Namespaces[0].Policy != "read" ||
		p.Namespaces[0].Capabilities[0] != CapSubmitJob || p.Namespaces[1].Name != "prod-*" {
		t.Fatalf("namespaces: %+v", p.Namespaces)
	}
	if p.Node != "read" || p.Agent != "write" || p.Operator != "deny" {
		t.Fatalf("levels: %+v", p)
	}
}

func TestParseErrorsNameWhereAndWhat(t *testing.T) {
	for _, tc := range []struct {
		src  string
		want []string
	}{
		{`namespace "a" { policy = "admin" }`, []string{`p.hcl:1:1: namespace "a": policy = "admin": must be deny, read, scale or write`}},
		{`namespace "a" { capabilities = ["fly"] }`, []string{`namespace "a": capability "fly": unknown`}},
		{`namespace "a b" { policy = "read" }`, []string{`namespace "a b": name must be`}},
		{`namespace "a" {}`, []string{`namespace "a": needs a policy or capabilities`}},
		{"namespace \"a\" { policy = \"read\" }\nnamespace \"a\" { policy = \"read\" }", []string{`p.hcl:2:1: namespace "a": declared twice`}},
		{`node { policy = "scale" }`, []string{`node: policy = "scale": must be deny, read or write`}},
		{"agent { policy = \"read\" }\nagent { policy = \"read\" }", []string{"p.hcl:2:1: agent: declared twice"}},
		{`quota { policy = "read" }`, []string{"p.hcl:1:1", "quota"}},
		{`namespace "a" { policy = "read" `, []string{"p.hcl:1:"}},
		{``, []string{"the policy grants nothing"}},
		// Every problem at once.
		{"node { policy = \"x\" }\noperator { policy = \"y\" }", []string{`node: policy = "x"`, `operator: policy = "y"`}},
	} {
		_, err := Parse("p.hcl", tc.src)
		if err == nil {
			t.Errorf("%q: no error", tc.src)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%q: error %q lacks %q", tc.src, err, w)
			}
		}
	}
}

func TestParseRefusesOversizedPolicy(t *testing.T) {
	src := `node { policy = "read" }` + strings.Repeat(" ", MaxPolicySize)
	if _, err := Parse("big.hcl", src); err == nil || !strings.Contains(err.Error(), "must be at most") {
		t.Fatalf("err = %v", err)
	}
}

// FuzzACLPolicy: no input makes Parse panic, and what it accepts compiles into an
// ACL that answers without panicking.
func FuzzACLPolicy(f *testing.F) {
	for _, s := range []string{
		`namespace "default" { policy = "write" }`,
		`namespace "*" { capabilities = ["list-jobs", "deny"] } node { policy = "read" }`,
		`agent { policy = "write" } operator { policy = "read" }`,
		`namespace "a-*-b" { policy = "scale" }`,
		`namespace "x" { policy = "read" capabilities = [] }`,
		`{`, `namespace { }`, `node "x" { policy = "read" }`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		p, err := Parse("fuzz.hcl", src)
		if err != nil {
			if p != nil {
				t.Fatal("policy and error both returned")
			}
			return
		}
		a := New([]*Policy{p})
		for _, ns := range []string{"default", "a-x-b", "prod", ""} {
			a.AllowNamespaceOperation(ns, CapReadJob)
			a.AllowNamespace(ns)
		}
		a.AllowNodeWrite()
		a.AllowOperatorRead()
	})
}
