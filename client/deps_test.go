package client

import (
	"os/exec"
	"strings"
	"testing"
)

// TestClientDoesNotImportServer keeps the promise of DESIGN.md §1: the client
// reaches the servers only through RPC, never by importing their code.
func TestClientDoesNotImportServer(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool in PATH")
	}
	out, err := exec.Command(gobin, "list", "-deps", "github.com/orch-io/orch/client/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if pkg == "github.com/orch-io/orch/server" || strings.HasPrefix(pkg, "github.com/orch-io/orch/server/") ||
			strings.HasPrefix(pkg, "github.com/orch-io/orch/scheduler") {
			t.Errorf("the client depends on %s", pkg)
		}
	}
}
