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
			_ = runBlockingQuery(ctx, st, nil, minIndex, onWait, func(snap *state.Snapshot) (uint64, error) {
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

// BenchmarkOwnReportWithWatch measures a client's status report of one of its
// 50 allocations while the client holds its allocation watch (as every
// client does between reports). The report changes what the watch read, so
// the query runs again on the server (wakeups/op), but it answers the client
// (answers/op: a round trip, a listing and a comparison on the client) only
// when the index the query reports rises. "ModifyIndex" is the index the
// watch reported before (any change to the node's allocations, the client's
// own reports included: one answer per report); "AllocModifyIndex" is
// the highest AllocModifyIndex, which only the servers' changes raise (the
// servers now keep that index per node: NodeAllocsIndex).
func BenchmarkOwnReportWithWatch(b *testing.B) {
	byModifyIndex := func(snap *state.Snapshot, nodeID string, reply *structs.NodeClientAllocsResponse) uint64 {
		var index uint64
		reply.Allocs = map[string]uint64{}
		for _, a := range snap.AllocsByNode(nodeID) {
			reply.Allocs[a.ID] = a.AllocModifyIndex
			index = max(index, a.ModifyIndex)
		}
		return index
	}
	byAllocModifyIndex := func(snap *state.Snapshot, nodeID string, reply *structs.NodeClientAllocsResponse) uint64 {
		allocs := snap.AllocsByNode(nodeID)
		reply.Allocs = map[string]uint64{}
		for _, a := range allocs {
			reply.Allocs[a.ID] = a.AllocModifyIndex
		}
		var index uint64
		for _, a := range allocs {
			index = max(index, a.AllocModifyIndex)
		}
		return max(index, 1)
	}
	b.Run("ModifyIndex", func(b *testing.B) { benchmarkOwnReportWithWatch(b, byModifyIndex) })
	b.Run("AllocModifyIndex", func(b *testing.B) { benchmarkOwnReportWithWatch(b, byAllocModifyIndex) })
}

func benchmarkOwnReportWithWatch(b *testing.B, query func(*state.Snapshot, string, *structs.NodeClientAllocsResponse) uint64) {
	const perNode = 50
	st := state.NewStateStore()
	var index uint64
	next := func() uint64 { index++; return index }
	job := testJob("reports", perNode, 128)
	if err := st.UpsertJob(next(), job); err != nil {
		b.Fatal(err)
	}
	node := structs.GenerateUUID()
	var allocs []*structs.Allocation
	for range perNode {
		allocs = append(allocs, &structs.Allocation{ID: structs.GenerateUUID(), NodeID: node, JobID: job.ID, TaskGroup: "web",
			DesiredStatus: structs.AllocDesiredStatusRun, ClientStatus: structs.AllocClientStatusPending})
	}
	if err := st.UpsertPlanResults(next(), nil, allocs); err != nil {
		b.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	var runs, answers atomic.Int64
	waiting := make(chan struct{}, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		minIndex := index
		for ctx.Err() == nil {
			var reply structs.NodeClientAllocsResponse
			_ = runBlockingQuery(ctx, st, nil, minIndex, func(*state.Watch) {
				select {
				case waiting <- struct{}{}:
				default:
				}
			}, func(snap *state.Snapshot) (uint64, error) {
				runs.Add(1)
				i := query(snap, node, &reply)
				minIndex = max(minIndex, i)
				return i, nil
			})
			answers.Add(1)
		}
	}()
	<-waiting
	firstRuns, firstAnswers := runs.Load(), answers.Load()

	statuses := []structs.AllocClientStatus{structs.AllocClientStatusRunning, structs.AllocClientStatusPending}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		update := &structs.Allocation{ID: allocs[i%perNode].ID, ClientStatus: statuses[(i/perNode)%2]}
		if err := st.UpdateAllocsFromClient(next(), []*structs.Allocation{update}); err != nil {
			b.Fatal(err)
		}
		<-waiting // the watch ran again and waits once more
	}
	b.StopTimer()
	b.ReportMetric(float64(runs.Load()-firstRuns)/float64(b.N), "wakeups/op")
	b.ReportMetric(float64(answers.Load()-firstAnswers)/float64(b.N), "answers/op")
	cancel()
	<-done
}
