package server

import (
	"maps"
	"slices"
	"time"

	"github.com/orch-io/orch/server/state"
	"github.com/orch-io/orch/structs"
)

// FSM appliers of the drain and eligibility entries (entry version 4).

func (f *FSM) applyAllocDesiredTransition(a *entryApply, body []byte) error {
	var e AllocDesiredTransitionEntry
	if err := decodeEntry(MsgAllocDesiredTransition, body, &e); err != nil {
		return err
	}
	if err := a.txn.UpdateAllocsDesiredTransitions(e.Transitions); err != nil {
		return err
	}
	if len(e.Stop) > 0 {
		before := a.txn.Read()
		var stops []*structs.Allocation
		var freed []string
		for _, id := range slices.Sorted(maps.Keys(e.Stop)) {
			if old := before.AllocByID(id); old != nil && !old.TerminalStatus() {
				c := old.Copy()
				c.Job, c.DesiredStatus, c.DesiredDescription = nil, structs.AllocDesiredStatusStop, e.Stop[id]
				stops = append(stops, c)
				freed = append(freed, old.NodeID)
			}
		}
		if err := a.txn.UpsertPlanResults(nil, stops); err != nil {
			return err
		}
		if len(freed) > 0 {
			a.then(func() { f.unblockNodes(a.index, freed...) })
		}
	}
	if len(e.Evals) == 1 { // an alloc stop: its reply names the evaluation
		a.evalID = e.Evals[0].ID
	}
	return a.upsertEvals(e.Evals)
}

func (f *FSM) applyNodeEligibility(a *entryApply, body []byte) error {
	var e NodeEligibilityEntry
	if err := decodeEntry(MsgNodeEligibility, body, &e); err != nil {
		return err
	}
	if err := a.txn.UpdateNodeEligibility(e.NodeID, e.Eligibility, e.Event); err != nil {
		return err
	}
	if e.Eligibility == structs.NodeEligible { // capacity for blocked evaluations
		a.then(func() { f.unblockNodes(a.index, e.NodeID) })
	}
	return nil
}

func (f *FSM) applyNodeDrain(a *entryApply, body []byte) error {
	var e NodeDrainEntry
	if err := decodeEntry(MsgNodeDrain, body, &e); err != nil {
		return err
	}
	if err := a.txn.UpdateNodeDrain(e.NodeID, state.NodeDrainUpdate{Strategy: e.DrainStrategy, MarkEligible: e.MarkEligible,
		Complete: e.Complete, Event: e.Event, UpdatedAt: time.Unix(0, e.UpdatedAt), Meta: e.Meta}); err != nil {
		return err
	}
	if e.DrainStrategy == nil && e.MarkEligible {
		a.then(func() { f.unblockNodes(a.index, e.NodeID) })
	}
	return nil
}
