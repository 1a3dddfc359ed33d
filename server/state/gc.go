package state

import (
	"fmt"

	"github.com/orch-io/orch/structs"
)

// Garbage collection: the deletes of a GC entry (server/core_gc.go decides
// what; these only remove). Each removes what it names if present: a repeat
// of the same entry, or an object another entry removed meanwhile, is not an
// error, so applying a GC entry is idempotent.

// DeleteEvals removes evaluations by ID.
func (w *WriteTxn) DeleteEvals(ids []string) error {
	jobs := map[structs.NamespacedID]bool{}
	for _, id := range ids {
		e := first[*structs.Evaluation](w.txn, TableEvals, "id", id)
		if e == nil {
			continue
		}
		if err := w.txn.Delete(TableEvals, e); err != nil {
			return fmt.Errorf("state: deleting eval %s: %w", id, err)
		}
		w.touch(TableEvals)
		jobs[structs.NamespacedID{Namespace: e.Namespace, ID: e.JobID}] = true
	}
	return refreshJobStatuses(w.txn, w.index, jobs)
}

// DeleteAllocs removes allocations by ID, and their service instances.
func (w *WriteTxn) DeleteAllocs(ids []string) error {
	jobs := map[structs.NamespacedID]bool{}
	for _, id := range ids {
		a := first[*structs.Allocation](w.txn, TableAllocs, "id", id)
		if a == nil {
			continue
		}
		if err := w.txn.Delete(TableAllocs, a); err != nil {
			return fmt.Errorf("state: deleting alloc %s: %w", id, err)
		}
		w.usage.move(w.txn, a, nil)
		w.touch(TableAllocs)
		w.touch(nodeAllocsKey(a.NodeID))
		jobs[structs.NamespacedID{Namespace: a.Namespace, ID: a.JobID}] = true
		if err := w.deleteServicesBy("alloc", a.ID); err != nil {
			return err
		}
	}
	return refreshJobStatuses(w.txn, w.index, jobs)
}
