package state

import (
	"fmt"
	"testing"

	"github.com/orch-io/orch/structs"
)

// BenchmarkClientReportsOfLargeJobs: one op is one Raft entry of client
// reports applied to the store: 30 allocations, each of another of 50 jobs
// of 1,000 allocations, reported running (a batch of reports spans many
// jobs). Most of it is go-memdb's path copying: each allocation is inserted
// again into every index of the allocations table; then each job's status
// is derived again.
func BenchmarkClientReportsOfLargeJobs(b *testing.B) {
	s := NewStateStore()
	index := uint64(0)
	var allocs []*structs.Allocation // job-major
	const jobs, count = 50, 1000
	for j := range jobs {
		job := testJob(fmt.Sprintf("big-%02d", j))
		index++
		must(b, s.UpsertJob(index, job))
		var placed []*structs.Allocation
		for i := range count {
			placed = append(placed, testAlloc(job, fmt.Sprintf("node-%03d", i%200)))
		}
		index++
		must(b, s.UpsertPlanResults(index, job, placed))
		allocs = append(allocs, placed...)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		var reports []*structs.Allocation
		for k := range 30 {
			a := allocs[((i*30+k)%jobs)*count+(i%count)]
			reports = append(reports, &structs.Allocation{ID: a.ID, ClientStatus: structs.AllocClientStatusRunning})
		}
		index++
		must(b, s.UpdateAllocsFromClient(index, reports))
	}
}
