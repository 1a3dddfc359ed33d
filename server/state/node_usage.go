package state

import (
	"fmt"

	"github.com/hashicorp/go-memdb"

	"github.com/orch-io/orch/structs"
)

// Per-node usage: what the live (non-terminal) allocations of each node ask
// of it, kept by every write of an allocation, so that a scheduler looking
// at a candidate node reads one record instead of listing and summing the
// node's allocations (at 5,000 nodes, summing was the largest part of a
// placement's cost: scheduler.planUsage.scan). It is derived from the
// allocations: snapshots do not carry it, a restore sums it as it reads them.

// TableNodeUsage holds one *NodeUsage per node that runs live allocations.
const TableNodeUsage = "node_usage"

// NodeUsage is what the live allocations of one node use.
type NodeUsage struct {
	NodeID string
	// Used sums the live allocations' resources (Allocation.Comparable).
	Used structs.ComparableResources
	// Live counts the live allocations; Held those of them that hold host
	// ports or reserved cores, which a scheduler must list to know which.
	Live, Held int
}

func nodeUsageTable() *memdb.TableSchema {
	return &memdb.TableSchema{Name: TableNodeUsage, Indexes: map[string]*memdb.IndexSchema{
		"id": {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "NodeID"}},
	}}
}

// NodeUsage returns what the live allocations of the node use, and whether
// that sum is all a scheduler needs to know of them (plain: none of them
// holds host ports or reserved cores). A node without live allocations uses
// nothing.
func (s *Snapshot) NodeUsage(nodeID string) (used structs.ComparableResources, plain bool) {
	u := first[*NodeUsage](s.txn, TableNodeUsage, "id", nodeID)
	if u == nil {
		return used, true
	}
	negative := u.Used.CPU < 0 || u.Used.MemoryMB < 0 || u.Used.DiskMB < 0 // never, unless a sum saturated
	return u.Used, u.Held == 0 && !negative
}

// nodeUsages are a transaction's own copies of the node usage records it
// changed, by node ID, written to the table once, on commit: a plan places
// many allocations on one node, and the record is written once.
type nodeUsages map[string]*NodeUsage

// move moves the usage of the allocation's node from the version old to
// the version a; either may be nil (a placement, a deletion). Both must have
// their resources cached (insertAlloc does it).
func (m nodeUsages) move(txn *memdb.Txn, old, a *structs.Allocation) {
	oldLive := old != nil && !old.TerminalStatus()
	live := a != nil && !a.TerminalStatus()
	switch {
	case !oldLive && !live:
		return
	case oldLive && live && old.Comparable() == a.Comparable() && old.HoldsPortsOrCores() == a.HoldsPortsOrCores():
		return // a client's report, most often: nothing its node counts changed
	}
	var nodeID string
	if a != nil {
		nodeID = a.NodeID
	} else {
		nodeID = old.NodeID
	}
	u := m[nodeID]
	if u == nil {
		u = &NodeUsage{NodeID: nodeID}
		if cur := first[*NodeUsage](txn, TableNodeUsage, "id", nodeID); cur != nil {
			*u = *cur
		}
		m[nodeID] = u
	}
	if oldLive {
		u.add(old, -1)
	}
	if live {
		u.add(a, 1)
	}
}

// add counts a (n = 1) or takes it out (n = -1).
func (u *NodeUsage) add(a *structs.Allocation, n int) {
	if n > 0 {
		u.Used.Add(a.Comparable())
	} else {
		u.Used.Subtract(a.Comparable())
	}
	u.Live += n
	if a.HoldsPortsOrCores() {
		u.Held += n
	}
}

// flush writes the records: a node left without live allocations loses its
// record. Distinct keys: the order of the writes does not change the result.
func (m nodeUsages) flush(txn *memdb.Txn) error {
	for nodeID, u := range m {
		var err error
		if u.Live <= 0 {
			_, err = txn.DeleteAll(TableNodeUsage, "id", nodeID)
		} else {
			err = txn.Insert(TableNodeUsage, u)
		}
		if err != nil {
			return fmt.Errorf("state: node usage of %s: %w", nodeID, err)
		}
	}
	return nil
}
