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
// allocations: snapshots do not carry it, a restore rebuilds it.

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

// updateNodeUsage moves the usage of the allocation's node from the version
// old to the version a; either may be nil (a placement, a deletion). Both
// must have their resources cached (insertAlloc does it).
func updateNodeUsage(txn *memdb.Txn, old, a *structs.Allocation) error {
	oldLive := old != nil && !old.TerminalStatus()
	live := a != nil && !a.TerminalStatus()
	switch {
	case !oldLive && !live:
		return nil
	case oldLive && live && old.Comparable() == a.Comparable() && old.HoldsPortsOrCores() == a.HoldsPortsOrCores():
		return nil // a client's report, most often: nothing its node counts changed
	}
	var nodeID string
	if a != nil {
		nodeID = a.NodeID
	} else {
		nodeID = old.NodeID
	}
	u := &NodeUsage{NodeID: nodeID}
	if cur := first[*NodeUsage](txn, TableNodeUsage, "id", nodeID); cur != nil {
		*u = *cur
	}
	if oldLive {
		u.Used.Subtract(old.Comparable())
		u.Live--
		if old.HoldsPortsOrCores() {
			u.Held--
		}
	}
	if live {
		u.Used.Add(a.Comparable())
		u.Live++
		if a.HoldsPortsOrCores() {
			u.Held++
		}
	}
	if u.Live <= 0 {
		if _, err := txn.DeleteAll(TableNodeUsage, "id", nodeID); err != nil {
			return fmt.Errorf("state: node usage of %s: %w", nodeID, err)
		}
		return nil
	}
	if err := txn.Insert(TableNodeUsage, u); err != nil {
		return fmt.Errorf("state: node usage of %s: %w", nodeID, err)
	}
	return nil
}

// rebuildNodeUsage derives every node's usage from the allocations, into a
// store that has none (a restore).
func rebuildNodeUsage(txn *memdb.Txn) error {
	usage := map[string]*NodeUsage{}
	for _, a := range list[*structs.Allocation](txn, TableAllocs, "id") {
		if a.TerminalStatus() {
			continue
		}
		u := usage[a.NodeID]
		if u == nil {
			u = &NodeUsage{NodeID: a.NodeID}
			usage[a.NodeID] = u
		}
		u.Used.Add(a.Comparable())
		u.Live++
		if a.HoldsPortsOrCores() {
			u.Held++
		}
	}
	for _, u := range usage {
		if err := txn.Insert(TableNodeUsage, u); err != nil {
			return fmt.Errorf("state: node usage of %s: %w", u.NodeID, err)
		}
	}
	return nil
}
