package structs

// Client calls about a node rather than one allocation (structs/client_rpc.go
// lists the others), reached like them through Server.DialNode with no
// AllocID, and one about an allocation, its garbage collection:
//
//	ClientNode.GC        NodeGCRequest        → one NodeGCResponse
//	ClientNode.MetaRead  NodeMetaReadRequest  → one NodeMetaResponse
//	ClientNode.MetaApply NodeMetaApplyRequest → one NodeMetaResponse
//	ClientAlloc.GC       AllocGCRequest       → one GenericResponse
const (
	ClientNodeGC        = "ClientNode.GC"
	ClientNodeMetaRead  = "ClientNode.MetaRead"
	ClientNodeMetaApply = "ClientNode.MetaApply"
	ClientAllocGC       = "ClientAlloc.GC"
)

// NodeCall reports whether a client method is about the node as a whole
// (its DialNodeRequest names no allocation).
func NodeCall(method string) bool {
	switch method {
	case ClientNodeGC, ClientNodeMetaRead, ClientNodeMetaApply, ClientAgentMonitor, ClientAgentProfile:
		return true
	}
	return false
}

// NodeGCRequest asks a client to collect every terminal allocation now.
type NodeGCRequest struct{}

// NodeGCResponse names the allocations collected.
type NodeGCResponse struct {
	Collected []string
}

// AllocGCRequest asks a client to collect one terminal allocation now.
type AllocGCRequest struct {
	AllocID string
}

// NodeMetaReadRequest reads a node's metadata from its client.
type NodeMetaReadRequest struct{}

// NodeMetaApplyRequest changes a node's dynamic metadata (Nomad 1.5's
// dynamic node metadata): a key set to a value sets it, a key set to nil
// removes it (unsetting a key of the static metadata hides it).
type NodeMetaApplyRequest struct {
	Meta map[string]*string
}

// NodeMetaResponse is a node's metadata as Nomad answers it: Meta is the
// static (agent configuration) merged with the dynamic, Dynamic what was
// applied (nil values: unset), Static the agent configuration's.
type NodeMetaResponse struct {
	Meta    map[string]string
	Dynamic map[string]*string
	Static  map[string]string
}

func (r *NodeGCRequest) CallAllocID() string        { return "" }
func (r *NodeMetaReadRequest) CallAllocID() string  { return "" }
func (r *NodeMetaApplyRequest) CallAllocID() string { return "" }
func (r *AllocGCRequest) CallAllocID() string       { return r.AllocID }
