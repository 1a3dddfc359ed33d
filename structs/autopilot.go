package structs

// RaftStatsResponse is the reply of Status.RaftStats: where this server's
// own Raft log and FSM stand. The leader's autopilot asks each non-voter for
// it to tell whether the server has caught up before promoting it. It is
// always answered by the server asked, never forwarded.
type RaftStatsResponse struct {
	// ServerID is the Raft ID of the server that answered.
	ServerID string
	// LastIndex is the index of the last entry in its Raft log (or
	// snapshot); AppliedIndex the last one its FSM applied.
	LastIndex    uint64
	AppliedIndex uint64
	// Leader is the RPC address of the leader it follows, "" when none.
	Leader string
}
