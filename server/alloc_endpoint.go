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

// GetAllocs returns the allocations of the given IDs that exist, in the
// order asked, each job version once (AllocsGetResponse): what a client's
// alloc watch fetches after Node.GetClientAllocs told it which of its
// allocations are new or changed.
func (a *allocEndpoint) GetAllocs(ctx context.Context, args *structs.AllocsGetRequest, reply *structs.AllocsGetResponse) error {
	if done, err := a.srv.forward(ctx, "Alloc.GetAllocs", args, reply); done {
		return err
	}
	if n := len(args.AllocIDs); n > structs.MaxAllocsGet {
		return structs.NewError(structs.CodeInvalid, "alloc get allocs: %d allocation IDs: at most %d a call", n, structs.MaxAllocsGet)
	}
	return a.srv.blockingQuery(ctx, &args.QueryOptions, &reply.QueryMeta, func(snap *state.Snapshot) (uint64, error) {
		reply.Allocs = make([]*structs.Allocation, 0, len(args.AllocIDs))
		reply.JobRefs = make([]int, 0, len(args.AllocIDs))
		reply.Jobs = nil
		refs := map[jobVersion]int{}
		for _, id := range args.AllocIDs {
			alloc := snap.AllocByID(id)
			if alloc == nil {
				continue // garbage collected meanwhile: the next list will not name it
			}
			ref := -1
			if job := alloc.Job; job != nil {
				v := jobVersion{job.Namespace, job.ID, job.JobModifyIndex, job.Version}
				var ok bool
				if ref, ok = refs[v]; !ok {
					ref = len(reply.Jobs)
					refs[v] = ref
					reply.Jobs = append(reply.Jobs, job)
				}
			}
			// A shallow copy: the store's allocation keeps its job and its
			// placement metrics. A client has no use for the metrics (the
			// scored nodes are half of a placement's bytes); the HTTP API's
			// reads of an allocation carry them.
			c := *alloc
			c.Job, c.Metrics = nil, nil
			reply.Allocs = append(reply.Allocs, &c)
			reply.JobRefs = append(reply.JobRefs, ref)
		}
		return snap.IndexUnwatched(state.TableAllocs), nil
	})
}

// jobVersion names one version of a job: allocations of that version share it.
type jobVersion struct {
	namespace, id  string
	jobModifyIndex uint64
	version        uint64
}

// List returns the summaries of the allocations of the request's namespace
// (every namespace with "*") whose ID starts with Prefix.
func (a *allocEndpoint) List(ctx context.Context, args *structs.AllocListRequest, reply *structs.AllocListResponse) error {
	if done, err := a.srv.forward(ctx, "Alloc.List", args, reply); done {
		return err
	}
	return a.srv.namespacedQuery(ctx, &args.QueryOptions, &reply.QueryMeta, func(snap *state.Snapshot, ns string) (uint64, error) {
		allocs := filterNamespace(snap.Allocs(args.Prefix), ns, func(a *structs.Allocation) string { return a.Namespace })
		reply.Allocations = make([]*structs.AllocListStub, 0, len(allocs))
		for _, alloc := range allocs {
			reply.Allocations = append(reply.Allocations, alloc.Stub())
		}
		return snap.IndexUnwatched(state.TableAllocs), nil
	})
}
