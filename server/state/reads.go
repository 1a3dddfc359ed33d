package state

import (
	"github.com/hashicorp/go-memdb"
	"github.com/orch-io/orch/structs"
)

// Reads. Returned objects are shared with the store and with every other
// reader: never modify them, Copy them first. Returned slices belong to the
// caller. Lists are sorted by ID.

// Index returns the Raft index of the last write to table (TableJobs, ...).
func (s *Snapshot) Index(table string) uint64 {
	raw, err := s.txn.First(tableIndex, "id", table)
	if err != nil {
		panic(err)
	}
	if raw == nil {
		return 0
	}
	return raw.(*indexEntry).Value
}

// LatestIndex returns the Raft index of the last write to any table.
func (s *Snapshot) LatestIndex() uint64 {
	var max uint64
	for _, t := range []string{TableJobs, TableNodes, TableAllocs, TableEvals} {
		if i := s.Index(t); i > max {
			max = i
		}
	}
	return max
}

// JobByID returns the job, or nil.
func (s *Snapshot) JobByID(id string) *structs.Job {
	return first[*structs.Job](s.txn, TableJobs, "id", id)
}

// Jobs returns the jobs whose ID starts with prefix ("" for all).
func (s *Snapshot) Jobs(prefix string) []*structs.Job {
	return list[*structs.Job](s.txn, TableJobs, "id_prefix", prefix)
}

// NodeByID returns the node, or nil.
func (s *Snapshot) NodeByID(id string) *structs.Node {
	return first[*structs.Node](s.txn, TableNodes, "id", id)
}

// Nodes returns the nodes whose ID starts with prefix ("" for all).
func (s *Snapshot) Nodes(prefix string) []*structs.Node {
	return list[*structs.Node](s.txn, TableNodes, "id_prefix", prefix)
}

// AllocByID returns the allocation, or nil.
func (s *Snapshot) AllocByID(id string) *structs.Allocation {
	return first[*structs.Allocation](s.txn, TableAllocs, "id", id)
}

// Allocs returns the allocations whose ID starts with prefix ("" for all).
func (s *Snapshot) Allocs(prefix string) []*structs.Allocation {
	return list[*structs.Allocation](s.txn, TableAllocs, "id_prefix", prefix)
}

// AllocsByJob returns every allocation of the job, terminal ones included.
func (s *Snapshot) AllocsByJob(jobID string) []*structs.Allocation {
	return list[*structs.Allocation](s.txn, TableAllocs, "job", jobID)
}

// AllocsByNode returns every allocation on the node, terminal ones included.
func (s *Snapshot) AllocsByNode(nodeID string) []*structs.Allocation {
	return list[*structs.Allocation](s.txn, TableAllocs, "node", nodeID)
}

// AllocsByEval returns the allocations an evaluation created or updated.
func (s *Snapshot) AllocsByEval(evalID string) []*structs.Allocation {
	return list[*structs.Allocation](s.txn, TableAllocs, "eval", evalID)
}

// EvalByID returns the evaluation, or nil.
func (s *Snapshot) EvalByID(id string) *structs.Evaluation {
	return first[*structs.Evaluation](s.txn, TableEvals, "id", id)
}

// Evals returns the evaluations whose ID starts with prefix ("" for all).
func (s *Snapshot) Evals(prefix string) []*structs.Evaluation {
	return list[*structs.Evaluation](s.txn, TableEvals, "id_prefix", prefix)
}

// EvalsByJob returns every evaluation of the job.
func (s *Snapshot) EvalsByJob(jobID string) []*structs.Evaluation {
	return list[*structs.Evaluation](s.txn, TableEvals, "job", jobID)
}

func first[T any](txn *memdb.Txn, table, index string, args ...any) T {
	var zero T
	raw, err := txn.First(table, index, args...)
	if err != nil {
		panic(err) // only a schema mistake gets here
	}
	if raw == nil {
		return zero
	}
	return raw.(T)
}

func list[T any](txn *memdb.Txn, table, index string, args ...any) []T {
	it, err := txn.Get(table, index, args...)
	if err != nil {
		panic(err) // only a schema mistake gets here
	}
	var out []T
	for raw := it.Next(); raw != nil; raw = it.Next() {
		out = append(out, raw.(T))
	}
	return out
}

// The latest state, read through a fresh snapshot. For several reads that
// must agree with each other, take one Snapshot instead.

// Index returns the Raft index of the last write to table.
func (s *StateStore) Index(table string) uint64 { return s.Snapshot().Index(table) }

// LatestIndex returns the Raft index of the last write to any table.
func (s *StateStore) LatestIndex() uint64 { return s.Snapshot().LatestIndex() }

// JobByID returns the job, or nil.
func (s *StateStore) JobByID(id string) *structs.Job { return s.Snapshot().JobByID(id) }

// NodeByID returns the node, or nil.
func (s *StateStore) NodeByID(id string) *structs.Node { return s.Snapshot().NodeByID(id) }

// AllocByID returns the allocation, or nil.
func (s *StateStore) AllocByID(id string) *structs.Allocation { return s.Snapshot().AllocByID(id) }

// EvalByID returns the evaluation, or nil.
func (s *StateStore) EvalByID(id string) *structs.Evaluation { return s.Snapshot().EvalByID(id) }
