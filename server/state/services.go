package state

import (
	"fmt"

	"github.com/hashicorp/go-memdb"
	"github.com/orch-io/orch/structs"
)

// The service registry (provider "nomad"): one structs.ServiceRegistration
// per instance of a service of a running allocation.
//
// Invariant: no registration belongs to an allocation that is terminal (on
// the servers' side or the client's) or that the store does not hold, nor to
// a node that is down. The writes that make an allocation terminal or a node
// down remove its registrations in their own transaction
// (pruneServicesOfAlloc, pruneServicesOfNode), and an upsert of a
// registration that would break it is dropped. So an instance never outlives
// its allocation, and outlives its node by at most the time the servers take
// to declare the node down (its heartbeat TTL).

// TableServiceRegistrations holds the registry's instances.
const TableServiceRegistrations = "service_registrations"

func serviceRegistrationsTable() *memdb.TableSchema {
	str := func(field string) memdb.Indexer { return &memdb.StringFieldIndex{Field: field} }
	return &memdb.TableSchema{
		Name: TableServiceRegistrations,
		Indexes: map[string]*memdb.IndexSchema{
			"id": {Name: "id", Unique: true, Indexer: str("ID")},
			"service": {Name: "service", Indexer: &memdb.CompoundIndex{
				Indexes: []memdb.Indexer{str("Namespace"), str("ServiceName")},
			}},
			"alloc": {Name: "alloc", Indexer: str("AllocID")},
			"node":  {Name: "node", Indexer: str("NodeID")},
		},
	}
}

// ServiceRegistrations returns every instance of every service, sorted by
// ID.
func (s *Snapshot) ServiceRegistrations() []*structs.ServiceRegistration {
	return watchedList[*structs.ServiceRegistration](s, TableServiceRegistrations, "id")
}

// ServiceRegistrationsByName returns the instances of one service of a
// namespace, sorted by ID.
func (s *Snapshot) ServiceRegistrationsByName(namespace, name string) []*structs.ServiceRegistration {
	return watchedList[*structs.ServiceRegistration](s, TableServiceRegistrations, "service", namespace, name)
}

// ServiceRegistrationByID returns one instance, or nil.
func (s *Snapshot) ServiceRegistrationByID(id string) *structs.ServiceRegistration {
	return watchedFirst[*structs.ServiceRegistration](s, TableServiceRegistrations, "id", id)
}

// ServiceRegistrationsByAlloc returns the instances of one allocation.
func (s *Snapshot) ServiceRegistrationsByAlloc(allocID string) []*structs.ServiceRegistration {
	return watchedList[*structs.ServiceRegistration](s, TableServiceRegistrations, "alloc", allocID)
}

// ServiceRegistrationsByNode returns the instances on one node.
func (s *Snapshot) ServiceRegistrationsByNode(nodeID string) []*structs.ServiceRegistration {
	return watchedList[*structs.ServiceRegistration](s, TableServiceRegistrations, "node", nodeID)
}

// UpsertServiceRegistrations stores regs (which the store then owns),
// replacing the instances of the same IDs. An instance sent again unchanged
// keeps its indexes (a client that re-sends what it registered wakes no
// blocking query). An instance whose allocation the store does not hold, or
// holds terminal, or whose node is down, is dropped: it would break the
// registry's invariant (a client's upsert that raced its allocation's stop).
// It returns how many were dropped.
func (w *WriteTxn) UpsertServiceRegistrations(regs []*structs.ServiceRegistration) (dropped int, err error) {
	for _, r := range regs {
		defaultNamespaceOf(r)
		if !w.mayRegister(r) {
			dropped++
			continue
		}
		old := first[*structs.ServiceRegistration](w.txn, TableServiceRegistrations, "id", r.ID)
		if old != nil && old.SameInstance(r) {
			continue
		}
		r.CreateIndex, r.ModifyIndex = w.index, w.index
		if old != nil {
			r.CreateIndex = old.CreateIndex
		}
		w.touch(TableServiceRegistrations)
		if err := w.txn.Insert(TableServiceRegistrations, r); err != nil {
			return dropped, fmt.Errorf("state: inserting service registration %q: %w", r.ID, err)
		}
	}
	return dropped, nil
}

// mayRegister reports whether r may be in the registry: its allocation is
// known and not terminal, on r's node, and that node is not down.
func (w *WriteTxn) mayRegister(r *structs.ServiceRegistration) bool {
	a := first[*structs.Allocation](w.txn, TableAllocs, "id", r.AllocID)
	if a == nil || a.TerminalStatus() || a.NodeID != r.NodeID {
		return false
	}
	n := first[*structs.Node](w.txn, TableNodes, "id", r.NodeID)
	return n != nil && n.Status != structs.NodeStatusDown
}

// DeleteServiceRegistrations removes the instances with these IDs; absent
// ones are not an error.
func (w *WriteTxn) DeleteServiceRegistrations(ids []string) error {
	for _, id := range ids {
		n, err := w.txn.DeleteAll(TableServiceRegistrations, "id", id)
		if err != nil {
			return fmt.Errorf("state: deleting service registration %q: %w", id, err)
		}
		if n > 0 {
			w.touch(TableServiceRegistrations)
		}
	}
	return nil
}

// pruneServicesOfAlloc removes the instances of a, if it is terminal. The
// writes that change allocations call it for each one they write.
func (w *WriteTxn) pruneServicesOfAlloc(a *structs.Allocation) error {
	if !a.TerminalStatus() {
		return nil
	}
	return w.deleteServicesBy("alloc", a.ID)
}

// pruneServicesOfNode removes the instances on a node that is down.
func (w *WriteTxn) pruneServicesOfNode(nodeID string, status structs.NodeStatus) error {
	if status != structs.NodeStatusDown {
		return nil
	}
	return w.deleteServicesBy("node", nodeID)
}

func (w *WriteTxn) deleteServicesBy(index, key string) error {
	n, err := w.txn.DeleteAll(TableServiceRegistrations, index, key)
	if err != nil {
		return fmt.Errorf("state: deleting service registrations by %s %q: %w", index, key, err)
	}
	if n > 0 {
		w.touch(TableServiceRegistrations)
	}
	return nil
}

// persistServiceRegistrations writes every instance to a snapshot.
func (s *Snapshot) persistServiceRegistrations(put func(recordKind, any) error) error {
	for _, r := range list[*structs.ServiceRegistration](s.txn, TableServiceRegistrations, "id") {
		if err := put(recordServiceRegistration, r); err != nil {
			return fmt.Errorf("state: persisting service registration %q: %w", r.ID, err)
		}
	}
	return nil
}
