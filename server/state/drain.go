package state

import (
	"fmt"
	"maps"
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
		w.touch(nodeAllocsKey(u.NodeID))
		if err := w.insertAlloc(old, u); err != nil {
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

// NodeDrainUpdate is a change of a node's drain (WriteTxn.UpdateNodeDrain).
type NodeDrainUpdate struct {
	// Strategy starts or updates the drain when not nil, ends it when nil.
	Strategy *structs.DrainStrategy
	// MarkEligible makes the node eligible again when the drain ends.
	MarkEligible bool
	// Complete records an ending drain as complete rather than canceled.
	Complete bool
	// Event, when not nil, is recorded in the node's events.
	Event *structs.NodeEvent
	// UpdatedAt is the leader's time of the change.
	UpdatedAt time.Time
	// Meta, when not nil, replaces the metadata of the node's LastDrain
	// (Nomad's drain Meta); a drain that starts has only this metadata.
	Meta map[string]string
}

// UpdateNodeDrain starts or updates a drain (u.Strategy not nil: the node
// becomes ineligible, LastDrain draining) or ends it (nil: LastDrain complete
// when u.Complete, canceled otherwise; the node becomes eligible again when
// u.MarkEligible).
func (w *WriteTxn) UpdateNodeDrain(nodeID string, u NodeDrainUpdate) error {
	n, err := w.nodeForUpdate(nodeID)
	if err != nil {
		return err
	}
	switch strategy := u.Strategy; {
	case strategy != nil:
		started, meta := strategy.StartedAt, u.Meta
		if n.DrainStrategy != nil { // an update of the drain in progress
			started = n.DrainStrategy.StartedAt
			strategy = strategy.Copy()
			strategy.StartedAt = started
			if meta == nil && n.LastDrain != nil {
				meta = n.LastDrain.Meta
			}
		}
		n.DrainStrategy = strategy
		n.SchedulingEligibility = structs.NodeIneligible
		n.LastDrain = &structs.DrainMetadata{StartedAt: started, UpdatedAt: u.UpdatedAt, Status: structs.DrainStatusDraining,
			Meta: maps.Clone(meta)}
	default:
		n.DrainStrategy = nil
		if n.LastDrain != nil {
			n.LastDrain = n.LastDrain.Copy()
			n.LastDrain.UpdatedAt = u.UpdatedAt
			n.LastDrain.Status = structs.DrainStatusCanceled
			if u.Complete {
				n.LastDrain.Status = structs.DrainStatusComplete
			}
			if u.Meta != nil {
				n.LastDrain.Meta = maps.Clone(u.Meta)
			}
		}
		if u.MarkEligible {
			n.SchedulingEligibility = structs.NodeEligible
		}
	}
	return w.insertNode(n, u.Event)
}
