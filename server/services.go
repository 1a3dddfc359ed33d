package server

import (
	"context"

	"github.com/orch-io/orch/server/state"
	"github.com/orch-io/orch/structs"
)

// The built-in service registry (provider "nomad"): clients register the
// service instances of the allocations they run and remove them when those
// stop, in batches (one ServiceRegistrationsEntry per call); the state store
// removes the instances of allocations that became terminal and of nodes
// that went down in the entries that did it (server/state/services.go).

// ServiceRegistrationsEntry (entry version 4) upserts and deletes service
// instances in one entry: a client's batch, or one deletion asked through
// the API.
type ServiceRegistrationsEntry struct {
	Upserts   []*structs.ServiceRegistration
	DeleteIDs []string
}

func (f *FSM) applyServiceRegistrations(a *entryApply, body []byte) error {
	var e ServiceRegistrationsEntry
	if err := decodeEntry(MsgServiceRegistrations, body, &e); err != nil {
		return err
	}
	if err := a.txn.DeleteServiceRegistrations(e.DeleteIDs); err != nil {
		return err
	}
	dropped, err := a.txn.UpsertServiceRegistrations(e.Upserts)
	if dropped > 0 {
		f.logger.Debug("service registrations of terminal or unknown allocations dropped", "index", a.index, "count", dropped)
	}
	return err
}

// serviceEndpoint serves the "ServiceRegistration" RPC methods.
type serviceEndpoint struct {
	srv *Server
}

// Upsert registers and removes service instances of a client's allocations,
// in one Raft entry. Instances of allocations that are terminal (or unknown)
// are dropped by the FSM, so a late registration cannot outlive its
// allocation.
func (e *serviceEndpoint) Upsert(ctx context.Context, args *structs.ServiceRegistrationUpsertRequest, reply *structs.GenericResponse) error {
	if done, err := e.srv.forward(ctx, "ServiceRegistration.Upsert", args, reply); done {
		return err
	}
	if len(args.Services) == 0 && len(args.DeleteIDs) == 0 {
		return structs.NewError(structs.CodeInvalid, "service registration upsert: the request carries no services")
	}
	for i, r := range args.Services {
		if err := r.Validate(); err != nil {
			return structs.NewError(structs.CodeInvalid, "service registration upsert: services[%d]: %v", i, err)
		}
	}
	for i, id := range args.DeleteIDs {
		if id == "" {
			return structs.NewError(structs.CodeInvalid, "service registration upsert: delete_ids[%d] is empty", i)
		}
	}
	index, err := e.srv.raftApply(MsgServiceRegistrations, &ServiceRegistrationsEntry{Upserts: args.Services, DeleteIDs: args.DeleteIDs})
	if err != nil {
		return err
	}
	reply.Index = index
	return nil
}

// DeleteByID removes one instance of a service (`orch service delete NAME
// ID`); an instance of another service, or none, is a not-found error.
func (e *serviceEndpoint) DeleteByID(ctx context.Context, args *structs.ServiceRegistrationDeleteRequest, reply *structs.GenericResponse) error {
	if done, err := e.srv.forward(ctx, "ServiceRegistration.DeleteByID", args, reply); done {
		return err
	}
	r := e.srv.state.Snapshot().ServiceRegistrationByID(args.ID)
	if r == nil || r.ServiceName != args.ServiceName || (args.Namespace != "" && r.Namespace != args.Namespace) {
		return structs.NewError(structs.CodeNotFound, "service %q has no instance with ID %q", args.ServiceName, args.ID)
	}
	o, err := e.srv.raftApplyWrite(ctx, MsgServiceRegistrations, &ServiceRegistrationsEntry{DeleteIDs: []string{args.ID}}, args.RequestID)
	if err != nil {
		return err
	}
	reply.Index = o.Index
	return nil
}

// List lists the services of a namespace (every namespace for "*"), each
// with the union of its instances' tags.
func (e *serviceEndpoint) List(ctx context.Context, args *structs.ServiceRegistrationListRequest, reply *structs.ServiceRegistrationListResponse) error {
	if done, err := e.srv.forward(ctx, "ServiceRegistration.List", args, reply); done {
		return err
	}
	return e.srv.namespacedQuery(ctx, &args.QueryOptions, &reply.QueryMeta, func(snap *state.Snapshot, ns string) (uint64, error) {
		reply.Services = structs.ServiceList(snap.ServiceRegistrations(), ns)
		return snap.IndexUnwatched(state.TableServiceRegistrations), nil
	})
}

// GetService returns the instances of one service of a namespace.
func (e *serviceEndpoint) GetService(ctx context.Context, args *structs.ServiceRegistrationByNameRequest, reply *structs.ServiceRegistrationByNameResponse) error {
	if done, err := e.srv.forward(ctx, "ServiceRegistration.GetService", args, reply); done {
		return err
	}
	return e.srv.namespacedQuery(ctx, &args.QueryOptions, &reply.QueryMeta, func(snap *state.Snapshot, ns string) (uint64, error) {
		reply.Services = snap.ServiceRegistrationsByName(ns, args.ServiceName)
		return snap.IndexUnwatched(state.TableServiceRegistrations), nil
	})
}

// AllocServices returns the instances of one allocation.
func (e *serviceEndpoint) AllocServices(ctx context.Context, args *structs.AllocSpecificRequest, reply *structs.ServiceRegistrationByNameResponse) error {
	if done, err := e.srv.forward(ctx, "ServiceRegistration.AllocServices", args, reply); done {
		return err
	}
	return e.srv.blockingQuery(ctx, &args.QueryOptions, &reply.QueryMeta, func(snap *state.Snapshot) (uint64, error) {
		reply.Services = snap.ServiceRegistrationsByAlloc(args.AllocID)
		return snap.IndexUnwatched(state.TableServiceRegistrations), nil
	})
}
