package state

import (
	"fmt"
	"slices"
	"time"

	"github.com/hashicorp/go-memdb"
	"github.com/orch-io/orch/structs"
)

// TableDeployments holds the deployments of every job (structs/deployment.go).
const TableDeployments = "deployments"

func deploymentsTable() *memdb.TableSchema {
	return &memdb.TableSchema{
		Name: TableDeployments,
		Indexes: map[string]*memdb.IndexSchema{
			"id":  {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "ID"}},
			"job": nsJobIndex("job", "JobID"),
		},
	}
}

// DeploymentByID returns the deployment, or nil.
func (s *Snapshot) DeploymentByID(id string) *structs.Deployment {
	return watchedFirst[*structs.Deployment](s, TableDeployments, "id", id)
}

// Deployments returns the deployments whose ID starts with prefix ("" for all).
func (s *Snapshot) Deployments(prefix string) []*structs.Deployment {
	return watchedList[*structs.Deployment](s, TableDeployments, "id_prefix", prefix)
}

// DeploymentsByJob returns a job's deployments, newest first.
func (s *Snapshot) DeploymentsByJob(namespace, jobID string) []*structs.Deployment {
	out := watchedList[*structs.Deployment](s, TableDeployments, "job", namespace, jobID)
	slices.SortFunc(out, func(a, b *structs.Deployment) int { return compareDesc(a.CreateIndex, b.CreateIndex) })
	return out
}

// LatestDeploymentByJobID returns the job's newest deployment, or nil.
func (s *Snapshot) LatestDeploymentByJobID(namespace, jobID string) *structs.Deployment {
	if ds := s.DeploymentsByJob(namespace, jobID); len(ds) > 0 {
		return ds[0]
	}
	return nil
}

// AllocsByDeployment returns the allocations placed by a deployment.
func (s *Snapshot) AllocsByDeployment(id string) []*structs.Allocation {
	return watchedList[*structs.Allocation](s, TableAllocs, "deployment", id)
}

// UpsertDeployment inserts or replaces a deployment, its group counters
// derived from its allocations.
func (w *WriteTxn) UpsertDeployment(d *structs.Deployment) error {
	defaultNamespaceOf(d)
	if old := first[*structs.Deployment](w.txn, TableDeployments, "id", d.ID); old != nil {
		d.CreateIndex = old.CreateIndex
	} else {
		d.CreateIndex = w.index
	}
	return w.putDeployment(d)
}

// putDeployment derives d's counters and stores it at the transaction's index.
func (w *WriteTxn) putDeployment(d *structs.Deployment) error {
	deriveDeploymentCounters(d, list[*structs.Allocation](w.txn, TableAllocs, "deployment", d.ID))
	d.ModifyIndex = w.index
	w.touch(TableDeployments)
	if err := w.txn.Insert(TableDeployments, d); err != nil {
		return fmt.Errorf("state: inserting deployment %s: %w", d.ID, err)
	}
	return nil
}

// DeleteDeployments removes ended deployments (the GC's). A deployment
// gone already, or still active, is left as it is: the GC decided on an
// older state.
func (w *WriteTxn) DeleteDeployments(ids []string) error {
	for _, id := range ids {
		d := first[*structs.Deployment](w.txn, TableDeployments, "id", id)
		if d == nil || d.Active() {
			continue
		}
		w.touch(TableDeployments)
		if err := w.txn.Delete(TableDeployments, d); err != nil {
			return fmt.Errorf("state: deleting deployment %s: %w", id, err)
		}
	}
	return nil
}

// UpdateDeploymentStatus sets the status of a deployment. A deployment that
// has ended keeps its status: an update racing its end is ignored. An unknown
// deployment is a structs.CodeNotFound error.
func (w *WriteTxn) UpdateDeploymentStatus(u *structs.DeploymentStatusUpdate, now int64) error {
	old := first[*structs.Deployment](w.txn, TableDeployments, "id", u.DeploymentID)
	if old == nil {
		return structs.NewError(structs.CodeNotFound, "deployment %s not found", u.DeploymentID)
	}
	if !old.Active() {
		return nil
	}
	d := old.Copy()
	d.Status, d.StatusDescription = u.Status, u.StatusDescription
	if now != 0 {
		d.ModifyTime = now
	}
	return w.putDeployment(d)
}

// PromoteDeployment marks the canaries of groups (all groups when empty)
// promoted. It is an error (CodeInvalid) when the deployment is not active,
// or a named group has no canaries.
func (w *WriteTxn) PromoteDeployment(id string, groups []string, now int64) error {
	old := first[*structs.Deployment](w.txn, TableDeployments, "id", id)
	if old == nil {
		return structs.NewError(structs.CodeNotFound, "deployment %s not found", id)
	}
	if !old.Active() {
		return structs.NewError(structs.CodeInvalid, "deployment %s is %s: only an active deployment can be promoted", id, old.Status)
	}
	d := old.Copy()
	for _, g := range groups {
		if s := d.TaskGroups[g]; s == nil || s.DesiredCanaries == 0 {
			return structs.NewError(structs.CodeInvalid, "deployment %s: group %q has no canaries to promote", id, g)
		}
	}
	for name, s := range d.TaskGroups {
		if len(groups) == 0 || slices.Contains(groups, name) {
			s.Promoted = s.Promoted || s.DesiredCanaries > 0
		}
	}
	if d.Status == structs.DeploymentStatusRunning {
		d.StatusDescription = structs.DeploymentDescRunning
	}
	d.ModifyTime = now
	return w.putDeployment(d)
}

// SetAllocHealth records the deployment health of allocations (an
// operator's, in health_check "manual" mode, or a failed deployment's
// verdict), at time now.
func (w *WriteTxn) SetAllocHealth(deploymentID string, healthy, unhealthy []string, now time.Time) error {
	if first[*structs.Deployment](w.txn, TableDeployments, "id", deploymentID) == nil {
		return structs.NewError(structs.CodeNotFound, "deployment %s not found", deploymentID)
	}
	set := func(ids []string, h bool) error {
		for _, id := range ids {
			old := first[*structs.Allocation](w.txn, TableAllocs, "id", id)
			if old == nil || old.DeploymentID != deploymentID {
				return structs.NewError(structs.CodeInvalid, "allocation %s is not part of deployment %s", id, deploymentID)
			}
			u := old.Copy()
			if u.DeploymentStatus == nil {
				u.DeploymentStatus = &structs.AllocDeploymentStatus{}
			}
			u.DeploymentStatus.Healthy, u.DeploymentStatus.Timestamp = &h, now
			u.DeploymentStatus.ModifyIndex, u.ModifyIndex = w.index, w.index
			if err := w.insertAlloc(old, u); err != nil {
				return fmt.Errorf("state: updating alloc %s: %w", id, err)
			}
		}
		return nil
	}
	w.touch(TableAllocs)
	if err := set(healthy, true); err != nil {
		return err
	}
	if err := set(unhealthy, false); err != nil {
		return err
	}
	return w.refreshDeployments(map[string]bool{deploymentID: true})
}

// refreshDeployments derives again the counters of the named deployments,
// after their allocations changed.
func (w *WriteTxn) refreshDeployments(ids map[string]bool) error {
	for id := range ids {
		if id == "" {
			continue
		}
		if d := first[*structs.Deployment](w.txn, TableDeployments, "id", id); d != nil {
			if err := w.putDeployment(d.Copy()); err != nil {
				return err
			}
		}
	}
	return nil
}

// deriveDeploymentCounters sets each group's counters from the deployment's
// allocations: placed, healthy, unhealthy, the canaries, and the progress
// deadline, counted from the latest allocation to become healthy (or the
// deployment's creation).
func deriveDeploymentCounters(d *structs.Deployment, allocs []*structs.Allocation) {
	latest := map[string]time.Time{}
	for _, s := range d.TaskGroups {
		s.PlacedAllocs, s.HealthyAllocs, s.UnhealthyAllocs, s.PlacedCanaries = 0, 0, 0, nil
	}
	for _, a := range allocs {
		s := d.TaskGroups[a.TaskGroup]
		if s == nil {
			continue
		}
		s.PlacedAllocs++
		ds := a.DeploymentStatus
		switch {
		case ds.IsHealthy():
			s.HealthyAllocs++
			if ds.Timestamp.After(latest[a.TaskGroup]) {
				latest[a.TaskGroup] = ds.Timestamp
			}
		case ds.IsUnhealthy():
			s.UnhealthyAllocs++
		}
		if ds.IsCanary() {
			s.PlacedCanaries = append(s.PlacedCanaries, a.ID)
		}
	}
	for name, s := range d.TaskGroups {
		slices.Sort(s.PlacedCanaries)
		if s.ProgressDeadline > 0 {
			from := time.Unix(0, d.CreateTime)
			if t := latest[name]; t.After(from) {
				from = t
			}
			s.RequireProgressBy = from.Add(s.ProgressDeadline)
		}
	}
}

// persistDeployments writes every deployment to a snapshot.
func (s *Snapshot) persistDeployments(put func(recordKind, any) error) error {
	for _, d := range list[*structs.Deployment](s.txn, TableDeployments, "id") {
		if err := put(recordDeployment, d); err != nil {
			return fmt.Errorf("state: persisting deployment %s: %w", d.ID, err)
		}
	}
	return nil
}
