package e2e

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/orch-io/orch/structs"
)

// TestSnapshotSaveWipeRestore: a snapshot saved from one agent, restored into
// a new agent on an empty data dir, gives back the same jobs, allocations,
// nodes and evaluations; a corrupt copy of the file is refused. A batch job
// is used so that no task outlives the test.
func TestSnapshotSaveWipeRestore(t *testing.T) {
	a := startDevAgent(t, t.TempDir(), freePorts(t))
	if out, stderr, code := a.orch("job", "run", "examples/hello.hcl"); code != 0 {
		t.Fatalf("orch job run examples/hello.hcl: exit %d\n%s\n%s", code, out, stderr)
	}
	var before []*structs.AllocListStub
	a.waitFor("hello to complete", 30*time.Second, func() (bool, error) {
		if err := a.get("/v1/job/hello/allocations", &before); err != nil {
			return false, err
		}
		return len(before) == 1 && before[0].ClientStatus == structs.AllocClientStatusComplete, nil
	})
	var nodesBefore []*structs.NodeListStub
	var evalsBefore []*structs.Evaluation
	if err := a.get("/v1/nodes", &nodesBefore); err != nil {
		t.Fatal(err)
	}
	if err := a.get("/v1/evaluations", &evalsBefore); err != nil {
		t.Fatal(err)
	}

	file := filepath.Join(t.TempDir(), "backup.snap")
	if out, stderr, code := a.orch("operator", "snapshot", "save", file); code != 0 {
		t.Fatalf("snapshot save: exit %d\n%s\n%s", code, out, stderr)
	}
	out, stderr, code := a.orch("operator", "snapshot", "inspect", file)
	if code != 0 {
		t.Fatalf("snapshot inspect: exit %d\n%s\n%s", code, out, stderr)
	}
	mustContain(t, "snapshot inspect", out, "Jobs        = 1", "Nodes       = 1", "Allocations = 1")
	a.stop()

	// A new agent on an empty data dir: the data is wiped.
	b := startDevAgent(t, t.TempDir(), freePorts(t))
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/3] ^= 0x10
	bad := filepath.Join(t.TempDir(), "bad.snap")
	if err := os.WriteFile(bad, data, 0o600); err != nil {
		t.Fatal(err)
	}
	_, stderr, code = b.orch("operator", "snapshot", "restore", bad)
	if code != 1 {
		t.Fatalf("restore of a corrupt snapshot: exit %d, want 1\n%s", code, stderr)
	}
	mustContain(t, "restore of a corrupt snapshot", stderr, "checksum mismatch")

	if out, stderr, code := b.orch("operator", "snapshot", "restore", file); code != 0 {
		t.Fatalf("snapshot restore: exit %d\n%s\n%s", code, out, stderr)
	}
	var after []*structs.AllocListStub
	if err := b.get("/v1/job/hello/allocations", &after); err != nil {
		t.Fatalf("hello after restore: %v", err)
	}
	if len(after) != 1 || after[0].ID != before[0].ID || after[0].ClientStatus != structs.AllocClientStatusComplete {
		t.Fatalf("allocations after restore: %+v, want the complete allocation %s", after, before[0].ID)
	}
	var nodesAfter []*structs.NodeListStub
	var evalsAfter []*structs.Evaluation
	if err := b.get("/v1/nodes", &nodesAfter); err != nil {
		t.Fatal(err)
	}
	if err := b.get("/v1/evaluations", &evalsAfter); err != nil {
		t.Fatal(err)
	}
	nodeIDs := func(ns []*structs.NodeListStub) []string {
		var out []string
		for _, n := range ns {
			out = append(out, n.ID)
		}
		slices.Sort(out)
		return out
	}
	evalIDs := func(es []*structs.Evaluation) []string {
		var out []string
		for _, e := range es {
			out = append(out, e.ID)
		}
		slices.Sort(out)
		return out
	}
	// Every saved node and evaluation is back. (The new agent's own client
	// may register again, and the saved node go down, in the meantime: more
	// may appear, none may be missing.)
	for _, id := range nodeIDs(nodesBefore) {
		if !slices.Contains(nodeIDs(nodesAfter), id) {
			t.Errorf("node %s missing after restore: %v", id, nodeIDs(nodesAfter))
		}
	}
	for _, id := range evalIDs(evalsBefore) {
		if !slices.Contains(evalIDs(evalsAfter), id) {
			t.Errorf("evaluation %s missing after restore: %v", id, evalIDs(evalsAfter))
		}
	}
	// The restored cluster keeps scheduling.
	if out, stderr, code := b.orch("job", "run", "examples/hello.hcl"); code != 0 {
		t.Fatalf("orch job run after restore: exit %d\n%s\n%s", code, out, stderr)
	}
}
