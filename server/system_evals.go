package server

import (
	"reflect"
	"time"

	"github.com/orch-io/orch/server/state"
	"github.com/orch-io/orch/structs"
)

// System and sysbatch jobs run on every node that can run them, so a node that
// joins, comes back, or changes what it offers must be looked at by each of
// them: the leader creates a node-update evaluation of every such job (as
// Nomad does), in the Raft entry that records the node's change. A node that
// goes down needs nothing more: markNodeDown already creates an evaluation of
// every job with allocations on it, system jobs included.

// isSystemType reports whether jobs of type t are placed per node.
func isSystemType(t structs.JobType) bool {
	return t == structs.JobTypeSystem || t == structs.JobTypeSysBatch
}

// systemJobEvals returns a pending node-update evaluation, for node nodeID, of
// every system and sysbatch job in snap that is not stopped.
func systemJobEvals(snap *state.Snapshot, nodeID string, now time.Time) []*structs.Evaluation {
	var evals []*structs.Evaluation
	for _, job := range snap.Jobs(structs.AllNamespaces, "") {
		if !isSystemType(job.Type) || job.Stopped() {
			continue
		}
		e := newJobEval(job, structs.EvalTriggerNodeUpdate, now.UnixNano())
		e.NodeID = nodeID
		evals = append(evals, e)
	}
	return evals
}

// nodeChangeNeedsSystemEvals reports whether a registration that turns old
// (nil when the node is new) into cur may change where system jobs run: the
// node is new, becomes ready, or changes anything feasibility looks at.
func nodeChangeNeedsSystemEvals(old, cur *structs.Node) bool {
	if !cur.Ready() {
		return false
	}
	if old == nil || !old.Ready() {
		return true
	}
	return old.Datacenter != cur.Datacenter || old.NodeClass != cur.NodeClass ||
		!reflect.DeepEqual(old.Attributes, cur.Attributes) || !reflect.DeepEqual(old.Meta, cur.Meta) ||
		!reflect.DeepEqual(old.NodeResources, cur.NodeResources) ||
		!reflect.DeepEqual(old.ReservedResources, cur.ReservedResources) || !sameDriverHealth(old.Drivers, cur.Drivers)
}

// sameDriverHealth compares which drivers are detected and healthy, not when
// they were last fingerprinted.
func sameDriverHealth(a, b map[string]*structs.DriverInfo) bool {
	if len(a) != len(b) {
		return false
	}
	for name, da := range a {
		db, ok := b[name]
		if !ok || (da == nil) != (db == nil) {
			return false
		}
		if da != nil && (da.Detected != db.Detected || da.Healthy != db.Healthy) {
			return false
		}
	}
	return true
}
