package command

import (
	"strings"
	"testing"

	"github.com/orch-io/orch/internal/structstest"
	"github.com/orch-io/orch/structs"
)

// TestStatusCLI: `orch status` lists jobs; given an ID or a prefix it shows
// what it names through that kind's status command, and lists several
// matches.
func TestStatusCLI(t *testing.T) {
	a := startAgent(t)
	done, _ := registerUnplaceable(t, a)
	if r := runCLI(t, "status", "-address", a.addr); r.code != 0 || !strings.Contains(r.stdout, "web") || !strings.Contains(r.stdout, "api") {
		t.Errorf("orch status: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := runCLI(t, "status", "-address", a.addr, "web"); r.code != 0 || !strings.Contains(r.stdout, "ID") || !strings.Contains(r.stdout, "web") {
		t.Errorf("orch status web: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := runCLI(t, "status", "-address", a.addr, done.ID[:8]); r.code != 0 || !strings.Contains(r.stdout, done.ID[:8]) ||
		!strings.Contains(r.stdout, string(structs.EvalStatusComplete)) {
		t.Errorf("orch status of an evaluation's prefix: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := runCLI(t, "status", "-address", a.addr, "zzz-nothing"); r.code != 1 || !strings.Contains(r.stderr, "zzz-nothing") {
		t.Errorf("orch status of nothing: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// A prefix of two jobs lists them.
	other := structstest.Job("web2")
	other.TaskGroups[0].Count = 0
	a.register(t, other)
	if r := runCLI(t, "status", "-address", a.addr, "we"); r.code != 1 || !strings.Contains(r.stderr, "web2") || !strings.Contains(r.stderr, "matched several") {
		t.Errorf("orch status of an ambiguous prefix: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}
