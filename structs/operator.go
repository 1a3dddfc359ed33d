package structs

// Operator RPCs for Raft membership and snapshots (see structs/rpc.go for the
// method list):
//
//	Operator.RaftGetConfiguration   GenericRequest → RaftConfigurationResponse
//	Operator.RaftRemovePeer         RaftRemovePeerRequest → GenericResponse
//	Operator.RaftTransferLeadership RaftTransferLeadershipRequest → GenericResponse
//	Operator.SnapshotSave           GenericRequest → SnapshotSaveResponse
//	Operator.SnapshotRestore        SnapshotRestoreRequest → GenericResponse

// RaftServer is one server of the Raft configuration, as
// `orch operator raft list-peers` shows it (Nomad's field names).
type RaftServer struct {
	ID           string // the server's Raft ID
	Node         string // its gossip node name, "" when gossip does not know it
	Address      string // its RPC (and Raft) address
	Leader       bool
	Voter        bool
	RaftProtocol string
}

// RaftConfigurationResponse is the Raft configuration: every server, and the
// index of the configuration entry.
type RaftConfigurationResponse struct {
	Servers []*RaftServer
	Index   uint64
}

// RaftTransferLeadershipRequest asks the leader to hand leadership over: to
// the server with ID, or (ID "") to the most up-to-date voter.
type RaftTransferLeadershipRequest struct {
	ID string
	WriteRequest
}

// SnapshotSaveResponse carries a whole snapshot file (see server/snapshot.go
// for its format).
type SnapshotSaveResponse struct {
	Snapshot []byte
	Index    uint64 // the Raft index the snapshot is at
}

// SnapshotRestoreRequest carries a snapshot file to restore on the whole
// cluster, through Raft.
type SnapshotRestoreRequest struct {
	Snapshot []byte
	WriteRequest
}
