package structs

import (
	"errors"
	"fmt"
	"time"
)

// ACL objects (Nomad's shapes and JSON field names): policies, tokens, and
// the RPC requests of the "ACL" service. Servers keep them in the replicated
// state; see package acl for the policy language and the checks.
//
// RPC methods (argument → reply):
//
//	ACL.Bootstrap      ACLTokenBootstrapRequest → ACLTokenUpsertResponse (once, or after a reset)
//	ACL.UpsertPolicies ACLPolicyUpsertRequest   → GenericResponse
//	ACL.DeletePolicies ACLPolicyDeleteRequest   → GenericResponse
//	ACL.ListPolicies   GenericRequest           → ACLPolicyListResponse
//	ACL.GetPolicy      ACLPolicySpecificRequest → SingleACLPolicyResponse
//	ACL.UpsertTokens   ACLTokenUpsertRequest    → ACLTokenUpsertResponse
//	ACL.DeleteTokens   ACLTokenDeleteRequest    → GenericResponse
//	ACL.ListTokens     GenericRequest           → ACLTokenListResponse
//	ACL.GetToken       ACLTokenSpecificRequest  → SingleACLTokenResponse
//	ACL.GetTokenSelf   GenericRequest           → SingleACLTokenResponse (the caller's AuthToken)
//	ACL.ResolveToken   GenericRequest           → ResolveACLTokenResponse (the caller's AuthToken, with its policies)
//	ACL.UpsertRoles    ACLRoleUpsertRequest     → ACLRoleUpsertResponse
//	ACL.DeleteRoles    ACLRoleDeleteRequest     → GenericResponse
//	ACL.ListRoles      GenericRequest           → ACLRoleListResponse
//	ACL.GetRole        ACLRoleSpecificRequest   → SingleACLRoleResponse (by ID, or by Name when ID is empty)

// Token types.
const (
	ACLClientToken     = "client"
	ACLManagementToken = "management"
)

// AnonymousPolicy is the name of the policy that applies to requests
// without a token, when it exists (none: anonymous requests may do nothing).
const AnonymousPolicy = "anonymous"

// Bounds of what ACL objects may hold: they live in the replicated state.
const (
	maxACLNameLen        = 128
	maxACLDescriptionLen = 256
	maxACLTokenPolicies  = 64
	maxACLTokenRoles     = 64
)

// ACLPolicy is a named policy: Rules is its source in the policy language.
type ACLPolicy struct {
	Name        string
	Description string
	Rules       string
	CreateIndex uint64
	ModifyIndex uint64
}

// ACLPolicyListStub is a policy in a list: without its rules.
type ACLPolicyListStub struct {
	Name        string
	Description string
	CreateIndex uint64
	ModifyIndex uint64
}

// Stub returns the policy's list form.
func (p *ACLPolicy) Stub() *ACLPolicyListStub {
	return &ACLPolicyListStub{Name: p.Name, Description: p.Description, CreateIndex: p.CreateIndex, ModifyIndex: p.ModifyIndex}
}

// ValidateACLName checks the name of a policy (what names it): letters, digits, '-' and '_', at most
// 128 bytes.
func ValidateACLName(what, name string) error {
	if name == "" || len(name) > maxACLNameLen {
		return fmt.Errorf("%s name %q: must be 1 to %d characters", what, name, maxACLNameLen)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return fmt.Errorf("%s name %q: character %q: must be letters, digits, '-' or '_'", what, name, r)
		}
	}
	return nil
}

// ACLToken is a credential: AccessorID names it (safe to show), SecretID is
// what a caller presents. A management token may do everything; a client
// token what its Policies grant.
type ACLToken struct {
	AccessorID string
	SecretID   string
	Name       string
	Type       string
	Policies   []string
	// Roles links the token to roles: it holds their policies too, as they
	// are when a request is authorized (a role changed or deleted later
	// changes what the token may do). The servers fill both fields of each
	// link from the role that exists when the token is written.
	Roles []*ACLTokenRoleLink
	// Global tokens are replicated to every region (orch runs one region:
	// every token is, and the flag is kept for Nomad's API).
	Global bool
	// ExpirationTTL, set at creation, makes the token expire that long after
	// it: the servers set ExpirationTime from it.
	ExpirationTTL  time.Duration `json:",omitempty"`
	ExpirationTime *time.Time    `json:",omitempty"`
	CreateTime     time.Time
	CreateIndex    uint64
	ModifyIndex    uint64
}

// Expired reports whether the token has expired at now.
func (t *ACLToken) Expired(now time.Time) bool {
	return t.ExpirationTime != nil && !now.Before(*t.ExpirationTime)
}

// ACLTokenListStub is a token in a list: without its secret.
type ACLTokenListStub struct {
	AccessorID     string
	Name           string
	Type           string
	Policies       []string
	Roles          []*ACLTokenRoleLink
	Global         bool
	ExpirationTime *time.Time `json:",omitempty"`
	CreateTime     time.Time
	CreateIndex    uint64
	ModifyIndex    uint64
}

// ACLTokenRoleLink names a role a token holds: by ID (what counts) and by
// name (for people).
type ACLTokenRoleLink struct {
	ID   string
	Name string
}

// Stub returns the token's list form.
func (t *ACLToken) Stub() *ACLTokenListStub {
	return &ACLTokenListStub{AccessorID: t.AccessorID, Name: t.Name, Type: t.Type, Policies: t.Policies,
		Roles: t.Roles, Global: t.Global, ExpirationTime: t.ExpirationTime, CreateTime: t.CreateTime,
		CreateIndex: t.CreateIndex, ModifyIndex: t.ModifyIndex}
}

// Validate checks what a caller may set on a token, all problems at once.
func (t *ACLToken) Validate() error {
	var errs []error
	if len(t.Name) > maxACLNameLen {
		errs = append(errs, fmt.Errorf("token Name: %d bytes: must be at most %d", len(t.Name), maxACLNameLen))
	}
	switch t.Type {
	case ACLClientToken:
		if len(t.Policies) == 0 && len(t.Roles) == 0 {
			errs = append(errs, errors.New(`token Type = "client": Policies = [], Roles = []: a client token needs at least one policy or role`))
		}
	case ACLManagementToken:
		if len(t.Policies) > 0 {
			errs = append(errs, fmt.Errorf(`token Type = "management": Policies = %q: a management token takes no policies`, t.Policies))
		}
		if len(t.Roles) > 0 {
			errs = append(errs, errors.New(`token Type = "management": Roles: a management token takes no roles`))
		}
	default:
		errs = append(errs, fmt.Errorf(`token Type = %q: must be "client" or "management"`, t.Type))
	}
	if len(t.Policies) > maxACLTokenPolicies {
		errs = append(errs, fmt.Errorf("token Policies: %d: must be at most %d", len(t.Policies), maxACLTokenPolicies))
	}
	for _, p := range t.Policies {
		if err := ValidateACLName("policy", p); err != nil {
			errs = append(errs, fmt.Errorf("token Policies: %w", err))
		}
	}
	if len(t.Roles) > maxACLTokenRoles {
		errs = append(errs, fmt.Errorf("token Roles: %d: must be at most %d", len(t.Roles), maxACLTokenRoles))
	}
	for i, r := range t.Roles {
		if r == nil || r.ID == "" && r.Name == "" {
			errs = append(errs, fmt.Errorf("token Roles[%d]: a role link needs an ID or a Name", i))
		}
	}
	if t.ExpirationTTL < 0 {
		errs = append(errs, fmt.Errorf("token ExpirationTTL = %s: must be >= 0", t.ExpirationTTL))
	}
	return errors.Join(errs...)
}

// Validate checks a policy's name and description (the rules are parsed by
// package acl, which the server calls).
func (p *ACLPolicy) Validate() error {
	var errs []error
	if err := ValidateACLName("policy", p.Name); err != nil {
		errs = append(errs, err)
	}
	if len(p.Description) > maxACLDescriptionLen {
		errs = append(errs, fmt.Errorf("policy %q: Description: %d bytes: must be at most %d", p.Name, len(p.Description), maxACLDescriptionLen))
	}
	return errors.Join(errs...)
}

// ACLTokenBootstrapRequest creates the first management token. ResetIndex
// is filled by the server from the acl-bootstrap-reset file.
type ACLTokenBootstrapRequest struct {
	// BootstrapSecret, when set, is the new token's secret ID (a UUID).
	BootstrapSecret string
	WriteRequest
}

// ACLPolicyUpsertRequest creates or replaces policies.
type ACLPolicyUpsertRequest struct {
	Policies []*ACLPolicy
	WriteRequest
}

// ACLPolicyDeleteRequest deletes policies by name.
type ACLPolicyDeleteRequest struct {
	Names []string
	WriteRequest
}

// ACLPolicySpecificRequest reads one policy.
type ACLPolicySpecificRequest struct {
	Name string
	QueryOptions
}

// ACLPolicyListResponse carries the policies, sorted by name.
type ACLPolicyListResponse struct {
	Policies []*ACLPolicyListStub
	QueryMeta
}

// SingleACLPolicyResponse carries one policy, nil when not found.
type SingleACLPolicyResponse struct {
	Policy *ACLPolicy
	QueryMeta
}

// ACLTokenUpsertRequest creates tokens (empty AccessorID) or updates them
// (their name, policies and type; the secret never changes).
type ACLTokenUpsertRequest struct {
	Tokens []*ACLToken
	WriteRequest
}

// ACLTokenUpsertResponse carries the tokens as stored, secrets included.
type ACLTokenUpsertResponse struct {
	Tokens []*ACLToken
	WriteMeta
}

// ACLTokenDeleteRequest deletes tokens by accessor ID.
type ACLTokenDeleteRequest struct {
	AccessorIDs []string
	WriteRequest
}

// ACLTokenSpecificRequest reads one token by accessor ID.
type ACLTokenSpecificRequest struct {
	AccessorID string
	QueryOptions
}

// ACLTokenListResponse carries the tokens, sorted by accessor ID.
type ACLTokenListResponse struct {
	Tokens []*ACLTokenListStub
	QueryMeta
}

// SingleACLTokenResponse carries one token, nil when not found.
type SingleACLTokenResponse struct {
	Token *ACLToken
	QueryMeta
}

// ResolveACLTokenResponse is what an agent needs to authorize the HTTP
// requests of a token: whether ACLs are enabled, the token (nil for
// anonymous; its secret removed) and its policies (the anonymous policy for
// anonymous).
type ResolveACLTokenResponse struct {
	Enabled  bool
	Token    *ACLToken
	Policies []*ACLPolicy
	QueryMeta
}

// ACLRole is a named set of policies that tokens hold by link: changing the
// role changes every token that holds it. ID is set by the servers; Name is
// unique.
type ACLRole struct {
	ID          string
	Name        string
	Description string
	Policies    []*ACLRolePolicyLink
	CreateIndex uint64
	ModifyIndex uint64
}

// ACLRolePolicyLink names a policy of a role.
type ACLRolePolicyLink struct {
	Name string
}

// PolicyNames returns the names of the role's policies.
func (r *ACLRole) PolicyNames() []string {
	names := make([]string, 0, len(r.Policies))
	for _, p := range r.Policies {
		if p != nil {
			names = append(names, p.Name)
		}
	}
	return names
}

// Validate checks what a caller may set on a role, all problems at once.
func (r *ACLRole) Validate() error {
	var errs []error
	if err := ValidateACLName("role", r.Name); err != nil {
		errs = append(errs, err)
	}
	if len(r.Description) > maxACLDescriptionLen {
		errs = append(errs, fmt.Errorf("role %q: Description: %d bytes: must be at most %d", r.Name, len(r.Description), maxACLDescriptionLen))
	}
	if len(r.Policies) == 0 {
		errs = append(errs, fmt.Errorf("role %q: Policies = []: a role needs at least one policy", r.Name))
	}
	if len(r.Policies) > maxACLTokenPolicies {
		errs = append(errs, fmt.Errorf("role %q: Policies: %d: must be at most %d", r.Name, len(r.Policies), maxACLTokenPolicies))
	}
	for i, p := range r.Policies {
		if p == nil {
			errs = append(errs, fmt.Errorf("role %q: Policies[%d]: missing", r.Name, i))
			continue
		}
		if err := ValidateACLName("policy", p.Name); err != nil {
			errs = append(errs, fmt.Errorf("role %q: Policies[%d]: %w", r.Name, i, err))
		}
	}
	return errors.Join(errs...)
}

// ACLRoleUpsertRequest creates roles (empty ID) or replaces them (by ID).
type ACLRoleUpsertRequest struct {
	Roles []*ACLRole
	WriteRequest
}

// ACLRoleUpsertResponse carries the roles as stored.
type ACLRoleUpsertResponse struct {
	Roles []*ACLRole
	WriteMeta
}

// ACLRoleDeleteRequest deletes roles by ID.
type ACLRoleDeleteRequest struct {
	IDs []string
	WriteRequest
}

// ACLRoleSpecificRequest reads one role by ID, or by Name when ID is empty.
type ACLRoleSpecificRequest struct {
	ID   string
	Name string
	QueryOptions
}

// ACLRoleListResponse carries the roles, sorted by ID.
type ACLRoleListResponse struct {
	Roles []*ACLRole
	QueryMeta
}

// SingleACLRoleResponse carries one role, nil when not found.
type SingleACLRoleResponse struct {
	Role *ACLRole
	QueryMeta
}
