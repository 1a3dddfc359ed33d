package state

import (
	"fmt"

	"github.com/hashicorp/go-memdb"
	"github.com/orch-io/orch/structs"
)

// jobStatus derives a job's status from its allocations and evaluations, as
// Nomad does: running while any allocation is not terminal, pending while an
// evaluation is still open (a blocked one too: its allocations are queued,
// waiting for room), dead once stopped or once everything has finished.
//
// A blocked evaluation of a stopped job does not count: it will place
// nothing, and the leader cancels it once the job's deregister evaluation
// completes (the blocked evals untrack it; reapCancelableEvals commits the
// cancel a few seconds later), which the job's status need not wait for.
func jobStatus(txn *memdb.Txn, job *structs.Job) structs.JobStatus {
	if job.IsParent() && !job.Stop {
		return structs.JobStatusRunning // Nomad's: a parent runs while not stopped
	}
	// Every plan and every batch of client reports derives the status of
	// each job it touches: the walk stops at the first live allocation
	// (usually the first) instead of listing all of a job's thousands
	// (BenchmarkClientReportsOfLargeJobs).
	it, err := txn.Get(TableAllocs, "job", job.Namespace, job.ID)
	if err != nil {
		panic(err) // only a schema mistake gets here
	}
	hasAllocs := false
	for raw := it.Next(); raw != nil; raw = it.Next() {
		hasAllocs = true
		if !raw.(*structs.Allocation).TerminalStatus() {
			return structs.JobStatusRunning
		}
	}
	for _, e := range list[*structs.Evaluation](txn, TableEvals, "job", job.Namespace, job.ID) {
		if e.TerminalStatus() || (job.Stop && e.Status == structs.EvalStatusBlocked) {
			continue
		}
		return structs.JobStatusPending
	}
	if job.Stop || hasAllocs {
		return structs.JobStatusDead
	}
	return structs.JobStatusPending
}

// insertJobWithStatus stores job with its derived status.
func insertJobWithStatus(txn *memdb.Txn, job *structs.Job) error {
	job.Status = jobStatus(txn, job)
	if err := txn.Insert(TableJobs, job); err != nil {
		return fmt.Errorf("state: inserting job %q: %w", job.ID, err)
	}
	return nil
}

// refreshJobStatuses re-derives the status of the named jobs after their
// allocations or evaluations changed, writing only the jobs whose status moved.
func refreshJobStatuses(txn *memdb.Txn, index uint64, jobIDs map[structs.NamespacedID]bool) error {
	touched := false
	for id := range jobIDs {
		job := first[*structs.Job](txn, TableJobs, "id", id.Namespace, id.ID)
		if job == nil {
			continue
		}
		status := jobStatus(txn, job)
		if status == job.Status {
			continue
		}
		c := job.Copy()
		c.Status, c.ModifyIndex = status, index
		if err := txn.Insert(TableJobs, c); err != nil {
			return fmt.Errorf("state: updating status of job %q: %w", id, err)
		}
		touched = true
	}
	if touched {
		if err := txn.Insert(tableIndex, &indexEntry{Key: TableJobs, Value: index}); err != nil {
			return fmt.Errorf("state: updating index of jobs: %w", err)
		}
	}
	return nil
}
