package server

// unblockNodes tells the blocked evals that capacity may have appeared at
// index on the given nodes (ready, or with allocations that became terminal):
// once per computed class among them, so that blocked evaluations that found
// a class infeasible stay blocked (broker.Blocked.Unblock). A node not in the
// state, or without a computed class, unblocks every class.
func (f *FSM) unblockNodes(index uint64, nodeIDs ...string) {
	snap := f.state.Snapshot()
	seen := make(map[string]bool, 1)
	for _, id := range nodeIDs {
		class := ""
		if n := snap.NodeByID(id); n != nil {
			class = n.ComputedClass
		}
		if seen[class] {
			continue
		}
		seen[class] = true
		f.blocked.Unblock(class, index)
	}
}
