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
func (e *evalEndpoint) GetEval(args *structs.EvalSpecificRequest, reply *structs.SingleEvalResponse) error {
	if done, err := e.srv.forward("Eval.GetEval", args, reply); done {
		return err
	}
	return e.srv.blockingQuery(context.TODO(), &args.QueryOptions, &reply.QueryMeta, func(snap *state.Snapshot) (uint64, error) { // TODO(#7): the RPC's ctx
		reply.Eval = snap.EvalByID(args.EvalID)
		return snap.IndexUnwatched(state.TableEvals), nil
	})
}

// List returns the evaluations whose ID starts with Prefix.
func (e *evalEndpoint) List(args *structs.EvalListRequest, reply *structs.EvalListResponse) error {
	if done, err := e.srv.forward("Eval.List", args, reply); done {
		return err
	}
	return e.srv.blockingQuery(context.TODO(), &args.QueryOptions, &reply.QueryMeta, func(snap *state.Snapshot) (uint64, error) { // TODO(#7): the RPC's ctx
		reply.Evaluations = snap.Evals(args.Prefix)
		return snap.IndexUnwatched(state.TableEvals), nil
	})
}
