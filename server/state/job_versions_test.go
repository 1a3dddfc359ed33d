package state

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"github.com/orch-io/orch/structs"
)

func versionsOf(s *StateStore, id string) []uint64 {
	var out []uint64
	for _, j := range s.Snapshot().JobVersions("default", id) {
		out = append(out, j.Version)
	}
	return out
}

// registerVersions writes n changed specs of job "web" from index 1.
func registerVersions(t *testing.T, s *StateStore, n int) {
	t.Helper()
	for i := range n {
		j := testJob("web")
		j.TaskGroups[0].Count = i + 1
		must(t, s.UpsertJob(uint64(i+1), j))
	}
}

func TestJobVersionsKeepTheLastSixAndTheLatestStable(t *testing.T) {
	s := NewStateStore()
	registerVersions(t, s, 3)
	must(t, s.UpsertJob(4, func() *structs.Job { j := testJob("web"); j.TaskGroups[0].Count = 3; return j }())) // no change
	if got := versionsOf(s, "web"); !slices.Equal(got, []uint64{2, 1, 0}) {
		t.Fatalf("versions %v, want [2 1 0]: a register that changes nothing is not a version", got)
	}
	must(t, s.SetJobStability(5, "default", "web", 1, true))
	if s.JobByID("default", "web").Stable {
		t.Fatal("marking version 1 stable marked the current version 2")
	}
	for i := 3; i < 9; i++ {
		j := testJob("web")
		j.TaskGroups[0].Count = i + 1
		must(t, s.UpsertJob(uint64(10+i), j))
	}
	if got := versionsOf(s, "web"); !slices.Equal(got, []uint64{8, 7, 6, 5, 4, 1}) {
		t.Fatalf("versions %v, want the 5 newest and stable 1", got)
	}
	if got := s.Snapshot().LatestStableVersion("default", "web", 8); got == nil || got.Version != 1 {
		t.Fatalf("latest stable = %+v, want version 1", got)
	}
	must(t, s.SetJobStability(30, "default", "web", 8, true))
	if j := s.JobByID("default", "web"); !j.Stable || j.ModifyIndex != 30 {
		t.Fatalf("current version 8 marked stable: job stable=%v modify=%d", j.Stable, j.ModifyIndex)
	}
	changed := testJob("web")
	changed.TaskGroups[0].Count = 99
	must(t, s.UpsertJob(31, changed))
	if s.JobByID("default", "web").Stable {
		t.Fatal("a new version inherited the stable flag")
	}
	if err := s.SetJobStability(32, "default", "web", 0, true); !errors.Is(err, structs.ErrNotFound) {
		t.Fatalf("stability of a forgotten version: %v, want not found", err)
	}

	var buf bytes.Buffer
	must(t, s.Snapshot().Persist(&buf))
	r := NewStateStore()
	must(t, r.Restore(&buf))
	if got, want := versionsOf(r, "web"), versionsOf(s, "web"); !slices.Equal(got, want) {
		t.Fatalf("restored versions %v, want %v", got, want)
	}

	must(t, s.DeleteJob(40, "default", "web"))
	if got := versionsOf(s, "web"); len(got) != 0 {
		t.Fatalf("a purged job kept versions %v", got)
	}
}
