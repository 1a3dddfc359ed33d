package state

import (
	"testing"

	"github.com/orch-io/orch/structs"
)

// BenchmarkClientReportsOfLargeJob: one op is one Raft entry of client
// reports applied to the store: 30 allocations of a job of 1,000 reported
// running. Most of it is go-memdb's path copying: each allocation is
// inserted again into every index of the allocations table.
func BenchmarkClientReportsOfLargeJob(b *testing.B) {
	s := NewStateStore()
	job := testJob("big")
	must(b, s.UpsertJob(1, job))
	allocs := make([]*structs.Allocation, 1000)
	for i := range allocs {
		allocs[i] = testAlloc(job, "node-"+string(rune('a'+i%26)))
	}
	must(b, s.UpsertPlanResults(2, job, allocs))
	index := uint64(2)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		var reports []*structs.Allocation
		for k := range 30 {
			a := allocs[(i*30+k)%len(allocs)]
			reports = append(reports, &structs.Allocation{ID: a.ID, ClientStatus: structs.AllocClientStatusRunning})
		}
		index++
		must(b, s.UpdateAllocsFromClient(index, reports))
	}
}
