package command

import (
	"strings"
	"testing"
)

func TestOperatorRaftCLI(t *testing.T) {
	addr := startServerAgent(t)

	r := runCLI(t, "operator", "raft", "list-peers", "-address", addr)
	if r.code != 0 {
		t.Fatalf("list-peers: exit %d, stderr %s", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 2 {
		t.Fatalf("list-peers output:\n%s\nwant a header and one server", r.stdout)
	}
	for _, col := range []string{"Node", "ID", "Address", "State", "Voter", "RaftProtocol"} {
		if !strings.Contains(lines[0], col) {
			t.Errorf("header %q lacks %s", lines[0], col)
		}
	}
	fields := strings.Fields(lines[1])
	if len(fields) != 6 || fields[0] != "operator-test" || fields[3] != "leader" || fields[4] != "true" || fields[5] != "3" {
		t.Fatalf("server row %q: want operator-test ... leader true 3", lines[1])
	}
	id := fields[1]

	r = runCLI(t, "operator", "raft", "remove-peer", "-address", addr)
	if r.code != 2 || !strings.Contains(r.stderr, "-peer-id or -peer-address") {
		t.Fatalf("remove-peer without a peer: exit %d, stderr %s", r.code, r.stderr)
	}
	r = runCLI(t, "operator", "raft", "remove-peer", "-address", addr, "-peer-id", id)
	if r.code != 1 || !strings.Contains(r.stderr, "transfer leadership first") {
		t.Fatalf("removing the leader: exit %d, stderr %s", r.code, r.stderr)
	}
	r = runCLI(t, "operator", "raft", "transfer-leadership", "-address", addr)
	if r.code != 1 || !strings.Contains(r.stderr, "only voter") {
		t.Fatalf("transfer with a single server: exit %d, stderr %s", r.code, r.stderr)
	}
	r = runCLI(t, "operator", "raft", "remove-peer", "-address", addr, "-peer-address", "127.0.0.1:1")
	if r.code != 1 || !strings.Contains(r.stderr, `"127.0.0.1:1": not found`) {
		t.Fatalf("removing an absent peer: exit %d, stdout %s stderr %s", r.code, r.stdout, r.stderr)
	}
}
