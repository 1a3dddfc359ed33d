package state

import (
	"maps"
	"reflect"

	"github.com/hashicorp/go-memdb"

	"github.com/orch-io/orch/structs"
)

// sharer makes the allocations one entry writes share what they have equal:
// strings with the objects they refer to (their node's ID and name, their
// job's ID, namespace and group name) and with each other (the evaluation
// that placed them, the nodes their placement scored, their task events),
// and equal resources and node counts with each other. A decoded Raft entry
// holds a copy of everything of every allocation; those copies were about
// 1 KB per allocation, and nothing reads them as separate values. It lives
// for one entry.
type sharer struct {
	txn     *memdb.Txn
	strings map[string]string
	nodes   map[string]*structs.Node // looked up, nil for none
	// The last node counts and resources seen: the allocations a plan
	// places for one group mostly have equal ones, and stored objects are
	// never modified, so equal ones can be one.
	nodesAvailable map[string]int
	resources      *structs.AllocatedResources
}

func newSharer(txn *memdb.Txn) *sharer {
	return &sharer{txn: txn, strings: map[string]string{}, nodes: map[string]*structs.Node{}}
}

// of returns the first string equal to s this sharer saw.
func (sh *sharer) of(s string) string {
	if s == "" {
		return s
	}
	if v, ok := sh.strings[s]; ok {
		return v
	}
	sh.strings[s] = s
	return s
}

// node returns the stored node with this ID (nil when there is none), looked
// up once per entry; its ID string is the one the entry's strings share.
func (sh *sharer) node(id string) *structs.Node {
	if n, ok := sh.nodes[id]; ok {
		return n
	}
	n := first[*structs.Node](sh.txn, TableNodes, "id", id)
	sh.nodes[id] = n
	if n != nil {
		sh.strings[n.ID] = n.ID
	}
	return n
}

// nodeID returns the stored node's own ID string for id (the first one seen
// when no node has it).
func (sh *sharer) nodeID(id string) string {
	if n := sh.node(id); n != nil {
		return n.ID
	}
	return sh.of(id)
}

// placed shares the strings of a new allocation.
func (sh *sharer) placed(a *structs.Allocation) {
	if j := a.Job; j != nil {
		if a.JobID == j.ID {
			a.JobID = j.ID
		}
		if a.Namespace == j.Namespace {
			a.Namespace = j.Namespace
		}
		if tg := j.LookupTaskGroup(a.TaskGroup); tg != nil {
			a.TaskGroup = tg.Name
		}
	}
	if n := sh.node(a.NodeID); n != nil {
		a.NodeID = n.ID
		if a.NodeName == n.Name {
			a.NodeName = n.Name
		}
	}
	a.EvalID = sh.of(a.EvalID)
	a.DeploymentID = sh.of(a.DeploymentID)
	a.RequestID = sh.of(a.RequestID)
	if m := a.Metrics; m != nil {
		for _, s := range m.ScoreMetaData {
			if s != nil {
				s.NodeID = sh.nodeID(s.NodeID)
			}
		}
		if m.NodesAvailable != nil && sh.nodesAvailable != nil && maps.Equal(m.NodesAvailable, sh.nodesAvailable) {
			m.NodesAvailable = sh.nodesAvailable
		} else if m.NodesAvailable != nil {
			sh.nodesAvailable = m.NodesAvailable
		}
	}
	if r := a.AllocatedResources; r != nil {
		if sh.resources != nil && reflect.DeepEqual(r, sh.resources) {
			a.AllocatedResources = sh.resources
		} else {
			sh.resources = r
		}
	}
}

// reported shares the strings of the task states a client reported.
func (sh *sharer) reported(states map[string]*structs.TaskState) {
	for _, ts := range states {
		if ts == nil {
			continue
		}
		ts.State = structs.TaskStateName(sh.of(string(ts.State)))
		for _, ev := range ts.Events {
			if ev == nil {
				continue
			}
			ev.Type = sh.of(ev.Type)
			ev.DisplayMessage = sh.of(ev.DisplayMessage)
		}
	}
}
