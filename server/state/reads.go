package state

import (
	"strings"

	"github.com/hashicorp/go-memdb"
	"github.com/orch-io/orch/structs"
)

// Reads. Returned objects are shared with the store and with every other
// reader: never modify them, Copy them first. Returned slices belong to the
// caller. Lists are sorted by ID.
//
// On a snapshot from WatchSnapshot every read also records what it covered
// (the object, or the prefix of the list, present or not) into the Watch, so
// that a blocking query wakes when that changes and not otherwise.

// Index returns the Raft index of the last write to table (TableJobs, ...).
// It is a read like the others: watched, it fires at every write to the
// table. Use it where the index is what the query waits for.
func (s *Snapshot) Index(table string) uint64 {
	if e := watchedFirst[*indexEntry](s, tableIndex, "id", table); e != nil {
		return e.Value
	}
	return 0
}

// nodeAllocsKey is the index-table key of the last write by the servers to
// a node's allocations: one placed, changed (AllocModifyIndex) or collected.
// The clients' own reports do not touch it.
func nodeAllocsKey(nodeID string) string { return "node-allocs/" + nodeID }

// NodeAllocsIndex is the Raft index of the last write by the servers to
// node's allocations (a placement, a change that raises AllocModifyIndex, a
// garbage collection), watched: a client's allocation watch waits on it
// alone, not on every report of its own. A node has the key from its
// registration (its index until it gets an allocation); 0 for an unknown
// node.
func (s *Snapshot) NodeAllocsIndex(nodeID string) uint64 {
	if e := watchedFirst[*indexEntry](s, tableIndex, "id", nodeAllocsKey(nodeID)); e != nil {
		return e.Value
	}
	return 0
}

// IndexUnwatched returns the Raft index of the last write to table without
// adding it to the Watch. It labels the result of a blocking query that
// watches the objects it read: a write that changes one of them also raises
// their table's index, so the label passes the caller's MinQueryIndex exactly
// when the query wakes for a change of its own; writes to other objects of
// the table must not wake it.
func (s *Snapshot) IndexUnwatched(table string) uint64 {
	if e := first[*indexEntry](s.txn, tableIndex, "id", table); e != nil {
		return e.Value
	}
	return 0
}

// LatestIndex returns the Raft index of the last write to any table.
func (s *Snapshot) LatestIndex() uint64 {
	var max uint64
	for _, t := range []string{TableJobs, TableNodes, TableAllocs, TableEvals, TableDeployments, TableNamespaces} {
		if i := s.Index(t); i > max {
			max = i
		}
	}
	return max
}

// JobByID returns the job of the namespace, or nil.
func (s *Snapshot) JobByID(namespace, id string) *structs.Job {
	return watchedFirst[*structs.Job](s, TableJobs, "id", namespace, id)
}

// Jobs returns the jobs of the namespace whose ID starts with prefix (""
// for all), sorted by ID; namespace "*" (structs.AllNamespaces) lists those
// of every namespace, sorted by namespace and ID.
func (s *Snapshot) Jobs(namespace, prefix string) []*structs.Job {
	if namespace != structs.AllNamespaces {
		return watchedList[*structs.Job](s, TableJobs, "id_prefix", namespace, prefix)
	}
	all := watchedList[*structs.Job](s, TableJobs, "id")
	out := all[:0]
	for _, j := range all {
		if strings.HasPrefix(j.ID, prefix) {
			out = append(out, j)
		}
	}
	return out
}

// NodeByID returns the node, or nil.
func (s *Snapshot) NodeByID(id string) *structs.Node {
	return watchedFirst[*structs.Node](s, TableNodes, "id", id)
}

// NodeBySecret returns the node whose secret ID is secret, or nil (always
// for "").
func (s *Snapshot) NodeBySecret(secret string) *structs.Node {
	if secret == "" {
		return nil
	}
	return watchedFirst[*structs.Node](s, TableNodes, "secret", secret)
}

// Nodes returns the nodes whose ID starts with prefix ("" for all).
func (s *Snapshot) Nodes(prefix string) []*structs.Node {
	return watchedList[*structs.Node](s, TableNodes, "id_prefix", prefix)
}

// AllocByID returns the allocation, or nil.
func (s *Snapshot) AllocByID(id string) *structs.Allocation {
	return watchedFirst[*structs.Allocation](s, TableAllocs, "id", id)
}

// Allocs returns the allocations whose ID starts with prefix ("" for all).
func (s *Snapshot) Allocs(prefix string) []*structs.Allocation {
	return watchedList[*structs.Allocation](s, TableAllocs, "id_prefix", prefix)
}

// AllocsByJob returns every allocation of the job, terminal ones included.
func (s *Snapshot) AllocsByJob(namespace, jobID string) []*structs.Allocation {
	return watchedList[*structs.Allocation](s, TableAllocs, "job", namespace, jobID)
}

// AllocsByNode returns every allocation on the node, terminal ones included.
func (s *Snapshot) AllocsByNode(nodeID string) []*structs.Allocation {
	return watchedList[*structs.Allocation](s, TableAllocs, "node", nodeID)
}

// AllocsByEval returns the allocations an evaluation created or updated:
// those of its job that name it, none once the evaluation is gone.
// Allocations keep no index by evaluation: an index entry per allocation
// (about 570 bytes of the leader's heap each, heap_figure_test.go) for two
// rare readers (Eval.Allocations, the GC, which reads job by job).
func (s *Snapshot) AllocsByEval(evalID string) []*structs.Allocation {
	e := s.EvalByID(evalID)
	if e == nil {
		return nil
	}
	var out []*structs.Allocation
	for _, a := range s.AllocsByJob(e.Namespace, e.JobID) {
		if a.EvalID == evalID {
			out = append(out, a)
		}
	}
	return out
}

// EvalByID returns the evaluation, or nil.
func (s *Snapshot) EvalByID(id string) *structs.Evaluation {
	return watchedFirst[*structs.Evaluation](s, TableEvals, "id", id)
}

// Evals returns the evaluations whose ID starts with prefix ("" for all).
func (s *Snapshot) Evals(prefix string) []*structs.Evaluation {
	return watchedList[*structs.Evaluation](s, TableEvals, "id_prefix", prefix)
}

// EvalsByJob returns every evaluation of the job.
func (s *Snapshot) EvalsByJob(namespace, jobID string) []*structs.Evaluation {
	return watchedList[*structs.Evaluation](s, TableEvals, "job", namespace, jobID)
}

// watchedFirst is first on a snapshot, adding what it read to its Watch.
func watchedFirst[T any](s *Snapshot, table, index string, args ...any) T {
	v, ch := firstWatch[T](s.txn, table, index, args...)
	s.watch.add(ch)
	return v
}

// watchedList is list on a snapshot, adding what it read to its Watch.
func watchedList[T any](s *Snapshot, table, index string, args ...any) []T {
	v, ch := listWatch[T](s.txn, table, index, args...)
	s.watch.add(ch)
	return v
}

func first[T any](txn *memdb.Txn, table, index string, args ...any) T {
	v, _ := firstWatch[T](txn, table, index, args...)
	return v
}

func list[T any](txn *memdb.Txn, table, index string, args ...any) []T {
	v, _ := listWatch[T](txn, table, index, args...)
	return v
}

// firstWatch returns the first object of the index matching args, or the
// zero T, and the channel closed when that key (or its absence) changes.
func firstWatch[T any](txn *memdb.Txn, table, index string, args ...any) (T, <-chan struct{}) {
	var zero T
	ch, raw, err := txn.FirstWatch(table, index, args...)
	if err != nil {
		panic(err) // only a schema mistake gets here
	}
	if raw == nil {
		return zero, ch
	}
	return raw.(T), ch
}

// listWatch returns the objects of the index matching args, and the channel
// closed when any object under that key prefix is written or deleted.
func listWatch[T any](txn *memdb.Txn, table, index string, args ...any) ([]T, <-chan struct{}) {
	it, err := txn.Get(table, index, args...)
	if err != nil {
		panic(err) // only a schema mistake gets here
	}
	var out []T
	for raw := it.Next(); raw != nil; raw = it.Next() {
		out = append(out, raw.(T))
	}
	return out, it.WatchCh()
}

// The latest state, read through a fresh snapshot. For several reads that
// must agree with each other, take one Snapshot instead.

// Index returns the Raft index of the last write to table.
func (s *StateStore) Index(table string) uint64 { return s.Snapshot().Index(table) }

// LatestIndex returns the Raft index of the last write to any table.
func (s *StateStore) LatestIndex() uint64 { return s.Snapshot().LatestIndex() }

// JobByID returns the job of the namespace, or nil.
func (s *StateStore) JobByID(namespace, id string) *structs.Job {
	return s.Snapshot().JobByID(namespace, id)
}

// NodeByID returns the node, or nil.
func (s *StateStore) NodeByID(id string) *structs.Node { return s.Snapshot().NodeByID(id) }

// AllocByID returns the allocation, or nil.
func (s *StateStore) AllocByID(id string) *structs.Allocation { return s.Snapshot().AllocByID(id) }

// EvalByID returns the evaluation, or nil.
func (s *StateStore) EvalByID(id string) *structs.Evaluation { return s.Snapshot().EvalByID(id) }
