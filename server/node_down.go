package server

import (
	"errors"
	"sync"
	"time"

	"github.com/orch-io/orch/server/state"
	"github.com/orch-io/orch/structs"
)

// Marking nodes down. Each node going down calls for an evaluation of every
// job with allocations on it. When many nodes go down together (a rack loses
// power, a batch of agents is killed, their connections close at once), one
// entry per node would create an evaluation per job per node: 50 nodes
// holding allocations of 40 jobs each make 2,000 evaluations, scheduled one
// after another, each committing its own plan. So the leader group-commits:
// while one entry is being committed, the nodes that go down meanwhile
// gather, and the next entry (NodesDownEntry) marks them all with one
// evaluation per job. The first node waits nodeDownGather for the others
// of its instant.

// nodeDownGather is how long the first node of a batch waits for others.
const nodeDownGather = 25 * time.Millisecond

// nodeDowns group-commits node downs (markNodeDown).
type nodeDowns struct {
	mu sync.Mutex
	// next gathers the nodes to mark in the next entry; committing is set
	// while a caller commits entries for the others.
	next       *nodeDownBatch
	committing bool
}

// nodeDownBatch is the nodes of one entry and, once done is closed, the
// entry's outcome.
type nodeDownBatch struct {
	nodes []nodeDown
	done  chan struct{}
	// marked holds the nodes the entry marked down, at index.
	marked map[string]bool
	index  uint64
	err    error
}

type nodeDown struct{ id, why string }

// markNodeDown records through Raft that a node is down, with a node-update
// evaluation for every job with non-terminal allocations on it, in the same
// entry as the other nodes going down meanwhile. It returns the entry's
// index, or 0 when the node is unknown or already down.
func (s *Server) markNodeDown(nodeID, why string) (uint64, error) {
	d := &s.nodeDowns
	d.mu.Lock()
	if d.next == nil {
		d.next = &nodeDownBatch{done: make(chan struct{})}
	}
	b := d.next
	b.nodes = append(b.nodes, nodeDown{nodeID, why})
	commit := !d.committing
	d.committing = true
	d.mu.Unlock()

	if commit {
		// Timers that run out together (the connections of a rack's agents
		// closed in the same instant) fire within milliseconds of each
		// other: gather them into the first entry too, or each job on the
		// first node would be evaluated twice.
		select {
		case <-time.After(nodeDownGather):
		case <-s.shutdownCtx.Done():
		}
		s.commitNodeDowns()
	}
	<-b.done
	if b.err != nil || !b.marked[nodeID] {
		return 0, b.err
	}
	return b.index, nil
}

// commitNodeDowns commits batches until none is waiting: the caller's own
// first, then those that gathered while it committed. One caller at a time
// runs it (nodeDowns.committing).
func (s *Server) commitNodeDowns() {
	d := &s.nodeDowns
	for {
		d.mu.Lock()
		cur := d.next
		d.next = nil
		d.committing = cur != nil
		d.mu.Unlock()
		if cur == nil {
			return
		}
		cur.marked, cur.index, cur.err = s.commitNodesDown(cur.nodes)
		close(cur.done)
	}
}

// commitNodesDown marks the nodes of batch that are known and not down yet
// down, in one entry: a NodeUpdateStatusEntry for one node, a NodesDownEntry
// for more, or one NodeUpdateStatusEntry each while a server of the cluster
// does not read NodesDownEntry (an upgrade under way).
func (s *Server) commitNodesDown(batch []nodeDown) (map[string]bool, uint64, error) {
	snap := s.state.Snapshot()
	marked := map[string]bool{}
	var downs []nodeDown // the nodes to mark, each once, in batch order
	var ids []string
	for _, d := range batch {
		node := snap.NodeByID(d.id)
		if node == nil || node.Status == structs.NodeStatusDown || marked[d.id] {
			continue
		}
		marked[d.id] = true
		downs = append(downs, d)
		ids = append(ids, d.id)
	}
	if len(downs) == 0 {
		return nil, 0, nil
	}
	now := s.config.Clock.Now()
	if len(downs) > 1 {
		entry := &NodesDownEntry{NodeIDs: ids, UpdatedAt: now.Unix(), Evals: nodeDownEvals(snap, ids, now)}
		index, err := s.raftApply(MsgNodesDown, entry)
		var lagging *EntryVersionError
		if !errors.As(err, &lagging) {
			if err != nil {
				return nil, 0, err
			}
			for _, d := range downs {
				s.logger.Info("node marked down", "node_id", d.id, "reason", d.why, "with_nodes", len(downs), "evals", len(entry.Evals), "index", index)
			}
			return marked, index, nil
		}
	}
	var last uint64
	for _, d := range downs {
		entry := &NodeUpdateStatusEntry{NodeID: d.id, Status: structs.NodeStatusDown, UpdatedAt: now.Unix(),
			Evals: nodeDownEvals(snap, []string{d.id}, now)}
		index, err := s.raftApply(MsgNodeUpdateStatus, entry)
		if err != nil {
			return marked, 0, err
		}
		s.logger.Info("node marked down", "node_id", d.id, "reason", d.why, "evals", len(entry.Evals), "index", index)
		last = index
	}
	return marked, last, nil
}

// nodeDownEvals returns one node-update evaluation for every job with
// non-terminal allocations on any of nodeIDs (NodeID: the first of them it
// was found on).
func nodeDownEvals(snap *state.Snapshot, nodeIDs []string, now time.Time) []*structs.Evaluation {
	var evals []*structs.Evaluation
	seen := map[structs.NamespacedID]bool{}
	for _, nodeID := range nodeIDs {
		for _, a := range snap.AllocsByNode(nodeID) {
			key := structs.NamespacedID{Namespace: structs.NamespaceOr(a.Namespace), ID: a.JobID}
			if a.TerminalStatus() || seen[key] {
				continue
			}
			seen[key] = true
			job := snap.JobByID(key.Namespace, key.ID)
			if job == nil {
				job = a.Job // purged: the eval still has to stop the allocation
			}
			if job == nil {
				continue
			}
			evals = append(evals, &structs.Evaluation{
				ID:          structs.GenerateUUID(),
				Namespace:   job.Namespace,
				Priority:    job.Priority,
				Type:        job.Type,
				TriggeredBy: structs.EvalTriggerNodeUpdate,
				JobID:       job.ID,
				NodeID:      nodeID,
				Status:      structs.EvalStatusPending,
				CreateTime:  now.UnixNano(),
				ModifyTime:  now.UnixNano(),
			})
		}
	}
	return evals
}
