package server

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// usedDataDir returns the data dir of a server that ran, committed a job,
// took a Raft snapshot and stopped.
func usedDataDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	s := startServer(t, testConfig(dir))
	registerJob(t, s, testJob("web", 1, 256))
	if err := s.raft.Snapshot().Error(); err != nil {
		t.Fatal(err)
	}
	registerJob(t, s, testJob("api", 1, 256))
	if err := s.Shutdown(); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestDataDir_DamagedFilesStopTheServer(t *testing.T) {
	snapshotMeta := func(t *testing.T, dir string) string {
		t.Helper()
		m, err := filepath.Glob(filepath.Join(dir, "server", "raft", "snapshots", "*", "meta.json"))
		if err != nil || len(m) == 0 {
			t.Fatalf("no snapshot metadata in %s (%v)", dir, err)
		}
		return m[0]
	}
	raftLog := func(_ *testing.T, dir string) string { return filepath.Join(dir, "server", "raft", "raft.db") }
	serverID := func(_ *testing.T, dir string) string { return filepath.Join(dir, "server", "server-id") }
	// Cut the file inside its third page: the two meta pages stay readable
	// but the pages they point to are gone. (Cutting it in half is not always
	// damage: bbolt grows files ahead of use, and the lost half may be unused.)
	truncated := func(b []byte) []byte { return b[:min(len(b), 2*os.Getpagesize()+100)] }
	garbage := func(b []byte) []byte { return bytes.Repeat([]byte("garbage!"), len(b)/8+1) }
	empty := func([]byte) []byte { return nil }

	for _, c := range []struct {
		name   string
		file   func(*testing.T, string) string
		damage func([]byte) []byte
		want   string
	}{
		{"raft log truncated", raftLog, truncated, "server: raft log "},
		{"raft log garbage", raftLog, garbage, "server: raft log "},
		{"raft log empty", raftLog, empty, "server: raft log "},
		{"server-id empty", serverID, empty, "server: server ID file "},
		{"server-id garbage", serverID, func([]byte) []byte { return []byte("not-a-uuid\n") }, "server: server ID file "},
		{"snapshot metadata garbage", snapshotMeta, garbage, "server: raft snapshot metadata "},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := usedDataDir(t)
			path := c.file(t, dir)
			orig, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			damaged := c.damage(orig)
			if err := os.WriteFile(path, damaged, 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := NewServer(testConfig(dir))
			if err == nil {
				s.Shutdown()
				t.Fatalf("the server started on a damaged %s", path)
			}
			msg := err.Error()
			if !strings.Contains(msg, c.want+path+" is unreadable") || !strings.HasSuffix(msg, "refusing to start (move it away to start over)") {
				t.Fatalf("error %q: want %q naming %s and refusing to start", msg, c.want, path)
			}
			// Nothing was reinitialised over the damaged file.
			after, err := os.ReadFile(path)
			if err != nil || !bytes.Equal(after, damaged) {
				t.Fatalf("%s changed by the failed start (err %v)", path, err)
			}
		})
	}
}

func TestDataDir_RestartKeepsState(t *testing.T) {
	dir := usedDataDir(t)
	s := startServer(t, testConfig(dir))
	for _, id := range []string{"web", "api"} {
		if s.state.Snapshot().JobByID("default", id) == nil {
			t.Errorf("job %s lost across a restart", id)
		}
	}
}

func TestDataDir_RaftLogInUseIsNotCalledDamaged(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the lock timeout")
	}
	dir := t.TempDir()
	startServer(t, testConfig(dir))
	s, err := NewServer(testConfig(dir))
	if err == nil {
		s.Shutdown()
		t.Fatal("a second server started on a data dir in use")
	}
	if !strings.Contains(err.Error(), "locked by another process") || strings.Contains(err.Error(), "unreadable") {
		t.Fatalf("error %q: want it to say the raft log is locked, not damaged", err)
	}
}
