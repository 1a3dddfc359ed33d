package state

import (
	"fmt"
	"slices"

	"github.com/hashicorp/go-memdb"
	"github.com/orch-io/orch/structs"
)

// TableJobVersions keeps the recent versions of every job (the job as
// registered at each version), for `job history`, `job revert` and a
// deployment's auto-revert to the latest stable version.
const TableJobVersions = "job_versions"

// JobTrackedVersions is how many versions of a job are kept, as in Nomad.
// The latest stable version is kept beyond them, so that auto-revert always
// has a target once a deployment succeeded.
const JobTrackedVersions = 6

func jobVersionsTable() *memdb.TableSchema {
	return &memdb.TableSchema{
		Name: TableJobVersions,
		Indexes: map[string]*memdb.IndexSchema{
			"id": {Name: "id", Unique: true, Indexer: &memdb.CompoundIndex{Indexes: []memdb.Indexer{
				&memdb.StringFieldIndex{Field: "Namespace"}, &memdb.StringFieldIndex{Field: "ID"},
				&memdb.UintFieldIndex{Field: "Version"},
			}}},
			// job: the versions of one job (an "id" prefix would also
			// match the jobs whose ID starts with its ID).
			"job": nsJobIndex("job", "ID"),
		},
	}
}

// JobVersions returns the kept versions of a job, newest first (empty when
// the job is unknown).
func (s *Snapshot) JobVersions(namespace, jobID string) []*structs.Job {
	out := watchedList[*structs.Job](s, TableJobVersions, "job", namespace, jobID)
	slices.SortFunc(out, func(a, b *structs.Job) int { return compareDesc(a.Version, b.Version) })
	return out
}

// JobByIDAndVersion returns one kept version of a job, or nil.
func (s *Snapshot) JobByIDAndVersion(namespace, jobID string, version uint64) *structs.Job {
	return watchedFirst[*structs.Job](s, TableJobVersions, "id", namespace, jobID, version)
}

// LatestStableVersion returns the newest kept version of the job marked
// stable, other than the version skip, or nil.
func (s *Snapshot) LatestStableVersion(namespace, jobID string, skip uint64) *structs.Job {
	for _, j := range s.JobVersions(namespace, jobID) {
		if j.Stable && j.Version != skip {
			return j
		}
	}
	return nil
}

func compareDesc(a, b uint64) int {
	switch {
	case a > b:
		return -1
	case a < b:
		return 1
	}
	return 0
}

// upsertJobVersion records job (just written to the jobs table) as the
// version it carries, and forgets the versions beyond JobTrackedVersions,
// keeping the latest stable one.
func (w *WriteTxn) upsertJobVersion(job *structs.Job) error {
	w.touch(TableJobVersions)
	if err := w.txn.Insert(TableJobVersions, job); err != nil {
		return fmt.Errorf("state: inserting version %d of job %q: %w", job.Version, job.ID, err)
	}
	versions := list[*structs.Job](w.txn, TableJobVersions, "job", job.Namespace, job.ID)
	if len(versions) <= JobTrackedVersions {
		return nil
	}
	slices.SortFunc(versions, func(a, b *structs.Job) int { return compareDesc(a.Version, b.Version) })
	keep := versions[:JobTrackedVersions]
	drop := versions[JobTrackedVersions:]
	if !slices.ContainsFunc(keep, func(j *structs.Job) bool { return j.Stable }) {
		if i := slices.IndexFunc(drop, func(j *structs.Job) bool { return j.Stable }); i >= 0 {
			drop = slices.Delete(slices.Clone(drop), i, i+1)
			// The oldest of those kept makes room for the stable one.
			drop = append(drop, keep[len(keep)-1])
		}
	}
	for _, j := range drop {
		if err := w.txn.Delete(TableJobVersions, j); err != nil {
			return fmt.Errorf("state: deleting version %d of job %q: %w", j.Version, j.ID, err)
		}
	}
	return nil
}

// deleteJobVersions forgets every version of a purged job.
func (w *WriteTxn) deleteJobVersions(namespace, jobID string) error {
	w.touch(TableJobVersions)
	if _, err := w.txn.DeleteAll(TableJobVersions, "job", namespace, jobID); err != nil {
		return fmt.Errorf("state: deleting versions of job %q: %w", jobID, err)
	}
	return nil
}

// SetJobStability marks a kept version of a job stable or not; when it is the
// job's current version, the job too. An unknown job or version is a
// structs.CodeNotFound error.
func (w *WriteTxn) SetJobStability(namespace, jobID string, version uint64, stable bool) error {
	namespace = structs.NamespaceOr(namespace)
	old := first[*structs.Job](w.txn, TableJobVersions, "id", namespace, jobID, version)
	if old == nil {
		return structs.NewError(structs.CodeNotFound, "job %q has no version %d (only the last %d are kept)", jobID, version, JobTrackedVersions)
	}
	v := old.Copy()
	v.Stable, v.ModifyIndex = stable, w.index
	w.touch(TableJobVersions)
	if err := w.txn.Insert(TableJobVersions, v); err != nil {
		return fmt.Errorf("state: updating version %d of job %q: %w", version, jobID, err)
	}
	if cur := first[*structs.Job](w.txn, TableJobs, "id", namespace, jobID); cur != nil && cur.Version == version {
		c := cur.Copy()
		c.Stable, c.ModifyIndex = stable, w.index
		w.touch(TableJobs)
		if err := w.txn.Insert(TableJobs, c); err != nil {
			return fmt.Errorf("state: updating job %q: %w", jobID, err)
		}
	}
	return nil
}

// SetJobStability runs WriteTxn.SetJobStability in a transaction of its own at index.
func (s *StateStore) SetJobStability(index uint64, namespace, jobID string, version uint64, stable bool) error {
	return s.write(index, func(w *WriteTxn) error { return w.SetJobStability(namespace, jobID, version, stable) })
}

// persistJobVersions writes every kept version to a snapshot.
func (s *Snapshot) persistJobVersions(put func(recordKind, any) error) error {
	for _, j := range list[*structs.Job](s.txn, TableJobVersions, "id") {
		if err := put(recordJobVersion, j); err != nil {
			return fmt.Errorf("state: persisting version %d of job %q: %w", j.Version, j.ID, err)
		}
	}
	return nil
}
