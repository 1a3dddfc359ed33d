package state

import (
	"fmt"
	"time"

	"github.com/orch-io/orch/structs"
)

// Writes of node eligibility, drains and allocation transitions (the
// drainer's and `orch alloc stop`'s state).

// UpdateAllocsDesiredTransitions sets the desired transition of each
// allocation named in transitions. Allocations the store does not know
// (garbage collected) are skipped.
func (w *WriteTxn) UpdateAllocsDesiredTransitions(transitions map[string]structs.DesiredTransition) error {
	w.touch(TableAllocs)
	txn, index := w.txn, w.index
	for id, t := range transitions {
		old := first[*structs.Allocation](txn, TableAllocs, "id", id)
		if old == nil {
			continue
		}
		u := old.Copy()
		u.DesiredTransition = t
		u.ModifyIndex, u.AllocModifyIndex = index, index
		if err := txn.Insert(TableAllocs, u); err != nil {
			return fmt.Errorf("state: updating alloc %s: %w", id, err)
		}
	}
	return nil
}

// nodeForUpdate returns a copy of the node to modify at the transaction's
// index, or a CodeNotFound error.
func (w *WriteTxn) nodeForUpdate(nodeID string) (*structs.Node, error) {
	w.touch(TableNodes)
	old := first[*structs.Node](w.txn, TableNodes, "id", nodeID)
	if old == nil {
		return nil, structs.NewError(structs.CodeNotFound, "state: node %s not found", nodeID)
	}
	n := old.Copy()
	n.ModifyIndex = w.index
	return n, nil
}

func (w *WriteTxn) insertNode(n *structs.Node, event *structs.NodeEvent) error {
	if event != nil {
		ev := *event
		ev.CreateIndex = w.index
		n.AddEvent(&ev)
	}
	if err := w.txn.Insert(TableNodes, n); err != nil {
		return fmt.Errorf("state: updating node %s: %w", n.ID, err)
	}
	return nil
}

// UpdateNodeEligibility sets a node's scheduling eligibility, recording event
// (when not nil).
func (w *WriteTxn) UpdateNodeEligibility(nodeID string, elig structs.NodeEligibility, event *structs.NodeEvent) error {
	n, err := w.nodeForUpdate(nodeID)
	if err != nil {
		return err
	}
	n.SchedulingEligibility = elig
	return w.insertNode(n, event)
}

// UpdateNodeDrain starts or updates a drain (strategy not nil: the node
// becomes ineligible, LastDrain draining) or ends it (nil: LastDrain complete
// when complete, canceled otherwise; the node becomes eligible again when
// markEligible), recording event (when not nil). updatedAt is the leader's
// time of the change.
func (w *WriteTxn) UpdateNodeDrain(nodeID string, strategy *structs.DrainStrategy, markEligible, complete bool,
	event *structs.NodeEvent, updatedAt time.Time) error {
	n, err := w.nodeForUpdate(nodeID)
	if err != nil {
		return err
	}
	switch {
	case strategy != nil:
		started := strategy.StartedAt
		if n.DrainStrategy != nil { // an update of the drain in progress
			started = n.DrainStrategy.StartedAt
			strategy = strategy.Copy()
			strategy.StartedAt = started
		}
		n.DrainStrategy = strategy
		n.SchedulingEligibility = structs.NodeIneligible
		n.LastDrain = &structs.DrainMetadata{StartedAt: started, UpdatedAt: updatedAt, Status: structs.DrainStatusDraining}
	default:
		n.DrainStrategy = nil
		if n.LastDrain != nil {
			n.LastDrain = n.LastDrain.Copy()
			n.LastDrain.UpdatedAt = updatedAt
			n.LastDrain.Status = structs.DrainStatusCanceled
			if complete {
				n.LastDrain.Status = structs.DrainStatusComplete
			}
		}
		if markEligible {
			n.SchedulingEligibility = structs.NodeEligible
		}
	}
	return w.insertNode(n, event)
}
