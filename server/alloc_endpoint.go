package server

import (
	"context"
	"github.com/orch-io/orch/server/state"
	"github.com/orch-io/orch/structs"
)

// allocEndpoint serves the "Alloc" RPC methods (structs/rpc.go).
type allocEndpoint struct {
	srv *Server
}

// GetAlloc returns one allocation, with its job; nil when it does not exist.
func (a *allocEndpoint) GetAlloc(ctx context.Context, args *structs.AllocSpecificRequest, reply *structs.SingleAllocResponse) error {
	if done, err := a.srv.forward(ctx, "Alloc.GetAlloc", args, reply); done {
		return err
	}
	return a.srv.blockingQuery(ctx, &args.QueryOptions, &reply.QueryMeta, func(snap *state.Snapshot) (uint64, error) {
		reply.Alloc = snap.AllocByID(args.AllocID)
		return snap.IndexUnwatched(state.TableAllocs), nil
	})
}

// List returns the summaries of the allocations whose ID starts with Prefix.
func (a *allocEndpoint) List(ctx context.Context, args *structs.AllocListRequest, reply *structs.AllocListResponse) error {
	if done, err := a.srv.forward(ctx, "Alloc.List", args, reply); done {
		return err
	}
	return a.srv.blockingQuery(ctx, &args.QueryOptions, &reply.QueryMeta, func(snap *state.Snapshot) (uint64, error) {
		allocs := snap.Allocs(args.Prefix)
		reply.Allocations = make([]*structs.AllocListStub, 0, len(allocs))
		for _, alloc := range allocs {
			reply.Allocations = append(reply.Allocations, alloc.Stub())
		}
		return snap.IndexUnwatched(state.TableAllocs), nil
	})
}
