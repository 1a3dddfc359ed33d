package client

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/orch-io/orch/internal/clock/clocktest"
	"github.com/orch-io/orch/structs"
)

func TestNextGCTakesTheOldestWhileOverAThreshold(t *testing.T) {
	p := DefaultGCPolicy()
	p.MaxAllocs = 3
	cands := []gcCandidate{{ID: "b", Finished: 20}, {ID: "c", Finished: 30}, {ID: "a", Finished: 20}}
	sortCandidates(cands)
	if got := []string{cands[0].ID, cands[1].ID, cands[2].ID}; !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Fatalf("order %v", got)
	}
	for _, tc := range []struct {
		name  string
		total int
		usage diskUsage
		want  bool
	}{
		{"within every threshold", 3, diskUsage{Blocks: 80, Inodes: 70}, false},
		{"too many allocations", 4, diskUsage{}, true},
		{"disk full", 1, diskUsage{Blocks: 80.5}, true},
		{"inodes used up", 1, diskUsage{Inodes: 71}, true},
	} {
		got, why, ok := nextGC(cands, tc.total, tc.usage, p)
		if ok != tc.want || ok && (got.ID != "a" || why == "") {
			t.Errorf("%s: %v %q %v, want %v (the oldest)", tc.name, got, why, ok, tc.want)
		}
	}
	if _, _, ok := nextGC(nil, 100, diskUsage{Blocks: 100}, p); ok {
		t.Error("nothing to collect, yet a candidate")
	}
}

// TestClientGCRemovesTheOldestTerminalAllocations runs a batch job of three
// short tasks and a service task against a real server: with gc_max_allocs
// = 2 the periodic collection (driven by a fake clock) removes the two
// oldest finished allocations (directory and local state), never the
// running one; a forced collection removes the last finished one; none is
// run again.
func TestClientGCRemovesTheOldestTerminalAllocations(t *testing.T) {
	s, rpc := startRealServer(t)
	dataDir := t.TempDir()
	cfg := testClientConfig(t, rpc, dataDir)
	clk := clocktest.NewFake()
	ran := make(chan struct{}, 4)
	cfg.Clock, cfg.GC = clk, GCPolicy{Interval: time.Minute, MaxAllocs: 2, DiskUsageThreshold: 100, InodeUsageThreshold: 100}
	cfg.gcRanForTest = func() { ran <- struct{}{} }
	c, err := NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Shutdown()
	waitFor(t, "registration", c.Registered)

	service := sleeperJob()
	service.Datacenters = []string{"dc1"}
	service.TaskGroups[0].Count = 1
	batch := &structs.Job{ID: "short", Name: "short", Namespace: "default", Region: "global", Type: structs.JobTypeBatch,
		Datacenters: []string{"dc1"},
		TaskGroups: []*structs.TaskGroup{{Name: "g", Count: 3, Tasks: []*structs.Task{{
			Name: "t", Driver: "raw_exec", Config: map[string]any{"command": "/bin/true"},
			Resources: &structs.Resources{CPU: 10, MemoryMB: 16},
		}}}}}
	for _, j := range []*structs.Job{service, batch} {
		var reg structs.JobRegisterResponse
		if err := s.RPC(t.Context(), "Job.Register", &structs.JobRegisterRequest{Job: j}, &reg); err != nil {
			t.Fatal(err)
		}
	}
	running := waitJobAllocs(t, s, service.ID, 1, structs.AllocClientStatusRunning)[0].ID
	done := waitJobAllocs(t, s, batch.ID, 3, structs.AllocClientStatusComplete)
	waitFor(t, "the finished allocations to be collectable", func() bool {
		cands, total := c.gcCandidates()
		return len(cands) == 3 && total == 4
	})
	cands, _ := c.gcCandidates()
	exists := func(id string) bool {
		_, err := os.Stat(filepath.Join(dataDir, "client", "allocs", id))
		return err == nil
	}
	stored := func(id string) bool {
		allocs, err := c.db.Allocations()
		if err != nil {
			t.Fatal(err)
		}
		return slices.ContainsFunc(allocs, func(a *structs.Allocation) bool { return a.ID == id })
	}
	for _, a := range done {
		if !exists(a.ID) || !stored(a.ID) {
			t.Fatalf("finished allocation %s has no directory or record before any GC", a.ID)
		}
	}
	if err := c.GCAlloc(running); err == nil {
		t.Error("GC of a running allocation accepted")
	}

	clk.Advance(time.Minute)
	select {
	case <-ran:
	case <-time.After(30 * time.Second):
		t.Fatal("no periodic collection")
	}
	for i, cand := range cands {
		gone := i < 2 // 4 allocations, at most 2: the two oldest go
		if exists(cand.ID) == gone || stored(cand.ID) == gone {
			t.Errorf("allocation %d (finished %d): directory %v, record %v; want collected = %v", i, cand.Finished, exists(cand.ID), stored(cand.ID), gone)
		}
	}
	if !exists(running) {
		t.Error("the running allocation's directory was removed")
	}

	if got := c.GC(); !slices.Equal(got, []string{cands[2].ID}) {
		t.Errorf("forced GC removed %v, want %v", got, cands[2].ID)
	}
	if exists(cands[2].ID) || !exists(running) {
		t.Error("after the forced GC: the last finished allocation stays, or the running one went")
	}
	// The servers still list the collected allocations: the client does not
	// run them again.
	if n := processesOfAlloc(t, cands[0].ID); n != 0 {
		t.Errorf("collected allocation runs %d processes", n)
	}
	if _, err := c.runner(cands[0].ID); err == nil {
		t.Error("collected allocation still has a runner")
	}
}
