package server

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/orch-io/orch/server/state"
	"github.com/orch-io/orch/structs"
)

// ACL roles (Nomad's model): a role is a named set of policies; a token
// holding a role holds its policies as they are when a request is
// authorized. Roles are written through Raft like policies; who may call
// these methods is in acl_rpc.go.

// UpsertRoles creates roles (no ID: the leader makes it) or replaces them
// (by ID). Every policy a role names must exist; a name taken by another
// role is a conflict.
func (e *aclEndpoint) UpsertRoles(ctx context.Context, args *structs.ACLRoleUpsertRequest, reply *structs.ACLRoleUpsertResponse) error {
	if done, err := e.srv.forward(ctx, "ACL.UpsertRoles", args, reply); done {
		return err
	}
	if !e.srv.config.ACLEnabled {
		return errACLDisabled()
	}
	if len(args.Roles) == 0 || len(args.Roles) > maxACLBatch {
		return structs.NewError(structs.CodeInvalid, "Roles: %d: must be 1 to %d", len(args.Roles), maxACLBatch)
	}
	snap := e.srv.state.Snapshot()
	var errs []error
	roles := make([]*structs.ACLRole, 0, len(args.Roles))
	names := map[string]bool{}
	for i, r := range args.Roles {
		if r == nil {
			errs = append(errs, fmt.Errorf("role %d of the request: missing", i))
			continue
		}
		if err := r.Validate(); err != nil {
			errs = append(errs, err)
			continue
		}
		if names[r.Name] {
			errs = append(errs, fmt.Errorf("role %q: named twice in the request", r.Name))
		}
		names[r.Name] = true
		for _, p := range r.PolicyNames() {
			if snap.ACLPolicyByName(p) == nil {
				errs = append(errs, fmt.Errorf("role %q: policy %q not found", r.Name, p))
			}
		}
		role := &structs.ACLRole{ID: r.ID, Name: r.Name, Description: r.Description}
		for _, p := range r.Policies {
			role.Policies = append(role.Policies, &structs.ACLRolePolicyLink{Name: p.Name})
		}
		if role.ID == "" {
			role.ID = structs.GenerateUUID()
		} else if snap.ACLRoleByID(role.ID) == nil {
			return structs.NewError(structs.CodeNotFound, "ACL role %s not found", role.ID)
		}
		if other := snap.ACLRoleByName(role.Name); other != nil && other.ID != role.ID {
			errs = append(errs, fmt.Errorf("role name %q: taken by role %s", role.Name, other.ID))
		}
		roles = append(roles, role)
	}
	if err := errors.Join(errs...); err != nil {
		return structs.NewError(structs.CodeInvalid, "%w", err)
	}
	out, err := e.srv.raftApplyWrite(ctx, MsgACLRoleUpsert, &ACLRoleUpsertEntry{Roles: roles}, args.RequestID)
	if err != nil {
		return err
	}
	after := e.srv.state.Snapshot()
	for _, r := range roles {
		if stored := after.ACLRoleByID(r.ID); stored != nil {
			reply.Roles = append(reply.Roles, stored)
		}
	}
	reply.Index = out.Index
	return nil
}

// DeleteRoles deletes roles by ID: tokens holding them lose their policies
// on each server as soon as it applies the delete.
func (e *aclEndpoint) DeleteRoles(ctx context.Context, args *structs.ACLRoleDeleteRequest, reply *structs.GenericResponse) error {
	if done, err := e.srv.forward(ctx, "ACL.DeleteRoles", args, reply); done {
		return err
	}
	if !e.srv.config.ACLEnabled {
		return errACLDisabled()
	}
	if len(args.IDs) == 0 || len(args.IDs) > maxACLBatch {
		return structs.NewError(structs.CodeInvalid, "IDs: %d: must be 1 to %d", len(args.IDs), maxACLBatch)
	}
	snap := e.srv.state.Snapshot()
	for _, id := range args.IDs {
		if snap.ACLRoleByID(id) == nil {
			return structs.NewError(structs.CodeNotFound, "ACL role %s not found", id)
		}
	}
	out, err := e.srv.raftApplyWrite(ctx, MsgACLRoleDelete, &ACLRoleDeleteEntry{IDs: args.IDs}, args.RequestID)
	if err != nil {
		return err
	}
	reply.Index = out.Index
	return nil
}

// ListRoles lists the roles whose ID starts with the request's Prefix.
func (e *aclEndpoint) ListRoles(ctx context.Context, args *structs.GenericRequest, reply *structs.ACLRoleListResponse) error {
	if done, err := e.srv.forward(ctx, "ACL.ListRoles", args, reply); done {
		return err
	}
	return e.srv.blockingQuery(ctx, &args.QueryOptions, &reply.QueryMeta, func(snap *state.Snapshot) (uint64, error) {
		reply.Roles = []*structs.ACLRole{}
		for _, r := range snap.ACLRoles() {
			if strings.HasPrefix(r.ID, args.Prefix) {
				reply.Roles = append(reply.Roles, r)
			}
		}
		return snap.IndexUnwatched(state.TableACLRoles), nil
	})
}

// GetRole reads one role by ID, or by name when the ID is empty (nil when
// not found).
func (e *aclEndpoint) GetRole(ctx context.Context, args *structs.ACLRoleSpecificRequest, reply *structs.SingleACLRoleResponse) error {
	if done, err := e.srv.forward(ctx, "ACL.GetRole", args, reply); done {
		return err
	}
	if args.ID == "" && args.Name == "" {
		return structs.NewError(structs.CodeInvalid, "ACL role: give an ID or a Name")
	}
	return e.srv.blockingQuery(ctx, &args.QueryOptions, &reply.QueryMeta, func(snap *state.Snapshot) (uint64, error) {
		if args.ID != "" {
			reply.Role = snap.ACLRoleByID(args.ID)
		} else {
			reply.Role = snap.ACLRoleByName(args.Name)
		}
		return snap.IndexUnwatched(state.TableACLRoles), nil
	})
}

// linkRoles checks a token's role links against snap and returns them
// complete (ID and name of the role as it is now); a link to no role is an
// error naming it.
func linkRoles(snap *state.Snapshot, links []*structs.ACLTokenRoleLink) ([]*structs.ACLTokenRoleLink, error) {
	var out []*structs.ACLTokenRoleLink
	var errs []error
	for _, l := range links {
		var r *structs.ACLRole
		if l.ID != "" {
			r = snap.ACLRoleByID(l.ID)
		} else {
			r = snap.ACLRoleByName(l.Name)
		}
		switch {
		case r == nil && l.ID != "":
			errs = append(errs, fmt.Errorf("token Roles: role ID %s not found", l.ID))
		case r == nil:
			errs = append(errs, fmt.Errorf("token Roles: role %q not found", l.Name))
		case l.ID != "" && l.Name != "" && l.Name != r.Name:
			errs = append(errs, fmt.Errorf("token Roles: role ID %s is named %q, not %q", l.ID, r.Name, l.Name))
		case slices.ContainsFunc(out, func(o *structs.ACLTokenRoleLink) bool { return o.ID == r.ID }):
			// the same role twice: once is enough
		default:
			out = append(out, &structs.ACLTokenRoleLink{ID: r.ID, Name: r.Name})
		}
	}
	return out, errors.Join(errs...)
}

// tokenPolicyNames returns the names of the policies a token holds: its own
// and those of the roles it links that exist in snap, each once.
func tokenPolicyNames(snap *state.Snapshot, tok *structs.ACLToken) []string {
	names := slices.Clone(tok.Policies)
	for _, l := range tok.Roles {
		if r := snap.ACLRoleByID(l.ID); r != nil {
			names = append(names, r.PolicyNames()...)
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

func (f *FSM) applyACLRoleUpsert(a *entryApply, body []byte) error {
	var e ACLRoleUpsertEntry
	if err := decodeEntry(MsgACLRoleUpsert, body, &e); err != nil {
		return err
	}
	return a.txn.UpsertACLRoles(e.Roles)
}

func (f *FSM) applyACLRoleDelete(a *entryApply, body []byte) error {
	var e ACLRoleDeleteEntry
	if err := decodeEntry(MsgACLRoleDelete, body, &e); err != nil {
		return err
	}
	return a.txn.DeleteACLRoles(e.IDs)
}
