package state

import (
	"fmt"

	"github.com/hashicorp/go-memdb"
	"github.com/orch-io/orch/structs"
)

// TablePeriodicLaunches holds, per periodic job, the latest launch time the
// leader's launcher committed (structs.PeriodicLaunch): the launcher of a new
// leader starts from it, so a launch time is launched once.
const TablePeriodicLaunches = "periodic_launches"

func periodicLaunchesTable() *memdb.TableSchema {
	return &memdb.TableSchema{Name: TablePeriodicLaunches, Indexes: map[string]*memdb.IndexSchema{
		"id": {Name: "id", Unique: true, Indexer: &memdb.CompoundIndex{Indexes: []memdb.Indexer{
			&memdb.StringFieldIndex{Field: "Namespace"}, &memdb.StringFieldIndex{Field: "ID"},
		}}},
	}}
}

// PeriodicLaunch returns the launch record of a periodic job, or nil.
func (s *Snapshot) PeriodicLaunch(namespace, jobID string) *structs.PeriodicLaunch {
	return watchedFirst[*structs.PeriodicLaunch](s, TablePeriodicLaunches, "id", namespace, jobID)
}

// ChildJobs returns the children of a periodic or parameterized job, by ID.
func (s *Snapshot) ChildJobs(namespace, parentID string) []*structs.Job {
	var out []*structs.Job
	for _, j := range s.Jobs(namespace, parentID+"/") {
		if j.ParentID == parentID {
			out = append(out, j)
		}
	}
	return out
}

// UpsertPeriodicLaunch records the latest launch of a periodic job.
func (w *WriteTxn) UpsertPeriodicLaunch(l *structs.PeriodicLaunch) error {
	c := *l
	c.ModifyIndex = w.index
	if old := first[*structs.PeriodicLaunch](w.txn, TablePeriodicLaunches, "id", l.Namespace, l.ID); old != nil {
		c.CreateIndex = old.CreateIndex
	} else {
		c.CreateIndex = w.index
	}
	w.touch(TablePeriodicLaunches)
	if err := w.txn.Insert(TablePeriodicLaunches, &c); err != nil {
		return fmt.Errorf("state: recording the launch of periodic job %q: %w", l.ID, err)
	}
	return nil
}

// deletePeriodicLaunch forgets the launch record of a purged job.
func (w *WriteTxn) deletePeriodicLaunch(namespace, jobID string) error {
	w.touch(TablePeriodicLaunches)
	if _, err := w.txn.DeleteAll(TablePeriodicLaunches, "id", namespace, jobID); err != nil {
		return fmt.Errorf("state: deleting the launch record of job %q: %w", jobID, err)
	}
	return nil
}

// persistPeriodicLaunches writes every launch record to a snapshot.
func (s *Snapshot) persistPeriodicLaunches(put func(recordKind, any) error) error {
	for _, l := range list[*structs.PeriodicLaunch](s.txn, TablePeriodicLaunches, "id") {
		if err := put(recordPeriodicLaunch, l); err != nil {
			return fmt.Errorf("state: persisting the launch record of job %q: %w", l.ID, err)
		}
	}
	return nil
}
