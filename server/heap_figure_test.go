package server

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"testing"
	"time"

	"github.com/orch-io/orch/structs"
)

// TestFigureHeapPerAllocation prints the leader's heap per running
// allocation: allocations placed by the real scheduler and plan applier,
// committed through Raft, then reported running with task states as a
// client reports them. The heap is measured after a GC, against the heap
// with the nodes registered and no job. Set ORCH_FIGURES=1 to run it;
// ORCH_HEAP_ALLOCS sets the number of allocations (default 10,000),
// ORCH_HEAP_PROFILE a file for the heap profile at the end.
//
// The figure is what 1,000,000 allocations cost a server (issue: scale,
// leader RSS ≤ 4 GiB at C1M). Raft's log cache (512 entries) holds encoded
// entries on top; it is bounded by entries, not by allocations, and is
// counted in the figure only as far as this run's entries fill it.
func TestFigureHeapPerAllocation(t *testing.T) {
	if os.Getenv("ORCH_FIGURES") == "" {
		t.Skip("a figure: set ORCH_FIGURES=1 to measure")
	}
	total := 10_000
	if v := os.Getenv("ORCH_HEAP_ALLOCS"); v != "" {
		if _, err := fmt.Sscan(v, &total); err != nil {
			t.Fatalf("ORCH_HEAP_ALLOCS=%q: %v", v, err)
		}
	}
	const nodes, perJob = 1000, 1000
	cfg := testConfig(t.TempDir())
	cfg.MinHeartbeatTTL = time.Hour // no node sends heartbeats here
	s := startServer(t, cfg)
	for range nodes {
		node := testNode()
		node.Attributes["platform.rack"] = fmt.Sprintf("r%d", len(node.ID)%25)
		registerNode(t, s, node)
	}
	before := heapAfterGC()

	jobs := total / perJob
	for j := range jobs {
		registerJob(t, s, testJob(fmt.Sprintf("job-%d", j), perJob, 16))
	}
	waitFor(t, 5*time.Minute, "every allocation placed", func() bool {
		return len(s.state.Snapshot().Allocs("")) >= jobs*perJob
	})
	placed := heapAfterGC()

	// Report every allocation running, a node's allocations in one call, as
	// a client does.
	byNode := map[string][]*structs.Allocation{}
	for _, a := range s.state.Snapshot().Allocs("") {
		byNode[a.NodeID] = append(byNode[a.NodeID], a)
	}
	now := time.Now().UnixNano()
	for _, allocs := range byNode {
		var report []*structs.Allocation
		for _, a := range allocs {
			report = append(report, &structs.Allocation{ID: a.ID, JobID: a.JobID, ClientStatus: structs.AllocClientStatusRunning,
				TaskStates: map[string]*structs.TaskState{"server": {State: structs.TaskStateRunning, StartedAt: now, Events: []*structs.TaskEvent{
					{Type: structs.TaskReceived, Time: now, DisplayMessage: "Task received by client"},
					{Type: structs.TaskSetup, Time: now, DisplayMessage: "Building Task Directory"},
					{Type: structs.TaskStarted, Time: now, DisplayMessage: "Task started by client"},
				}}}})
		}
		var resp structs.GenericResponse
		if err := s.RPC(t.Context(), "Node.UpdateAlloc", &structs.AllocUpdateRequest{Alloc: report}, &resp); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 5*time.Minute, "every allocation running", func() bool {
		for _, a := range s.state.Snapshot().Allocs("") {
			if a.ClientStatus != structs.AllocClientStatusRunning {
				return false
			}
		}
		return true
	})
	running := heapAfterGC()
	if path := os.Getenv("ORCH_HEAP_PROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := pprof.WriteHeapProfile(f); err != nil {
			t.Fatal(err)
		}
	}

	n := float64(jobs * perJob)
	t.Logf("FIGURE name=heap_per_alloc_placed value=%.0f unit=bytes", float64(placed-before)/n)
	t.Logf("FIGURE name=heap_per_alloc_running value=%.0f unit=bytes", float64(running-before)/n)
	t.Logf("%d allocations on %d nodes: heap %d MiB with nodes, %d MiB placed, %d MiB running; 1,000,000 would take %.1f GiB",
		jobs*perJob, nodes, before>>20, placed>>20, running>>20, float64(running-before)/n*1e6/(1<<30))
}

// heapAfterGC is the live heap after two collections (the second frees what
// the first's finalizers released).
func heapAfterGC() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
