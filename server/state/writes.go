package state

import (
	"bytes"
	"fmt"
	"time"

	"github.com/hashicorp/go-memdb"
	"github.com/orch-io/orch/structs"
)

// Writes. The Raft FSM calls the WriteTxn methods, all parts of one entry in
// the transaction of that entry (WriteTxn); each StateStore method of the same
// name runs one of them in a transaction of its own. They take ownership of
// the objects passed in (the FSM decoded them from the log; nobody else holds
// them). An error leaves the transaction to be aborted.

// UpsertJob inserts or updates a job. A registration that changes the job's
// specification bumps Version and JobModifyIndex (and clears Stable); one that
// changes nothing keeps them, so re-running the same file is not a new
// version. Every write is also kept as that version (job_versions.go).
//
// The job's namespace must exist (structs.CodeInvalid otherwise); a job
// without one is in "default".
func (w *WriteTxn) UpsertJob(job *structs.Job) error {
	defaultNamespaceOf(job)
	if err := w.requireNamespace(job.Namespace); err != nil {
		return err
	}
	w.touch(TableJobs)
	txn, index := w.txn, w.index
	job.ModifyIndex = index
	if old := first[*structs.Job](txn, TableJobs, "id", job.Namespace, job.ID); old != nil {
		job.CreateIndex = old.CreateIndex
		job.Version, job.JobModifyIndex = old.Version, old.JobModifyIndex
		job.Stable = old.Stable
		if changed, err := specChanged(old, job); err != nil {
			return err
		} else if changed {
			job.Version = old.Version + 1
			job.JobModifyIndex = index
			job.Stable = false
		}
	} else {
		job.CreateIndex, job.JobModifyIndex, job.Version = index, index, 0
	}
	if err := insertJobWithStatus(txn, job); err != nil {
		return err
	}
	return w.upsertJobVersion(job)
}

// UpsertJob runs WriteTxn.UpsertJob in a transaction of its own at index.
func (s *StateStore) UpsertJob(index uint64, job *structs.Job) error {
	return s.write(index, func(w *WriteTxn) error { return w.UpsertJob(job) })
}

// specChanged compares two versions of a job, ignoring what the servers own.
func specChanged(old, job *structs.Job) (bool, error) {
	norm := func(j *structs.Job) ([]byte, error) {
		c := *j
		c.Status, c.StatusDescription = "", ""
		c.Version, c.Stable, c.SubmitTime = 0, false, 0
		c.CreateIndex, c.ModifyIndex, c.JobModifyIndex = 0, 0, 0
		return structs.EncodeCanonical(&c) // map order must not count as a change
	}
	a, err := norm(old)
	if err != nil {
		return false, fmt.Errorf("state: encoding job %q: %w", old.ID, err)
	}
	b, err := norm(job)
	if err != nil {
		return false, fmt.Errorf("state: encoding job %q: %w", job.ID, err)
	}
	return !bytes.Equal(a, b), nil
}

// DeleteJob removes a job (a purge). Its allocations and evaluations stay: the
// scheduler stops the allocations, and garbage collection removes them later.
// Deleting an absent job is not an error.
func (w *WriteTxn) DeleteJob(namespace, jobID string) error {
	namespace = structs.NamespaceOr(namespace)
	w.touch(TableJobs)
	if _, err := w.txn.DeleteAll(TableJobs, "id", namespace, jobID); err != nil {
		return fmt.Errorf("state: deleting job %q: %w", jobID, err)
	}
	if err := w.deletePeriodicLaunch(namespace, jobID); err != nil {
		return err
	}
	return w.deleteJobVersions(namespace, jobID)
}

// DeleteJob runs WriteTxn.DeleteJob in a transaction of its own at index.
func (s *StateStore) DeleteJob(index uint64, namespace, jobID string) error {
	return s.write(index, func(w *WriteTxn) error { return w.DeleteJob(namespace, jobID) })
}

// UpsertEvals inserts or updates evaluations.
func (w *WriteTxn) UpsertEvals(evals []*structs.Evaluation) error {
	w.touch(TableEvals)
	txn, index := w.txn, w.index
	jobs := map[structs.NamespacedID]bool{}
	for _, e := range evals {
		defaultNamespaceOf(e)
		e.ModifyIndex = index
		if old := first[*structs.Evaluation](txn, TableEvals, "id", e.ID); old != nil {
			e.CreateIndex = old.CreateIndex
		} else {
			e.CreateIndex = index
		}
		if err := txn.Insert(TableEvals, e); err != nil {
			return fmt.Errorf("state: inserting eval %s: %w", e.ID, err)
		}
		jobs[structs.NamespacedID{Namespace: e.Namespace, ID: e.JobID}] = true
	}
	return refreshJobStatuses(txn, index, jobs)
}

// UpsertEvals runs WriteTxn.UpsertEvals in a transaction of its own at index.
func (s *StateStore) UpsertEvals(index uint64, evals []*structs.Evaluation) error {
	return s.write(index, func(w *WriteTxn) error { return w.UpsertEvals(evals) })
}

// UpsertNode inserts a node or replaces its registration.
func (w *WriteTxn) UpsertNode(node *structs.Node) error {
	w.touch(TableNodes)
	txn, index := w.txn, w.index
	node.ModifyIndex = index
	if old := first[*structs.Node](txn, TableNodes, "id", node.ID); old != nil {
		node.CreateIndex = old.CreateIndex
		// Eligibility, drain and events belong to the servers once the node
		// exists: a client registering again does not undo a drain.
		node.SchedulingEligibility = old.SchedulingEligibility
		node.DrainStrategy, node.LastDrain, node.Events = old.DrainStrategy, old.LastDrain, old.Events
	} else {
		node.CreateIndex = index
		// The node's own key of the index table from the start: its
		// client's allocation watch waits on that leaf alone. Without it
		// the watch would wait on the nearest existing node of the radix
		// tree, a shared ancestor that every other node's placements and
		// reports change: each write would wake the watches of most nodes
		// that have no allocation.
		w.touch(nodeAllocsKey(node.ID))
	}
	if node.SchedulingEligibility == "" {
		node.SchedulingEligibility = structs.NodeEligible
	}
	if err := txn.Insert(TableNodes, node); err != nil {
		return fmt.Errorf("state: inserting node %s: %w", node.ID, err)
	}
	return nil
}

// UpsertNode runs WriteTxn.UpsertNode in a transaction of its own at index.
func (s *StateStore) UpsertNode(index uint64, node *structs.Node) error {
	return s.write(index, func(w *WriteTxn) error { return w.UpsertNode(node) })
}

// UpdateNodeStatus records a node's liveness as decided by the leader.
func (w *WriteTxn) UpdateNodeStatus(nodeID string, status structs.NodeStatus, updatedAt int64) error {
	w.touch(TableNodes)
	txn, index := w.txn, w.index
	old := first[*structs.Node](txn, TableNodes, "id", nodeID)
	if old == nil {
		return structs.NewError(structs.CodeNotFound, "state: node %s not found", nodeID)
	}
	n := old.Copy()
	n.Status, n.StatusUpdatedAt, n.ModifyIndex = status, updatedAt, index
	if old.Status != status {
		n.AddEvent(&structs.NodeEvent{Message: "Node status " + string(status), Subsystem: structs.NodeEventSubsystemCluster,
			Timestamp: time.Unix(updatedAt, 0), CreateIndex: index})
	}
	if err := txn.Insert(TableNodes, n); err != nil {
		return fmt.Errorf("state: updating node %s: %w", nodeID, err)
	}
	return w.pruneServicesOfNode(nodeID, status)
}

// UpdateNodeStatus runs WriteTxn.UpdateNodeStatus in a transaction of its own at index.
func (s *StateStore) UpdateNodeStatus(index uint64, nodeID string, status structs.NodeStatus, updatedAt int64) error {
	return s.write(index, func(w *WriteTxn) error { return w.UpdateNodeStatus(nodeID, status, updatedAt) })
}

// UpsertPlanResults stores what the plan applier committed. A new allocation
// whose Job is nil gets job. For an existing allocation the servers' fields are
// taken (DesiredStatus, DesiredDescription, and Job, AllocatedResources,
// PreemptedByAllocation when set: an in-place update, an eviction) and the
// client's are kept.
func (w *WriteTxn) UpsertPlanResults(job *structs.Job, allocs []*structs.Allocation) error {
	w.touch(TableAllocs)
	txn, index := w.txn, w.index
	jobs := map[structs.NamespacedID]bool{}
	deployments := map[string]bool{}
	share := newSharer(txn)
	for _, a := range allocs {
		deployments[a.DeploymentID] = true
		old := first[*structs.Allocation](txn, TableAllocs, "id", a.ID)
		if old != nil {
			// A shallow copy: stored objects are never modified, so the new
			// version shares what it does not replace (its metrics, task
			// states, resources) with the old one instead of duplicating it
			// per index.
			u := new(structs.Allocation)
			*u = *old
			u.DesiredStatus, u.DesiredDescription = a.DesiredStatus, a.DesiredDescription
			if a.PreemptedByAllocation != "" { // evicted by preemption
				u.PreemptedByAllocation = a.PreemptedByAllocation
			}
			if a.FollowupEvalID != "" { // a failed allocation's delayed replacement
				u.FollowupEvalID = a.FollowupEvalID
			}
			if a.Job != nil {
				u.Job = a.Job
			}
			if a.AllocatedResources != nil {
				u.AllocatedResources = a.AllocatedResources
			}
			if a.ModifyTime != 0 {
				u.ModifyTime = a.ModifyTime
			}
			if a.DeploymentID != "" { // an in-place update joins the deployment
				u.DeploymentID = a.DeploymentID
			}
			markLostIfNodeDown(txn, u)
			a = u
		} else {
			a.CreateIndex = index
			if a.Job == nil {
				a.Job = job
			}
			if a.Namespace == "" && a.Job != nil {
				a.Namespace = a.Job.Namespace
			}
			defaultNamespaceOf(a)
			share.placed(a)
			if err := w.linkPrevious(a); err != nil {
				return err
			}
		}
		a.ModifyIndex, a.AllocModifyIndex = index, index
		w.touch(nodeAllocsKey(a.NodeID))
		if err := w.insertAlloc(old, a); err != nil {
			return fmt.Errorf("state: inserting alloc %s: %w", a.ID, err)
		}
		if err := w.pruneServicesOfAlloc(a); err != nil {
			return err
		}
		jobs[structs.NamespacedID{Namespace: a.Namespace, ID: a.JobID}] = true
	}
	if err := w.refreshDeployments(deployments); err != nil {
		return err
	}
	return refreshJobStatuses(txn, index, jobs)
}

// UpsertPlanResults runs WriteTxn.UpsertPlanResults in a transaction of its own at index.
func (s *StateStore) UpsertPlanResults(index uint64, job *structs.Job, allocs []*structs.Allocation) error {
	return s.write(index, func(w *WriteTxn) error { return w.UpsertPlanResults(job, allocs) })
}

// linkPrevious points the allocation a new one replaces forward to it
// (NextAllocation), so that the reconciler no longer counts the failed one.
func (w *WriteTxn) linkPrevious(a *structs.Allocation) error {
	if a.PreviousAllocation == "" {
		return nil
	}
	prev := first[*structs.Allocation](w.txn, TableAllocs, "id", a.PreviousAllocation)
	if prev == nil || prev.NextAllocation == a.ID {
		return nil
	}
	u := prev.Copy()
	u.NextAllocation = a.ID
	u.ModifyIndex = w.index
	if err := w.insertAlloc(prev, u); err != nil {
		return fmt.Errorf("state: linking alloc %s to its replacement %s: %w", prev.ID, a.ID, err)
	}
	return nil
}

// markLostIfNodeDown gives an allocation the servers stop the client status
// lost when its client cannot report any more: its node is down, and it had
// not finished. The client, if it comes back, reports what really
// happened.
func markLostIfNodeDown(txn *memdb.Txn, a *structs.Allocation) {
	if !a.ServerTerminal() || a.ClientTerminal() {
		return
	}
	if node := first[*structs.Node](txn, TableNodes, "id", a.NodeID); node == nil || node.Status != structs.NodeStatusDown {
		return
	}
	a.ClientStatus = structs.AllocClientStatusLost
	a.ClientDescription = "alloc is lost since its node is down"
}

// UpdateAllocsFromClient records what a client reports of its allocations:
// ClientStatus, ClientDescription, TaskStates and ModifyTime, and the
// deployment health (DeploymentStatus.Healthy, Timestamp) once. Updates for
// allocations the store does not know (garbage collected) are skipped.
func (w *WriteTxn) UpdateAllocsFromClient(allocs []*structs.Allocation) error {
	w.touch(TableAllocs)
	txn, index := w.txn, w.index
	jobs := map[structs.NamespacedID]bool{}
	deployments := map[string]bool{}
	share := newSharer(txn)
	for _, a := range allocs {
		old := first[*structs.Allocation](txn, TableAllocs, "id", a.ID)
		if old == nil {
			continue
		}
		share.reported(a.TaskStates)
		// A shallow copy, as in UpsertPlanResults: the client's fields are
		// replaced, the servers' shared with the previous version.
		u := new(structs.Allocation)
		*u = *old
		u.ClientStatus, u.ClientDescription, u.TaskStates = a.ClientStatus, a.ClientDescription, a.TaskStates
		if takeClientHealth(u, a.DeploymentStatus, index) && u.DeploymentID != "" {
			deployments[u.DeploymentID] = true
		}
		if a.ModifyTime != 0 {
			u.ModifyTime = a.ModifyTime
		}
		u.ModifyIndex = index
		if err := w.insertAlloc(old, u); err != nil {
			return fmt.Errorf("state: updating alloc %s: %w", a.ID, err)
		}
		if err := w.pruneServicesOfAlloc(u); err != nil {
			return err
		}
		jobs[structs.NamespacedID{Namespace: u.Namespace, ID: u.JobID}] = true
	}
	if err := w.refreshDeployments(deployments); err != nil {
		return err
	}
	return refreshJobStatuses(txn, index, jobs)
}

// takeClientHealth records the health a client reported for u (an
// allocation of a deployment, or one whose health paces a drain), once: a health already decided stays.
// It reports whether it recorded something.
func takeClientHealth(u *structs.Allocation, reported *structs.AllocDeploymentStatus, index uint64) bool {
	if reported == nil || reported.Healthy == nil {
		return false
	}
	if u.DeploymentStatus != nil && u.DeploymentStatus.Healthy != nil {
		return false
	}
	ds := u.DeploymentStatus.Copy()
	if ds == nil {
		ds = &structs.AllocDeploymentStatus{}
	}
	h := *reported.Healthy
	ds.Healthy, ds.Timestamp, ds.ModifyIndex = &h, reported.Timestamp, index
	u.DeploymentStatus = ds
	return true
}

// UpdateAllocsFromClient runs WriteTxn.UpdateAllocsFromClient in a transaction of its own at index.
func (s *StateStore) UpdateAllocsFromClient(index uint64, allocs []*structs.Allocation) error {
	return s.write(index, func(w *WriteTxn) error { return w.UpdateAllocsFromClient(allocs) })
}

// insertAlloc inserts a, the new version of old (nil for a new
// allocation), with its resources summed once for the schedulers
// (Allocation.CacheComparable), and moves its node's usage (node_usage.go).
func (w *WriteTxn) insertAlloc(old, a *structs.Allocation) error {
	a.CacheComparable()
	if err := w.txn.Insert(TableAllocs, a); err != nil {
		return err
	}
	w.usage.move(w.txn, old, a)
	return nil
}
