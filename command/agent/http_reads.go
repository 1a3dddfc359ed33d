package agent

import (
	"cmp"
	"net/http"
	"slices"

	"github.com/orch-io/orch/api"

	"github.com/orch-io/orch/structs"
)

// The read endpoints of nodes, allocations and evaluations. Each takes the
// query options of parseQueryOptions (blocking queries, ?stale, ?prefix= on
// lists) and answers the QueryMeta headers.

// nodeList is GET /v1/nodes[?prefix=] → Node.List.
func (s *HTTPServer) nodeList(r *http.Request) (any, error) {
	q, err := parseQueryOptions(r)
	if err != nil {
		return nil, err
	}
	var reply structs.NodeListResponse
	if err := s.backend.RPC(r.Context(), "Node.List", &structs.NodeListRequest{QueryOptions: q}, &reply); err != nil {
		return nil, err
	}
	return withMeta{body: nonNil(reply.Nodes), meta: reply.QueryMeta}, nil
}

// nodePools is GET /v1/node/pools: the pools of the registered nodes, with
// their node counts, from Node.List.
func (s *HTTPServer) nodePools(r *http.Request) (any, error) {
	q, err := parseQueryOptions(r)
	if err != nil {
		return nil, err
	}
	var reply structs.NodeListResponse
	if err := s.backend.RPC(r.Context(), "Node.List", &structs.NodeListRequest{QueryOptions: q}, &reply); err != nil {
		return nil, err
	}
	return withMeta{body: structs.NodePools(reply.Nodes), meta: reply.QueryMeta}, nil
}

// nodeGet is GET /v1/node/:id → Node.GetNode.
func (s *HTTPServer) nodeGet(r *http.Request) (any, error) {
	id, q, err := idAndQuery(r, "node")
	if err != nil {
		return nil, err
	}
	var reply structs.SingleNodeResponse
	if err := s.backend.RPC(r.Context(), "Node.GetNode", &structs.NodeSpecificRequest{NodeID: id, QueryOptions: q}, &reply); err != nil {
		return nil, err
	}
	if reply.Node == nil {
		return nil, notFound("node %q not found", id)
	}
	return withMeta{body: reply.Node, meta: reply.QueryMeta}, nil
}

// allocList is GET /v1/allocations[?prefix=] → Alloc.List.
func (s *HTTPServer) allocList(r *http.Request) (any, error) {
	q, err := parseQueryOptions(r)
	if err != nil {
		return nil, err
	}
	var reply structs.AllocListResponse
	if err := s.backend.RPC(r.Context(), "Alloc.List", &structs.AllocListRequest{QueryOptions: q}, &reply); err != nil {
		return nil, err
	}
	return withMeta{body: nonNil(reply.Allocations), meta: reply.QueryMeta}, nil
}

// allocGet is GET /v1/allocation/:id → Alloc.GetAlloc.
func (s *HTTPServer) allocGet(r *http.Request) (any, error) {
	id, q, err := idAndQuery(r, "allocation")
	if err != nil {
		return nil, err
	}
	var reply structs.SingleAllocResponse
	if err := s.backend.RPC(r.Context(), "Alloc.GetAlloc", &structs.AllocSpecificRequest{AllocID: id, QueryOptions: q}, &reply); err != nil {
		return nil, err
	}
	if reply.Alloc == nil {
		return nil, notFound("allocation %q not found", id)
	}
	return withMeta{body: reply.Alloc, meta: reply.QueryMeta}, nil
}

// evalList is GET /v1/evaluations[?prefix=] → Eval.List.
func (s *HTTPServer) evalList(r *http.Request) (any, error) {
	q, err := parseQueryOptions(r)
	if err != nil {
		return nil, err
	}
	var reply structs.EvalListResponse
	if err := s.backend.RPC(r.Context(), "Eval.List", &structs.EvalListRequest{QueryOptions: q}, &reply); err != nil {
		return nil, err
	}
	return withMeta{body: nonNil(reply.Evaluations), meta: reply.QueryMeta}, nil
}

// evalGet is GET /v1/evaluation/:id → Eval.GetEval.
func (s *HTTPServer) evalGet(r *http.Request) (any, error) {
	id, q, err := idAndQuery(r, "evaluation")
	if err != nil {
		return nil, err
	}
	var reply structs.SingleEvalResponse
	if err := s.backend.RPC(r.Context(), "Eval.GetEval", &structs.EvalSpecificRequest{EvalID: id, QueryOptions: q}, &reply); err != nil {
		return nil, err
	}
	if reply.Eval == nil {
		return nil, notFound("evaluation %q not found", id)
	}
	related, err := queryBool(r, "related")
	if err != nil || !related {
		return withMeta{body: reply.Eval, meta: reply.QueryMeta}, err
	}
	out := api.EvalFromStructs(reply.Eval)
	if out.RelatedEvals, err = s.relatedEvals(r, reply.Eval); err != nil {
		return nil, err
	}
	return withMeta{body: out, meta: reply.QueryMeta}, nil
}

// maxRelatedEvals bounds the chain relatedEvals follows.
const maxRelatedEvals = 100

// relatedEvals follows ev's NextEval, PreviousEval and BlockedEval links,
// transitively, as Nomad's ?related=true: the chain's evaluations other
// than ev, oldest first. A link to an evaluation garbage-collected since is
// skipped.
func (s *HTTPServer) relatedEvals(r *http.Request, ev *structs.Evaluation) ([]*api.EvaluationStub, error) {
	seen := map[string]bool{ev.ID: true}
	queue := []*structs.Evaluation{ev}
	var out []*api.EvaluationStub
	for len(queue) > 0 && len(seen) <= maxRelatedEvals {
		cur := queue[0]
		queue = queue[1:]
		for _, id := range []string{cur.NextEval, cur.PreviousEval, cur.BlockedEval} {
			if id == "" || seen[id] {
				continue
			}
			seen[id] = true
			var reply structs.SingleEvalResponse
			if err := s.backend.RPC(r.Context(), "Eval.GetEval", &structs.EvalSpecificRequest{EvalID: id, QueryOptions: structs.QueryOptions{AllowStale: true}}, &reply); err != nil {
				return nil, err
			}
			if reply.Eval == nil {
				continue
			}
			queue = append(queue, reply.Eval)
			out = append(out, api.EvalStubFromWire(api.EvalFromStructs(reply.Eval)))
		}
	}
	slices.SortFunc(out, func(a, b *api.EvaluationStub) int { return cmp.Compare(a.CreateIndex, b.CreateIndex) })
	return out, nil
}

// nodeAllocations is GET /v1/node/:id/allocations → Node.Allocations: the
// node's allocations, whole (with their jobs), as in Nomad.
func (s *HTTPServer) nodeAllocations(r *http.Request) (any, error) {
	id, q, err := idAndQuery(r, "node")
	if err != nil {
		return nil, err
	}
	var reply structs.NodeAllocsResponse
	if err := s.backend.RPC(r.Context(), "Node.Allocations", &structs.NodeSpecificRequest{NodeID: id, QueryOptions: q}, &reply); err != nil {
		return nil, err
	}
	return withMeta{body: nonNil(reply.Allocs), meta: reply.QueryMeta}, nil
}

// evalAllocations is GET /v1/evaluation/:id/allocations → Eval.Allocations.
func (s *HTTPServer) evalAllocations(r *http.Request) (any, error) {
	id, q, err := idAndQuery(r, "evaluation")
	if err != nil {
		return nil, err
	}
	var reply structs.JobAllocationsResponse
	if err := s.backend.RPC(r.Context(), "Eval.Allocations", &structs.EvalSpecificRequest{EvalID: id, QueryOptions: q}, &reply); err != nil {
		return nil, err
	}
	return withMeta{body: nonNil(reply.Allocations), meta: reply.QueryMeta}, nil
}
