package command

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/internal/structstest"
)

func TestOperatorSnapshotCLI(t *testing.T) {
	src := startServerAgent(t)
	client, err := api.NewClient(&api.Config{Address: src})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"web", "api"} {
		if _, err := client.Jobs().Register(structstest.Job(id)); err != nil {
			t.Fatalf("register %s: %v", id, err)
		}
	}

	file := filepath.Join(t.TempDir(), "backup.snap")
	r := runCLI(t, "operator", "snapshot", "save", "-address", src, file)
	if r.code != 0 || !strings.Contains(r.stdout, "State file written to "+file) {
		t.Fatalf("save: exit %d, stdout %s, stderr %s", r.code, r.stdout, r.stderr)
	}

	r = runCLI(t, "operator", "snapshot", "inspect", file)
	if r.code != 0 {
		t.Fatalf("inspect: exit %d, stderr %s", r.code, r.stderr)
	}
	for _, line := range []string{"Jobs", "Nodes", "Allocations", "Evaluations", "Index", "Term", "Created", "Size"} {
		if !strings.Contains(r.stdout, line) {
			t.Errorf("inspect output lacks %s:\n%s", line, r.stdout)
		}
	}
	if !strings.Contains(r.stdout, "Jobs        = 2") {
		t.Errorf("inspect output:\n%s\nwant Jobs = 2", r.stdout)
	}

	// A corrupt copy is refused by inspect and by the server.
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0xff
	bad := filepath.Join(t.TempDir(), "bad.snap")
	if err := os.WriteFile(bad, data, 0o600); err != nil {
		t.Fatal(err)
	}
	r = runCLI(t, "operator", "snapshot", "inspect", bad)
	if r.code != 1 || !strings.Contains(r.stderr, "checksum") {
		t.Fatalf("inspect of a corrupt file: exit %d, stderr %s", r.code, r.stderr)
	}

	dst := startServerAgent(t)
	r = runCLI(t, "operator", "snapshot", "restore", "-address", dst, bad)
	if r.code != 1 || !strings.Contains(r.stderr, "checksum") {
		t.Fatalf("restore of a corrupt file: exit %d, stderr %s", r.code, r.stderr)
	}
	r = runCLI(t, "operator", "snapshot", "restore", "-address", dst, file)
	if r.code != 0 || !strings.Contains(r.stdout, "Snapshot Restored") {
		t.Fatalf("restore: exit %d, stdout %s, stderr %s", r.code, r.stdout, r.stderr)
	}
	dstClient, err := api.NewClient(&api.Config{Address: dst})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"web", "api"} {
		if _, _, err := dstClient.Jobs().Info(id, nil); err != nil {
			t.Errorf("job %s after restore: %v", id, err)
		}
	}
}
