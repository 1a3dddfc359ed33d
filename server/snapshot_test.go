package server

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/orch-io/orch/structs"
)

func TestSnapshotFile_RoundTripAndCorruption(t *testing.T) {
	payload := []byte("the fsm state")
	h := SnapshotHeader{Index: 42, Term: 3, Created: time.Unix(1700000000, 5).UTC(), Size: uint64(len(payload))}
	var buf bytes.Buffer
	if err := WriteSnapshot(&buf, h, bytes.NewReader(payload)); err != nil {
		t.Fatal(err)
	}
	file := buf.Bytes()
	got, p, err := ReadSnapshot(file)
	if err != nil {
		t.Fatal(err)
	}
	h.Version = snapshotVersion
	if got != h || !bytes.Equal(p, payload) {
		t.Fatalf("read back %+v %q, want %+v %q", got, p, h, payload)
	}
	// Every single flipped byte, and every truncation, is caught.
	for i := range file {
		bad := slices.Clone(file)
		bad[i] ^= 0x01
		if _, _, err := ReadSnapshot(bad); err == nil {
			t.Fatalf("byte %d flipped: accepted", i)
		}
	}
	for n := range len(file) {
		if _, _, err := ReadSnapshot(file[:n]); err == nil {
			t.Fatalf("truncated to %d bytes: accepted", n)
		}
	}
	if _, _, err := ReadSnapshot([]byte("hello, not a snapshot at all, just some text here")); err == nil || !strings.Contains(err.Error(), "not an orch snapshot") {
		t.Fatalf("foreign file: err = %v", err)
	}
}

// ids returns the sorted IDs of objects.
func ids[T any](objs []T, id func(T) string) []string {
	out := make([]string, 0, len(objs))
	for _, o := range objs {
		out = append(out, id(o))
	}
	slices.Sort(out)
	return out
}

func TestSnapshot_SaveWipeRestore(t *testing.T) {
	src := startServer(t, testConfig(t.TempDir()))
	for range 2 {
		registerNode(t, src, testNode())
	}
	for _, id := range []string{"web", "api", "db"} {
		registerJob(t, src, testJob(id, 2, 256))
	}
	waitFor(t, 10*time.Second, "6 allocations placed", func() bool {
		return len(src.state.Snapshot().Allocs("")) == 6
	})

	snapshotsBefore := snapshotSamples(t, src, "snapshot") + snapshotSamples(t, src, "persist")
	var saved structs.SnapshotSaveResponse
	if err := src.RPC(t.Context(), "Operator.SnapshotSave", &structs.GenericRequest{}, &saved); err != nil {
		t.Fatalf("Operator.SnapshotSave: %v", err)
	}
	// The save took a Raft snapshot: the FSM captured and persisted it.
	for _, op := range []string{"snapshot", "persist"} {
		if n := snapshotSamples(t, src, op); n < 1 {
			t.Errorf("orch_raft_snapshot_duration_seconds{op=%q}: %d samples after a snapshot save, want >= 1", op, n)
		}
	}
	if after := snapshotSamples(t, src, "snapshot") + snapshotSamples(t, src, "persist"); after < snapshotsBefore+2 {
		t.Errorf("snapshot and persist samples: %d before the save, %d after: want 2 more", snapshotsBefore, after)
	}
	sum, err := InspectSnapshot(saved.Snapshot)
	if err != nil {
		t.Fatalf("InspectSnapshot: %v", err)
	}
	want := src.state.Snapshot()
	if sum.Jobs != 3 || sum.Nodes != 2 || sum.Allocs != 6 || sum.Evals != len(want.Evals("")) || sum.Index != saved.Index || sum.Index == 0 {
		t.Fatalf("inspect: %+v, want 3 jobs, 2 nodes, 6 allocs, %d evals at index %d", sum, len(want.Evals("")), saved.Index)
	}

	// A new, empty server on a new data dir: the data is wiped.
	dst := startServer(t, testConfig(t.TempDir()))

	// A corrupt file is refused, naming the checksum, and changes nothing.
	bad := slices.Clone(saved.Snapshot)
	bad[len(bad)/2] ^= 0x40
	var resp structs.GenericResponse
	err = dst.RPC(t.Context(), "Operator.SnapshotRestore", &structs.SnapshotRestoreRequest{Snapshot: bad}, &resp)
	if err == nil || !strings.Contains(err.Error(), "checksum") {
		t.Fatalf("restoring a corrupt snapshot: err = %v, want a checksum error", err)
	}
	if n := len(dst.state.Snapshot().Jobs("*", "")); n != 0 {
		t.Fatalf("%d jobs after a refused restore, want 0", n)
	}

	restoresBefore := snapshotSamples(t, dst, "restore")
	if err := dst.RPC(t.Context(), "Operator.SnapshotRestore", &structs.SnapshotRestoreRequest{Snapshot: saved.Snapshot}, &resp); err != nil {
		t.Fatalf("Operator.SnapshotRestore: %v", err)
	}
	if n := snapshotSamples(t, dst, "restore"); n != restoresBefore+1 {
		t.Errorf("orch_raft_snapshot_duration_seconds{op=\"restore\"}: %d samples before the restore, %d after: want one more", restoresBefore, n)
	}
	got := dst.state.Snapshot()
	for _, c := range []struct {
		what      string
		got, want []string
	}{
		{"jobs", ids(got.Jobs("*", ""), func(j *structs.Job) string { return j.ID }), ids(want.Jobs("*", ""), func(j *structs.Job) string { return j.ID })},
		{"nodes", ids(got.Nodes(""), func(n *structs.Node) string { return n.ID }), ids(want.Nodes(""), func(n *structs.Node) string { return n.ID })},
		{"allocs", ids(got.Allocs(""), func(a *structs.Allocation) string { return a.ID }), ids(want.Allocs(""), func(a *structs.Allocation) string { return a.ID })},
		{"evals", ids(got.Evals(""), func(e *structs.Evaluation) string { return e.ID }), ids(want.Evals(""), func(e *structs.Evaluation) string { return e.ID })},
	} {
		if !slices.Equal(c.got, c.want) {
			t.Errorf("%s after restore: %v, want %v", c.what, c.got, c.want)
		}
	}

	// The leader's duties run again on the restored state: the restored
	// nodes have heartbeat timers, and a new job is scheduled onto them.
	waitFor(t, 10*time.Second, "leader duties restarted", func() bool {
		return dst.IsLeader() && dst.broker.Enabled() && dst.heartbeats.enabledForTest()
	})
	dst.heartbeats.mu.Lock()
	timers := len(dst.heartbeats.mu.timers)
	dst.heartbeats.mu.Unlock()
	if timers != 2 {
		t.Errorf("%d heartbeat timers after restore, want one per restored node (2)", timers)
	}
	registerJob(t, dst, testJob("cache", 1, 128))
	waitFor(t, 10*time.Second, "the new job placed on a restored node", func() bool {
		return len(dst.state.Snapshot().AllocsByJob("default", "cache")) == 1
	})
}

func TestSnapshot_RestoreReachesFollowers(t *testing.T) {
	src := startServer(t, testConfig(t.TempDir()))
	registerJob(t, src, testJob("web", 1, 256))
	var saved structs.SnapshotSaveResponse
	if err := src.RPC(t.Context(), "Operator.SnapshotSave", &structs.GenericRequest{}, &saved); err != nil {
		t.Fatalf("Operator.SnapshotSave: %v", err)
	}

	servers := startCluster(t, 3)
	// Sent to a follower, the restore is forwarded to the leader, which
	// installs the snapshot on every follower.
	var resp structs.GenericResponse
	if err := followerOf(servers).RPC(t.Context(), "Operator.SnapshotRestore", &structs.SnapshotRestoreRequest{Snapshot: saved.Snapshot}, &resp); err != nil {
		t.Fatalf("Operator.SnapshotRestore: %v", err)
	}
	waitFor(t, 15*time.Second, "every server holds the restored job", func() bool {
		for _, s := range servers {
			if s.state.Snapshot().JobByID("default", "web") == nil {
				return false
			}
		}
		return true
	})
	// The cluster keeps committing after the restore.
	registerJob(t, leaderOf(servers), testJob("api", 1, 256))

	// A stale save is answered by the follower itself, from its own state.
	f := followerOf(servers)
	waitFor(t, 10*time.Second, "the follower applies the new job", func() bool { return f.state.Snapshot().JobByID("default", "api") != nil })
	var stale structs.SnapshotSaveResponse
	if err := f.RPC(t.Context(), "Operator.SnapshotSave", &structs.GenericRequest{QueryOptions: structs.QueryOptions{AllowStale: true}}, &stale); err != nil {
		t.Fatalf("stale Operator.SnapshotSave on a follower: %v", err)
	}
	if sum, err := InspectSnapshot(stale.Snapshot); err != nil || sum.Jobs != 2 {
		t.Fatalf("follower's snapshot: %+v, %v; want 2 jobs", sum, err)
	}
}

// snapshotSamples is the sample count of s's
// orch_raft_snapshot_duration_seconds{op=op}.
func snapshotSamples(t *testing.T, s *Server, op string) uint64 {
	t.Helper()
	fams, err := s.config.Metrics.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != "orch_raft_snapshot_duration_seconds" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "op" && l.GetValue() == op {
					return m.GetHistogram().GetSampleCount()
				}
			}
		}
	}
	return 0
}
