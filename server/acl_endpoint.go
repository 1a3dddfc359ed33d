package server

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/orch-io/orch/acl"
	"github.com/orch-io/orch/server/state"
	"github.com/orch-io/orch/structs"
)

// aclEndpoint serves the "ACL" RPC methods (structs/acl.go): bootstrap,
// policies and tokens. Who may call which is in acl_rpc.go.
type aclEndpoint struct {
	srv *Server
}

// ACLBootstrapResetFile is the file, in <data_dir>/server, an operator
// writes the reset index into to allow one more bootstrap (Nomad's
// procedure when the management token is lost).
const ACLBootstrapResetFile = "acl-bootstrap-reset"

// maxACLBatch bounds the objects of one ACL write.
const maxACLBatch = 256

func errACLDisabled() error {
	return structs.NewError(structs.CodeInvalid, "ACL support disabled: set acl { enabled = true } in the configuration of every agent")
}

// Bootstrap creates the first management token, once. After that it fails,
// naming the reset index, unless <data_dir>/server/acl-bootstrap-reset on
// the leader holds that index.
func (e *aclEndpoint) Bootstrap(ctx context.Context, args *structs.ACLTokenBootstrapRequest, reply *structs.ACLTokenUpsertResponse) error {
	if done, err := e.srv.forward(ctx, "ACL.Bootstrap", args, reply); done {
		return err
	}
	if !e.srv.config.ACLEnabled {
		return errACLDisabled()
	}
	current := e.srv.state.Snapshot().ACLBootstrapIndex()
	reset := uint64(0)
	if current != 0 {
		path := filepath.Join(e.srv.config.DataDir, "server", ACLBootstrapResetFile)
		raw, err := os.ReadFile(path)
		if err != nil {
			return structs.NewError(structs.CodeInvalid,
				"ACL bootstrap already done (reset index: %d); to bootstrap again, write %d into %s on the leader", current, current, path)
		}
		n, err := strconv.ParseUint(strings.TrimSpace(string(raw)), 10, 64)
		if err != nil || n != current {
			return structs.NewError(structs.CodeInvalid,
				"ACL bootstrap already done (reset index: %d); %s holds %q, not the reset index %d", current, path, strings.TrimSpace(string(raw)), current)
		}
		reset = current
	}
	secret := args.BootstrapSecret
	if secret == "" {
		secret = structs.GenerateUUID()
	} else if !isUUID(secret) {
		return structs.NewError(structs.CodeInvalid, "BootstrapSecret %q: must be a UUID", secret)
	}
	tok := &structs.ACLToken{AccessorID: structs.GenerateUUID(), SecretID: secret, Name: "Bootstrap Token",
		Type: structs.ACLManagementToken, Global: true, CreateTime: time.Now().UTC()}
	out, err := e.srv.raftApplyWrite(ctx, MsgACLBootstrap, &ACLBootstrapEntry{Token: tok, ResetIndex: reset}, args.RequestID)
	if err != nil {
		return err
	}
	stored := e.srv.state.Snapshot().ACLTokenByAccessor(tok.AccessorID)
	if stored == nil {
		return structs.NewError(structs.CodeInternal, "ACL bootstrap at index %d: the token is not in the state", out.Index)
	}
	reply.Tokens, reply.Index = []*structs.ACLToken{stored}, out.Index
	e.srv.logger.Info("ACL bootstrapped", "accessor_id", tok.AccessorID, "index", out.Index, "reset", reset != 0)
	return nil
}

func isUUID(s string) bool {
	return len(s) == 36 && strings.Count(s, "-") == 4 && strings.Trim(strings.ReplaceAll(s, "-", ""), "0123456789abcdefABCDEF") == ""
}

// UpsertPolicies validates and stores policies: every rule must parse.
func (e *aclEndpoint) UpsertPolicies(ctx context.Context, args *structs.ACLPolicyUpsertRequest, reply *structs.GenericResponse) error {
	if done, err := e.srv.forward(ctx, "ACL.UpsertPolicies", args, reply); done {
		return err
	}
	if !e.srv.config.ACLEnabled {
		return errACLDisabled()
	}
	if len(args.Policies) == 0 || len(args.Policies) > maxACLBatch {
		return structs.NewError(structs.CodeInvalid, "Policies: %d: must be 1 to %d", len(args.Policies), maxACLBatch)
	}
	var errs []error
	policies := make([]*structs.ACLPolicy, 0, len(args.Policies))
	for i, p := range args.Policies {
		if p == nil {
			errs = append(errs, fmt.Errorf("policy %d of the request: missing", i))
			continue
		}
		if err := p.Validate(); err != nil {
			errs = append(errs, err)
		}
		if _, err := acl.Parse(p.Name, p.Rules); err != nil {
			errs = append(errs, fmt.Errorf("policy %q: Rules: %w", p.Name, err))
		}
		policies = append(policies, &structs.ACLPolicy{Name: p.Name, Description: p.Description, Rules: p.Rules})
	}
	if err := errors.Join(errs...); err != nil {
		return structs.NewError(structs.CodeInvalid, "%w", err)
	}
	out, err := e.srv.raftApplyWrite(ctx, MsgACLPolicyUpsert, &ACLPolicyUpsertEntry{Policies: policies}, args.RequestID)
	if err != nil {
		return err
	}
	reply.Index = out.Index
	return nil
}

// DeletePolicies deletes policies; tokens naming them keep the name, which
// grants nothing until a policy of that name exists again.
func (e *aclEndpoint) DeletePolicies(ctx context.Context, args *structs.ACLPolicyDeleteRequest, reply *structs.GenericResponse) error {
	if done, err := e.srv.forward(ctx, "ACL.DeletePolicies", args, reply); done {
		return err
	}
	if !e.srv.config.ACLEnabled {
		return errACLDisabled()
	}
	if len(args.Names) == 0 || len(args.Names) > maxACLBatch {
		return structs.NewError(structs.CodeInvalid, "Names: %d: must be 1 to %d", len(args.Names), maxACLBatch)
	}
	snap := e.srv.state.Snapshot()
	for _, n := range args.Names {
		if snap.ACLPolicyByName(n) == nil {
			return structs.NewError(structs.CodeNotFound, "ACL policy %q not found", n)
		}
	}
	out, err := e.srv.raftApplyWrite(ctx, MsgACLPolicyDelete, &ACLPolicyDeleteEntry{Names: args.Names}, args.RequestID)
	if err != nil {
		return err
	}
	reply.Index = out.Index
	return nil
}

// ListPolicies lists the policies without their rules.
func (e *aclEndpoint) ListPolicies(ctx context.Context, args *structs.GenericRequest, reply *structs.ACLPolicyListResponse) error {
	if done, err := e.srv.forward(ctx, "ACL.ListPolicies", args, reply); done {
		return err
	}
	return e.srv.blockingQuery(ctx, &args.QueryOptions, &reply.QueryMeta, func(snap *state.Snapshot) (uint64, error) {
		reply.Policies = []*structs.ACLPolicyListStub{}
		for _, p := range snap.ACLPolicies() {
			reply.Policies = append(reply.Policies, p.Stub())
		}
		return snap.IndexUnwatched(state.TableACLPolicies), nil
	})
}

// GetPolicy reads one policy (nil when not found).
func (e *aclEndpoint) GetPolicy(ctx context.Context, args *structs.ACLPolicySpecificRequest, reply *structs.SingleACLPolicyResponse) error {
	if done, err := e.srv.forward(ctx, "ACL.GetPolicy", args, reply); done {
		return err
	}
	return e.srv.blockingQuery(ctx, &args.QueryOptions, &reply.QueryMeta, func(snap *state.Snapshot) (uint64, error) {
		reply.Policy = snap.ACLPolicyByName(args.Name)
		return snap.IndexUnwatched(state.TableACLPolicies), nil
	})
}

// UpsertTokens creates tokens (no AccessorID: the leader makes the IDs, the
// secret and the times) or updates them (name, type, policies; the secret,
// creation and expiry stay).
func (e *aclEndpoint) UpsertTokens(ctx context.Context, args *structs.ACLTokenUpsertRequest, reply *structs.ACLTokenUpsertResponse) error {
	if done, err := e.srv.forward(ctx, "ACL.UpsertTokens", args, reply); done {
		return err
	}
	if !e.srv.config.ACLEnabled {
		return errACLDisabled()
	}
	if len(args.Tokens) == 0 || len(args.Tokens) > maxACLBatch {
		return structs.NewError(structs.CodeInvalid, "Tokens: %d: must be 1 to %d", len(args.Tokens), maxACLBatch)
	}
	snap := e.srv.state.Snapshot()
	now := time.Now().UTC()
	var errs []error
	tokens := make([]*structs.ACLToken, 0, len(args.Tokens))
	for i, t := range args.Tokens {
		if t == nil {
			errs = append(errs, fmt.Errorf("token %d of the request: missing", i))
			continue
		}
		if err := t.Validate(); err != nil {
			errs = append(errs, err)
			continue
		}
		roles, err := linkRoles(snap, t.Roles)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		tok := &structs.ACLToken{Name: t.Name, Type: t.Type, Policies: t.Policies, Roles: roles, Global: t.Global}
		if t.AccessorID == "" {
			tok.AccessorID, tok.SecretID, tok.CreateTime = structs.GenerateUUID(), structs.GenerateUUID(), now
			if t.ExpirationTTL > 0 {
				exp := now.Add(t.ExpirationTTL)
				tok.ExpirationTTL, tok.ExpirationTime = t.ExpirationTTL, &exp
			}
		} else {
			old := snap.ACLTokenByAccessor(t.AccessorID)
			if old == nil {
				return structs.NewError(structs.CodeNotFound, "ACL token %s not found", t.AccessorID)
			}
			tok.AccessorID, tok.SecretID, tok.CreateTime = old.AccessorID, old.SecretID, old.CreateTime
			tok.ExpirationTTL, tok.ExpirationTime = old.ExpirationTTL, old.ExpirationTime
		}
		tokens = append(tokens, tok)
	}
	if err := errors.Join(errs...); err != nil {
		return structs.NewError(structs.CodeInvalid, "%w", err)
	}
	out, err := e.srv.raftApplyWrite(ctx, MsgACLTokenUpsert, &ACLTokenUpsertEntry{Tokens: tokens}, args.RequestID)
	if err != nil {
		return err
	}
	after := e.srv.state.Snapshot()
	for _, t := range tokens {
		if stored := after.ACLTokenByAccessor(t.AccessorID); stored != nil {
			reply.Tokens = append(reply.Tokens, stored)
		}
	}
	reply.Index = out.Index
	return nil
}

// DeleteTokens deletes tokens: they stop working on each server as soon as
// it applies the delete.
func (e *aclEndpoint) DeleteTokens(ctx context.Context, args *structs.ACLTokenDeleteRequest, reply *structs.GenericResponse) error {
	if done, err := e.srv.forward(ctx, "ACL.DeleteTokens", args, reply); done {
		return err
	}
	if !e.srv.config.ACLEnabled {
		return errACLDisabled()
	}
	if len(args.AccessorIDs) == 0 || len(args.AccessorIDs) > maxACLBatch {
		return structs.NewError(structs.CodeInvalid, "AccessorIDs: %d: must be 1 to %d", len(args.AccessorIDs), maxACLBatch)
	}
	snap := e.srv.state.Snapshot()
	for _, id := range args.AccessorIDs {
		if snap.ACLTokenByAccessor(id) == nil {
			return structs.NewError(structs.CodeNotFound, "ACL token %s not found", id)
		}
	}
	out, err := e.srv.raftApplyWrite(ctx, MsgACLTokenDelete, &ACLTokenDeleteEntry{AccessorIDs: args.AccessorIDs}, args.RequestID)
	if err != nil {
		return err
	}
	reply.Index = out.Index
	return nil
}

// ListTokens lists the tokens without their secrets.
func (e *aclEndpoint) ListTokens(ctx context.Context, args *structs.GenericRequest, reply *structs.ACLTokenListResponse) error {
	if done, err := e.srv.forward(ctx, "ACL.ListTokens", args, reply); done {
		return err
	}
	return e.srv.blockingQuery(ctx, &args.QueryOptions, &reply.QueryMeta, func(snap *state.Snapshot) (uint64, error) {
		reply.Tokens = []*structs.ACLTokenListStub{}
		for _, t := range snap.ACLTokens() {
			if strings.HasPrefix(t.AccessorID, args.Prefix) {
				reply.Tokens = append(reply.Tokens, t.Stub())
			}
		}
		return snap.IndexUnwatched(state.TableACLTokens), nil
	})
}

// GetToken reads one token by accessor ID (nil when not found).
func (e *aclEndpoint) GetToken(ctx context.Context, args *structs.ACLTokenSpecificRequest, reply *structs.SingleACLTokenResponse) error {
	if done, err := e.srv.forward(ctx, "ACL.GetToken", args, reply); done {
		return err
	}
	return e.srv.blockingQuery(ctx, &args.QueryOptions, &reply.QueryMeta, func(snap *state.Snapshot) (uint64, error) {
		reply.Token = snap.ACLTokenByAccessor(args.AccessorID)
		return snap.IndexUnwatched(state.TableACLTokens), nil
	})
}

// GetTokenSelf reads the caller's own token.
func (e *aclEndpoint) GetTokenSelf(ctx context.Context, args *structs.GenericRequest, reply *structs.SingleACLTokenResponse) error {
	if !e.srv.config.ACLEnabled {
		return errACLDisabled()
	}
	tok := e.srv.state.Snapshot().ACLTokenBySecret(args.AuthToken)
	if tok == nil {
		return errTokenNotFound()
	}
	reply.Token = tok
	reply.Index = tok.ModifyIndex
	return nil
}

// ResolveToken answers an agent authorizing an HTTP request: whether ACLs
// are on and, if so, the caller's token (without its secret) and policies.
// Answered from this server's state (agents resolve with the servers they
// reach; a token this server has not learned yet is not found).
func (e *aclEndpoint) ResolveToken(_ context.Context, args *structs.GenericRequest, reply *structs.ResolveACLTokenResponse) error {
	if !e.srv.config.ACLEnabled {
		return nil
	}
	reply.Enabled = true
	snap := e.srv.state.Snapshot()
	if _, err := e.srv.resolveToken(snap, args.AuthToken); err != nil {
		return err
	}
	names := []string{structs.AnonymousPolicy}
	if args.AuthToken != "" {
		tok := *snap.ACLTokenBySecret(args.AuthToken)
		tok.SecretID = ""
		reply.Token, names = &tok, tokenPolicyNames(snap, &tok)
	}
	for _, n := range names {
		if p := snap.ACLPolicyByName(n); p != nil {
			reply.Policies = append(reply.Policies, p)
		}
	}
	reply.Index = snap.ACLIndex()
	return nil
}

func (f *FSM) applyACLPolicyUpsert(a *entryApply, body []byte) error {
	var e ACLPolicyUpsertEntry
	if err := decodeEntry(MsgACLPolicyUpsert, body, &e); err != nil {
		return err
	}
	return a.txn.UpsertACLPolicies(e.Policies)
}

func (f *FSM) applyACLPolicyDelete(a *entryApply, body []byte) error {
	var e ACLPolicyDeleteEntry
	if err := decodeEntry(MsgACLPolicyDelete, body, &e); err != nil {
		return err
	}
	return a.txn.DeleteACLPolicies(e.Names)
}

func (f *FSM) applyACLTokenUpsert(a *entryApply, body []byte) error {
	var e ACLTokenUpsertEntry
	if err := decodeEntry(MsgACLTokenUpsert, body, &e); err != nil {
		return err
	}
	return a.txn.UpsertACLTokens(e.Tokens)
}

func (f *FSM) applyACLTokenDelete(a *entryApply, body []byte) error {
	var e ACLTokenDeleteEntry
	if err := decodeEntry(MsgACLTokenDelete, body, &e); err != nil {
		return err
	}
	return a.txn.DeleteACLTokens(e.AccessorIDs)
}

func (f *FSM) applyACLBootstrap(a *entryApply, body []byte) error {
	var e ACLBootstrapEntry
	if err := decodeEntry(MsgACLBootstrap, body, &e); err != nil {
		return err
	}
	if e.Token == nil {
		return fmt.Errorf("server: ACLBootstrap entry at index %d lacks its token", a.index)
	}
	return a.txn.BootstrapACL(e.Token, e.ResetIndex)
}
