package server

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/orch-io/orch/server/state"
	"github.com/orch-io/orch/structs"
)

// BenchmarkWriteWithWaiters measures an allocation update on one node while
// n clients hold the blocking query on their own nodes' allocations (the
// allocation watch of every connected client). A write wakes only the queries
// that read what it changed, so its cost, and the wake-ups it causes
// (wakeups/op), stay flat in n. The store holds the same 5,000 nodes with
// an allocation each in every case, so that only the number of waiters
// changes. It is used without Raft, whose cost would hide the difference.
func BenchmarkWriteWithWaiters(b *testing.B) {
	for _, n := range []int{0, 100, 1000, benchNodes} {
		b.Run(fmt.Sprint(n), func(b *testing.B) { benchmarkWriteWithWaiters(b, n) })
	}
}

const benchNodes = 5000

func benchmarkWriteWithWaiters(b *testing.B, waiters int) {
	st := state.NewStateStore()
	var index uint64
	next := func() uint64 { index++; return index }
	// The writer's allocation has its own job: an allocation update
	// re-derives its job's status from all of the job's allocations.
	writerJob, waitersJob := testJob("writer", 1, 128), testJob("waiters", 1, 128)
	for _, j := range []*structs.Job{writerJob, waitersJob} {
		if err := st.UpsertJob(next(), j); err != nil {
			b.Fatal(err)
		}
	}
	newAlloc := func(job *structs.Job, nodeID string) *structs.Allocation {
		return &structs.Allocation{ID: structs.GenerateUUID(), NodeID: nodeID, JobID: job.ID, TaskGroup: "web",
			DesiredStatus: structs.AllocDesiredStatusRun, ClientStatus: structs.AllocClientStatusPending}
	}
	written := newAlloc(writerJob, structs.GenerateUUID())
	allocs := []*structs.Allocation{written}
	nodes := make([]string, benchNodes)
	for i := range nodes {
		nodes[i] = structs.GenerateUUID()
		allocs = append(allocs, newAlloc(waitersJob, nodes[i]))
	}
	if err := st.UpsertPlanResults(next(), nil, allocs); err != nil {
		b.Fatal(err)
	}
	minIndex := index

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var runs, waiting atomic.Int64
	allWaiting := make(chan struct{})
	onWait := func(*state.Watch) {
		if waiting.Add(1) == int64(waiters) {
			close(allWaiting)
		}
	}
	for _, node := range nodes[:waiters] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = runBlockingQuery(ctx, st, minIndex, onWait, func(snap *state.Snapshot) (uint64, error) {
				runs.Add(1)
				var index uint64
				for _, a := range snap.AllocsByNode(node) {
					index = max(index, a.ModifyIndex)
				}
				return index, nil
			})
		}()
	}
	if waiters > 0 {
		<-allWaiting
	}
	firstRuns := runs.Load()

	statuses := []structs.AllocClientStatus{structs.AllocClientStatusRunning, structs.AllocClientStatusPending}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		update := &structs.Allocation{ID: written.ID, ClientStatus: statuses[i%2]}
		if err := st.UpdateAllocsFromClient(next(), []*structs.Allocation{update}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	cancel()
	wg.Wait()
	b.ReportMetric(float64(runs.Load()-firstRuns)/float64(b.N), "wakeups/op")
}
