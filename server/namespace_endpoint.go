package server

import (
	"context"
	"errors"
	"fmt"

	"github.com/orch-io/orch/server/state"
	"github.com/orch-io/orch/structs"
)

// Namespaces (structs/namespace.go): the "Namespace" RPC methods, and what
// every namespaced endpoint (jobs, allocations, evaluations, deployments,
// services) uses to honour a request's namespace.

// maxNamespaceBatch bounds the namespaces of one write.
const maxNamespaceBatch = 64

// namespaceEndpoint serves the "Namespace" RPC methods.
type namespaceEndpoint struct {
	srv *Server
}

// requireNamespace refuses a request for a namespace that does not exist
// (CodeNotFound, naming it).
func requireNamespace(snap *state.Snapshot, ns string) error {
	if snap.NamespaceByName(ns) != nil {
		return nil
	}
	return structs.NewError(structs.CodeNotFound, "namespace %q not found (list them with `orch namespace list`)", ns)
}

// namespacedQuery is blockingQuery for the reads of a namespace: query gets
// the request's namespace ("default" when it names none; "*" passes
// through), and a namespace that does not exist fails the read.
func (s *Server) namespacedQuery(ctx context.Context, opts *structs.QueryOptions, meta *structs.QueryMeta, query func(snap *state.Snapshot, ns string) (uint64, error)) error {
	ns := structs.NamespaceOr(opts.Namespace)
	return s.blockingQuery(ctx, opts, meta, func(snap *state.Snapshot) (uint64, error) {
		if ns != structs.AllNamespaces {
			if err := requireNamespace(snap, ns); err != nil {
				return 0, err
			}
		}
		return query(snap, ns)
	})
}

// listsNamespace reports whether an object of namespace objNS belongs to a
// list of the request's namespace ns ("*": every one).
func listsNamespace(ns, objNS string) bool {
	return ns == structs.AllNamespaces || structs.NamespaceOr(objNS) == ns
}

// filterNamespace keeps the items of a list in namespace ns ("*": all).
func filterNamespace[T any](items []T, ns string, nsOf func(T) string) []T {
	if ns == structs.AllNamespaces {
		return items
	}
	out := items[:0]
	for _, it := range items {
		if listsNamespace(ns, nsOf(it)) {
			out = append(out, it)
		}
	}
	return out
}

// checkRegion refuses a request for another region than the server's: orch
// runs one region per cluster and has no federation to forward it to. An
// empty region, and Nomad's "global" (its clients' default), are the
// server's.
func (s *Server) checkRegion(args any) error {
	info, ok := args.(interface{ RequestRegion() string })
	if !ok {
		return nil
	}
	r := info.RequestRegion()
	if r == "" || r == s.config.Region || r == "global" {
		return nil
	}
	return structs.NewError(structs.CodeInvalid, "region %q: no path to region: this cluster serves region %q only", r, s.config.Region)
}

// checkJobRegion gives a job without a region, or in "global", the server's
// region and refuses one of another region.
func (s *Server) checkJobRegion(job *structs.Job) error {
	switch job.Region {
	case "", "global":
		job.Region = s.config.Region
		return nil
	case s.config.Region:
		return nil
	}
	return structs.NewError(structs.CodeInvalid, "%sregion = %q: no path to region: this cluster serves region %q only", ErrInvalidJobPrefix, job.Region, s.config.Region)
}

// UpsertNamespaces creates namespaces or replaces their description and
// meta.
func (e *namespaceEndpoint) UpsertNamespaces(ctx context.Context, args *structs.NamespaceUpsertRequest, reply *structs.GenericResponse) error {
	if done, err := e.srv.forward(ctx, "Namespace.UpsertNamespaces", args, reply); done {
		return err
	}
	if len(args.Namespaces) == 0 || len(args.Namespaces) > maxNamespaceBatch {
		return structs.NewError(structs.CodeInvalid, "Namespaces: %d: must be 1 to %d", len(args.Namespaces), maxNamespaceBatch)
	}
	var errs []error
	nss := make([]*structs.Namespace, 0, len(args.Namespaces))
	for i, ns := range args.Namespaces {
		if ns == nil {
			errs = append(errs, fmt.Errorf("namespace %d of the request: missing", i))
			continue
		}
		if err := ns.Validate(); err != nil {
			errs = append(errs, err)
		}
		nss = append(nss, &structs.Namespace{Name: ns.Name, Description: ns.Description, Meta: ns.Meta})
	}
	if err := errors.Join(errs...); err != nil {
		return structs.NewError(structs.CodeInvalid, "%w", err)
	}
	out, err := e.srv.raftApplyWrite(ctx, MsgNamespaceUpsert, &NamespaceUpsertEntry{Namespaces: nss}, args.RequestID)
	if err != nil {
		return err
	}
	reply.Index = out.Index
	return nil
}

// DeleteNamespaces deletes namespaces: never "default", and none that still
// has a job that is not dead (the FSM decides, in the entry's transaction).
func (e *namespaceEndpoint) DeleteNamespaces(ctx context.Context, args *structs.NamespaceDeleteRequest, reply *structs.GenericResponse) error {
	if done, err := e.srv.forward(ctx, "Namespace.DeleteNamespaces", args, reply); done {
		return err
	}
	if len(args.Namespaces) == 0 || len(args.Namespaces) > maxNamespaceBatch {
		return structs.NewError(structs.CodeInvalid, "Namespaces: %d: must be 1 to %d", len(args.Namespaces), maxNamespaceBatch)
	}
	// A fast answer; the FSM checks again in the transaction.
	if err := e.srv.state.Snapshot().CheckNamespacesDeletable(args.Namespaces); err != nil {
		return err
	}
	out, err := e.srv.raftApplyWrite(ctx, MsgNamespaceDelete, &NamespaceDeleteEntry{Namespaces: args.Namespaces}, args.RequestID)
	if err != nil {
		return err
	}
	reply.Index = out.Index
	return nil
}

// ListNamespaces lists the namespaces (Prefix filters by name).
func (e *namespaceEndpoint) ListNamespaces(ctx context.Context, args *structs.NamespaceListRequest, reply *structs.NamespaceListResponse) error {
	if done, err := e.srv.forward(ctx, "Namespace.ListNamespaces", args, reply); done {
		return err
	}
	return e.srv.blockingQuery(ctx, &args.QueryOptions, &reply.QueryMeta, func(snap *state.Snapshot) (uint64, error) {
		reply.Namespaces = snap.Namespaces(args.Prefix)
		return snap.IndexUnwatched(state.TableNamespaces), nil
	})
}

// GetNamespace reads one namespace (nil when it does not exist).
func (e *namespaceEndpoint) GetNamespace(ctx context.Context, args *structs.NamespaceSpecificRequest, reply *structs.SingleNamespaceResponse) error {
	if done, err := e.srv.forward(ctx, "Namespace.GetNamespace", args, reply); done {
		return err
	}
	return e.srv.blockingQuery(ctx, &args.QueryOptions, &reply.QueryMeta, func(snap *state.Snapshot) (uint64, error) {
		reply.Namespace = snap.NamespaceByName(args.Name)
		return snap.IndexUnwatched(state.TableNamespaces), nil
	})
}

func (f *FSM) applyNamespaceUpsert(a *entryApply, body []byte) error {
	var e NamespaceUpsertEntry
	if err := decodeEntry(MsgNamespaceUpsert, body, &e); err != nil {
		return err
	}
	return a.txn.UpsertNamespaces(e.Namespaces)
}

func (f *FSM) applyNamespaceDelete(a *entryApply, body []byte) error {
	var e NamespaceDeleteEntry
	if err := decodeEntry(MsgNamespaceDelete, body, &e); err != nil {
		return err
	}
	return a.txn.DeleteNamespaces(e.Namespaces)
}
