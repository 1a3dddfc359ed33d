package state

import (
	"fmt"

	"github.com/hashicorp/go-memdb"
	"github.com/orch-io/orch/structs"
)

// TableNamespaces holds the namespaces by name (structs/namespace.go). The
// namespace "default" is in every store: NewStateStore and Restore put it
// there, and DeleteNamespaces refuses to remove it.
const TableNamespaces = "namespaces"

func namespacesTable() *memdb.TableSchema {
	return &memdb.TableSchema{Name: TableNamespaces, Indexes: map[string]*memdb.IndexSchema{
		"id": {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "Name"}},
	}}
}

// nsJobIndex indexes objects by (Namespace, field): a job's allocations,
// evaluations, deployments and versions.
func nsJobIndex(name, field string) *memdb.IndexSchema {
	return &memdb.IndexSchema{Name: name, Indexer: &memdb.CompoundIndex{Indexes: []memdb.Indexer{
		&memdb.StringFieldIndex{Field: "Namespace"}, &memdb.StringFieldIndex{Field: field},
	}}}
}

// NamespaceByName returns the namespace, or nil.
func (s *Snapshot) NamespaceByName(name string) *structs.Namespace {
	return watchedFirst[*structs.Namespace](s, TableNamespaces, "id", name)
}

// Namespaces returns the namespaces whose name starts with prefix ("" for
// all), sorted by name.
func (s *Snapshot) Namespaces(prefix string) []*structs.Namespace {
	return watchedList[*structs.Namespace](s, TableNamespaces, "id_prefix", prefix)
}

// UpsertNamespaces creates namespaces or replaces their description and
// meta; an unchanged one keeps its indexes.
func (w *WriteTxn) UpsertNamespaces(nss []*structs.Namespace) error {
	for _, ns := range nss {
		old := first[*structs.Namespace](w.txn, TableNamespaces, "id", ns.Name)
		if old != nil {
			if old.Description == ns.Description && mapsEqual(old.Meta, ns.Meta) {
				continue
			}
			ns.CreateIndex = old.CreateIndex
		} else {
			ns.CreateIndex = w.index
		}
		ns.ModifyIndex = w.index
		w.touch(TableNamespaces)
		if err := w.txn.Insert(TableNamespaces, ns); err != nil {
			return fmt.Errorf("state: inserting namespace %q: %w", ns.Name, err)
		}
	}
	return nil
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if bv, ok := b[k]; !ok || bv != v {
			return false
		}
	}
	return true
}

// DeleteNamespaces removes namespaces. It refuses (structs.CodeInvalid) to
// remove "default", or a namespace that still has a job that is not dead;
// an absent namespace is structs.CodeNotFound. Nothing is removed unless
// every name may be.
func (w *WriteTxn) DeleteNamespaces(names []string) error {
	if err := checkNamespacesDeletable(w.txn, names); err != nil {
		return err
	}
	for _, name := range names {
		w.touch(TableNamespaces)
		if _, err := w.txn.DeleteAll(TableNamespaces, "id", name); err != nil {
			return fmt.Errorf("state: deleting namespace %q: %w", name, err)
		}
	}
	return nil
}

// CheckNamespacesDeletable is DeleteNamespaces' verdict on the snapshot,
// without deleting anything (an endpoint's fast answer).
func (s *Snapshot) CheckNamespacesDeletable(names []string) error {
	return checkNamespacesDeletable(s.txn, names)
}

func checkNamespacesDeletable(txn *memdb.Txn, names []string) error {
	for _, name := range names {
		if name == structs.DefaultNamespace {
			return structs.NewError(structs.CodeInvalid, "namespace %q cannot be deleted", name)
		}
		if first[*structs.Namespace](txn, TableNamespaces, "id", name) == nil {
			return structs.NewError(structs.CodeNotFound, "namespace %q not found", name)
		}
		for _, j := range list[*structs.Job](txn, TableJobs, "id_prefix", name, "") {
			if j.Status != structs.JobStatusDead {
				return structs.NewError(structs.CodeInvalid,
					"namespace %q has the non-terminal job %q (status %s): stop every job of a namespace (and wait until it is dead) before deleting it",
					name, j.ID, j.Status)
			}
		}
	}
	return nil
}

// ensureDefaultNamespace puts the namespace "default" in a store that lacks
// it (a new one, a snapshot written before namespaces existed).
func ensureDefaultNamespace(txn *memdb.Txn) error {
	if first[*structs.Namespace](txn, TableNamespaces, "id", structs.DefaultNamespace) != nil {
		return nil
	}
	if err := txn.Insert(TableNamespaces, structs.DefaultNamespaceObject()); err != nil {
		return fmt.Errorf("state: inserting the default namespace: %w", err)
	}
	return nil
}

// requireNamespace refuses an object of a namespace that does not exist
// (structs.CodeInvalid).
func (w *WriteTxn) requireNamespace(ns string) error {
	if first[*structs.Namespace](w.txn, TableNamespaces, "id", ns) == nil {
		return structs.NewError(structs.CodeInvalid, "namespace %q does not exist (create it with `orch namespace apply %s`)", ns, ns)
	}
	return nil
}

// persistNamespaces writes every namespace to a snapshot.
func (s *Snapshot) persistNamespaces(put func(recordKind, any) error) error {
	for _, ns := range list[*structs.Namespace](s.txn, TableNamespaces, "id") {
		if err := put(recordNamespace, ns); err != nil {
			return fmt.Errorf("state: persisting namespace %q: %w", ns.Name, err)
		}
	}
	return nil
}

// defaultNamespaceOf gives an object restored from a snapshot (or written
// by an entry) from before namespaces existed the namespace "default".
func defaultNamespaceOf(obj any) {
	switch o := obj.(type) {
	case *structs.Job:
		o.Namespace = structs.NamespaceOr(o.Namespace)
	case *structs.Allocation:
		o.Namespace = structs.NamespaceOr(o.Namespace)
		if o.Job != nil && o.Job.Namespace == "" {
			o.Job.Namespace = o.Namespace
		}
	case *structs.Evaluation:
		o.Namespace = structs.NamespaceOr(o.Namespace)
	case *structs.Deployment:
		o.Namespace = structs.NamespaceOr(o.Namespace)
	case *structs.ServiceRegistration:
		o.Namespace = structs.NamespaceOr(o.Namespace)
	}
}
