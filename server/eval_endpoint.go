package server

import (
	"context"
	"github.com/orch-io/orch/server/state"
	"github.com/orch-io/orch/structs"
)

// evalEndpoint serves the "Eval" RPC methods (structs/rpc.go).
type evalEndpoint struct {
	srv *Server
}

// GetEval returns one evaluation, nil when it does not exist.
func (e *evalEndpoint) GetEval(ctx context.Context, args *structs.EvalSpecificRequest, reply *structs.SingleEvalResponse) error {
	if done, err := e.srv.forward(ctx, "Eval.GetEval", args, reply); done {
		return err
	}
	return e.srv.blockingQuery(ctx, &args.QueryOptions, &reply.QueryMeta, func(snap *state.Snapshot) (uint64, error) {
		reply.Eval = snap.EvalByID(args.EvalID)
		return snap.IndexUnwatched(state.TableEvals), nil
	})
}

// List returns the evaluations of the request's namespace (every namespace
// with "*") whose ID starts with Prefix.
func (e *evalEndpoint) List(ctx context.Context, args *structs.EvalListRequest, reply *structs.EvalListResponse) error {
	if done, err := e.srv.forward(ctx, "Eval.List", args, reply); done {
		return err
	}
	return e.srv.namespacedQuery(ctx, &args.QueryOptions, &reply.QueryMeta, func(snap *state.Snapshot, ns string) (uint64, error) {
		reply.Evaluations = filterNamespace(snap.Evals(args.Prefix), ns, func(e *structs.Evaluation) string { return e.Namespace })
		return snap.IndexUnwatched(state.TableEvals), nil
	})
}

// Allocations returns the summaries of the allocations an evaluation placed
// or changed.
func (e *evalEndpoint) Allocations(ctx context.Context, args *structs.EvalSpecificRequest, reply *structs.JobAllocationsResponse) error {
	if done, err := e.srv.forward(ctx, "Eval.Allocations", args, reply); done {
		return err
	}
	return e.srv.blockingQuery(ctx, &args.QueryOptions, &reply.QueryMeta, func(snap *state.Snapshot) (uint64, error) {
		reply.Allocations = stubs(snap.AllocsByEval(args.EvalID))
		return snap.IndexUnwatched(state.TableAllocs), nil
	})
}

// stubs summarises allocations for a list answer.
func stubs(allocs []*structs.Allocation) []*structs.AllocListStub {
	out := make([]*structs.AllocListStub, 0, len(allocs))
	for _, a := range allocs {
		out = append(out, a.Stub())
	}
	return out
}
