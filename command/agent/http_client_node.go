package agent

import (
	"context"
	"net/http"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/internal/rpcwire"
	"github.com/orch-io/orch/structs"
)

// Client endpoints about a node as a whole, and an allocation's garbage
// collection (Nomad's paths):
//
//	GET|PUT /v1/client/gc[?node_id=]                 → ClientNode.GC (node:write)
//	GET|PUT /v1/client/allocation/:id/gc             → ClientAlloc.GC (submit-job)
//	GET     /v1/client/metadata[?node_id=]           → ClientNode.MetaRead (node:read)
//	POST    /v1/client/metadata {"NodeID", "Meta"}   → ClientNode.MetaApply (node:write)
//
// Without a node ID they are about this agent's own client. They travel as
// the other client calls do (Server.DialNode; the servers decide again).

func (s *HTTPServer) registerClientNodeRoutes() {
	for _, m := range []string{"GET", "PUT"} {
		s.mux.Handle(m+" /v1/client/gc", http.HandlerFunc(s.clientGC))
		s.mux.Handle(m+" /v1/client/allocation/{id}/gc", s.wrap(s.allocGC))
	}
	s.mux.Handle("GET /v1/client/metadata", s.wrap(s.nodeMetaRead))
	s.mux.Handle("POST /v1/client/metadata", s.wrap(s.nodeMetaApply))
}

// allocGC is GET|PUT /v1/client/allocation/:id/gc.
func (s *HTTPServer) allocGC(r *http.Request) (any, error) {
	var out structs.GenericResponse
	if err := s.clientUnary(r, structs.ClientAllocGC, func(id string) any { return &structs.AllocGCRequest{AllocID: id} }, &out); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

// clientGC is GET|PUT /v1/client/gc. It answers with an empty body, as
// Nomad's (whose Go client decodes none).
func (s *HTTPServer) clientGC(w http.ResponseWriter, r *http.Request) {
	var out structs.NodeGCResponse
	if err := s.nodeUnary(r.Context(), r, r.URL.Query().Get("node_id"), structs.ClientNodeGC, &structs.NodeGCRequest{}, &out); err != nil {
		s.writeRawError(w, r, err)
		return
	}
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
}

// nodeMetaRead is GET /v1/client/metadata.
func (s *HTTPServer) nodeMetaRead(r *http.Request) (any, error) {
	var out structs.NodeMetaResponse
	if err := s.nodeUnary(r.Context(), r, r.URL.Query().Get("node_id"), structs.ClientNodeMetaRead, &structs.NodeMetaReadRequest{}, &out); err != nil {
		return nil, err
	}
	return api.NodeMetaFromStructs(&out), nil
}

// nodeMetaApply is POST /v1/client/metadata.
func (s *HTTPServer) nodeMetaApply(r *http.Request) (any, error) {
	var body api.NodeMetaApplyRequest
	if err := decodeWireBody(r.Body, "node metadata", &body); err != nil {
		return nil, err
	}
	if len(body.Meta) == 0 {
		return nil, badRequest("node metadata: Meta: nothing to set or unset")
	}
	var out structs.NodeMetaResponse
	if err := s.nodeUnary(r.Context(), r, body.NodeID, structs.ClientNodeMetaApply, &structs.NodeMetaApplyRequest{Meta: body.Meta}, &out); err != nil {
		return nil, err
	}
	return api.NodeMetaFromStructs(&out), nil
}

// nodeUnary makes a node call whose answer is one frame, on nodeID's client
// ("": this agent's own).
func (s *HTTPServer) nodeUnary(ctx context.Context, r *http.Request, nodeID, method string, args, out any) error {
	dial, err := s.nodeCallDial(ctx, r, nodeID, method)
	if err != nil {
		return err
	}
	st, err := s.dialClientCall(ctx, dial, args)
	if err != nil {
		return err
	}
	defer st.Close()
	return recvOne(st, method, out)
}

func recvOne(st *rpcwire.Stream, method string, out any) error {
	if err := st.Recv(out); err != nil {
		return structs.NewError(structs.CodeInternal, "%s: reading the client's answer: %v", method, err)
	}
	return nil
}

// nodeCallDial finds the node (this agent's client when nodeID is empty),
// checks that the request may make method on it, and returns the dial.
func (s *HTTPServer) nodeCallDial(ctx context.Context, r *http.Request, nodeID, method string) (*structs.DialNodeRequest, error) {
	if nodeID == "" {
		h := s.backend.Health()
		if h.Client == nil || h.Client.NodeID == "" {
			return nil, badRequest("missing node_id: this agent runs no client to act on")
		}
		nodeID = h.Client.NodeID
	}
	// The agent calls need agent:read or agent:write and nothing else, as
	// Nomad's: their node is not looked up here with the caller's token
	// (which may lack node:read) but by the servers, whose Server.DialNode
	// answers not found for a node they do not know.
	agentCall := method == structs.ClientAgentMonitor || method == structs.ClientAgentProfile
	var reply structs.SingleNodeResponse
	if !agentCall {
		if err := s.backend.RPC(ctx, "Node.GetNode", &structs.NodeSpecificRequest{NodeID: nodeID}, &reply); err != nil {
			return nil, err
		}
		if reply.Node == nil {
			return nil, notFound("node %q not found", nodeID)
		}
	}
	if s.acl != nil {
		a, err := s.acl.resolve(ctx, s.backend, requestToken(r))
		if err != nil {
			return nil, err
		}
		allowed := a.AllowNodeWrite()
		switch method {
		case structs.ClientNodeMetaRead:
			allowed = a.AllowNodeRead()
		case structs.ClientAgentMonitor:
			allowed = a.AllowAgentRead()
		case structs.ClientAgentProfile:
			allowed = a.AllowAgentWrite()
		}
		if !allowed {
			return nil, structs.NewError(structs.CodePermissionDenied, "Permission denied")
		}
	}
	return &structs.DialNodeRequest{NodeID: nodeID, Method: method, AllocIndex: reply.Index, AuthToken: requestToken(r)}, nil
}
