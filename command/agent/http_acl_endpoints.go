package agent

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/orch-io/orch/jobspec"
	"github.com/orch-io/orch/structs"
)

// The ACL endpoints, Nomad's paths and shapes: /v1/acl/bootstrap,
// /v1/acl/policies, /v1/acl/policy/{name}, /v1/acl/tokens, /v1/acl/token,
// /v1/acl/token/{id}, /v1/acl/token/self, /v1/acl/roles, /v1/acl/role,
// /v1/acl/role/{id}, /v1/acl/role/name/{name}. Who may call them: routeRules.

// maxACLBody bounds an ACL request body (a policy's rules are at most 64 KiB).
const maxACLBody = 128 << 10

func (s *HTTPServer) registerACLRoutes() {
	for _, r := range []struct {
		pattern string
		handler func(*http.Request) (any, error)
	}{
		{"PUT /v1/acl/bootstrap", s.aclBootstrap},
		{"POST /v1/acl/bootstrap", s.aclBootstrap},
		{"GET /v1/acl/policies", s.aclPolicyList},
		{"GET /v1/acl/policy/{name}", s.aclPolicyGet},
		{"PUT /v1/acl/policy/{name}", s.aclPolicyPut},
		{"POST /v1/acl/policy/{name}", s.aclPolicyPut},
		{"DELETE /v1/acl/policy/{name}", s.aclPolicyDelete},
		{"GET /v1/acl/tokens", s.aclTokenList},
		{"PUT /v1/acl/token", s.aclTokenPut},
		{"POST /v1/acl/token", s.aclTokenPut},
		{"GET /v1/acl/token/self", s.aclTokenSelf},
		{"GET /v1/acl/token/{id}", s.aclTokenGet},
		{"PUT /v1/acl/token/{id}", s.aclTokenPut},
		{"POST /v1/acl/token/{id}", s.aclTokenPut},
		{"DELETE /v1/acl/token/{id}", s.aclTokenDelete},
		{"GET /v1/acl/roles", s.aclRoleList},
		{"PUT /v1/acl/role", s.aclRolePut},
		{"POST /v1/acl/role", s.aclRolePut},
		{"GET /v1/acl/role/name/{name}", s.aclRoleGetByName},
		{"GET /v1/acl/role/{id}", s.aclRoleGet},
		{"PUT /v1/acl/role/{id}", s.aclRolePut},
		{"POST /v1/acl/role/{id}", s.aclRolePut},
		{"DELETE /v1/acl/role/{id}", s.aclRoleDelete},
	} {
		s.mux.Handle(r.pattern, s.wrap(r.handler))
	}
}

// readACLBody reads a strict JSON body into out; an empty body leaves it.
func readACLBody(r *http.Request, out any) error {
	raw, err := io.ReadAll(io.LimitReader(r.Body, maxACLBody+1))
	if err != nil {
		return badRequest("reading the request body: %v", err)
	}
	if len(raw) > maxACLBody {
		return badRequest("request body larger than %d bytes", maxACLBody)
	}
	if strings.TrimSpace(string(raw)) == "" {
		return nil
	}
	if err := jobspec.DecodeJSON(raw, out); err != nil {
		return badRequest("invalid request body: %v", err)
	}
	return nil
}

func (s *HTTPServer) aclBootstrap(r *http.Request) (any, error) {
	var body struct{ BootstrapSecret string }
	if err := readACLBody(r, &body); err != nil {
		return nil, err
	}
	var reply structs.ACLTokenUpsertResponse
	req := &structs.ACLTokenBootstrapRequest{BootstrapSecret: body.BootstrapSecret, WriteRequest: writeRequest(r)}
	if err := s.backend.RPC(r.Context(), "ACL.Bootstrap", req, &reply); err != nil {
		return nil, err
	}
	return reply.Tokens[0], nil
}

func (s *HTTPServer) aclPolicyList(r *http.Request) (any, error) {
	q, err := parseQueryOptions(r)
	if err != nil {
		return nil, err
	}
	var reply structs.ACLPolicyListResponse
	if err := s.backend.RPC(r.Context(), "ACL.ListPolicies", &structs.GenericRequest{QueryOptions: q}, &reply); err != nil {
		return nil, err
	}
	return withMeta{body: nonNil(reply.Policies), meta: reply.QueryMeta}, nil
}

func (s *HTTPServer) aclPolicyGet(r *http.Request) (any, error) {
	q, err := parseQueryOptions(r)
	if err != nil {
		return nil, err
	}
	name := r.PathValue("name")
	var reply structs.SingleACLPolicyResponse
	if err := s.backend.RPC(r.Context(), "ACL.GetPolicy", &structs.ACLPolicySpecificRequest{Name: name, QueryOptions: q}, &reply); err != nil {
		return nil, err
	}
	if reply.Policy == nil {
		return nil, notFound("ACL policy %q not found", name)
	}
	return withMeta{body: reply.Policy, meta: reply.QueryMeta}, nil
}

func (s *HTTPServer) aclPolicyPut(r *http.Request) (any, error) {
	var p struct {
		Name, Description, Rules string
		CreateIndex, ModifyIndex uint64
		JobACL                   any // Nomad's workload-identity binding: not supported
	}
	if err := readACLBody(r, &p); err != nil {
		return nil, err
	}
	name := r.PathValue("name")
	if p.Name != "" && p.Name != name {
		return nil, badRequest("policy Name %q differs from the name in the path %q", p.Name, name)
	}
	if p.JobACL != nil {
		return nil, badRequest("policy JobACL: binding policies to jobs is not supported")
	}
	req := &structs.ACLPolicyUpsertRequest{
		Policies:     []*structs.ACLPolicy{{Name: name, Description: p.Description, Rules: p.Rules}},
		WriteRequest: writeRequest(r),
	}
	var reply structs.GenericResponse
	if err := s.backend.RPC(r.Context(), "ACL.UpsertPolicies", req, &reply); err != nil {
		return nil, err
	}
	return map[string]uint64{"Index": reply.Index}, nil
}

func (s *HTTPServer) aclPolicyDelete(r *http.Request) (any, error) {
	req := &structs.ACLPolicyDeleteRequest{Names: []string{r.PathValue("name")}, WriteRequest: writeRequest(r)}
	var reply structs.GenericResponse
	if err := s.backend.RPC(r.Context(), "ACL.DeletePolicies", req, &reply); err != nil {
		return nil, err
	}
	return map[string]uint64{"Index": reply.Index}, nil
}

func (s *HTTPServer) aclTokenList(r *http.Request) (any, error) {
	q, err := parseQueryOptions(r)
	if err != nil {
		return nil, err
	}
	var reply structs.ACLTokenListResponse
	if err := s.backend.RPC(r.Context(), "ACL.ListTokens", &structs.GenericRequest{QueryOptions: q}, &reply); err != nil {
		return nil, err
	}
	return withMeta{body: nonNil(reply.Tokens), meta: reply.QueryMeta}, nil
}

func (s *HTTPServer) aclTokenGet(r *http.Request) (any, error) {
	id, q, err := idAndQuery(r, "token accessor")
	if err != nil {
		return nil, err
	}
	var reply structs.SingleACLTokenResponse
	if err := s.backend.RPC(r.Context(), "ACL.GetToken", &structs.ACLTokenSpecificRequest{AccessorID: id, QueryOptions: q}, &reply); err != nil {
		return nil, err
	}
	if reply.Token == nil {
		return nil, notFound("ACL token %s not found", id)
	}
	return withMeta{body: reply.Token, meta: reply.QueryMeta}, nil
}

func (s *HTTPServer) aclTokenSelf(r *http.Request) (any, error) {
	q, err := parseQueryOptions(r)
	if err != nil {
		return nil, err
	}
	var reply structs.SingleACLTokenResponse
	if err := s.backend.RPC(r.Context(), "ACL.GetTokenSelf", &structs.GenericRequest{QueryOptions: q}, &reply); err != nil {
		return nil, err
	}
	return withMeta{body: reply.Token, meta: reply.QueryMeta}, nil
}

// aclTokenBody is a token as Nomad's clients send it: ExpirationTTL as a
// duration string ("1h") or nanoseconds; Roles links by ID or name; the
// server-set fields are ignored.
type aclTokenBody struct {
	AccessorID, SecretID, Name, Type string
	Policies                         []string
	Roles                            []*structs.ACLTokenRoleLink
	Global                           bool
	ExpirationTTL                    json.RawMessage
	ExpirationTime                   *time.Time
	CreateTime                       *time.Time
	CreateIndex, ModifyIndex         uint64
	Hash                             []byte
}

func (b *aclTokenBody) ttl() (time.Duration, error) {
	raw := strings.TrimSpace(string(b.ExpirationTTL))
	if raw == "" || raw == "null" || raw == `""` {
		return 0, nil
	}
	var str string
	if json.Unmarshal(b.ExpirationTTL, &str) == nil {
		d, err := time.ParseDuration(str)
		if err != nil {
			return 0, fmt.Errorf("token ExpirationTTL = %q: must be a duration such as \"1h\"", str)
		}
		return d, nil
	}
	var ns int64
	if err := json.Unmarshal(b.ExpirationTTL, &ns); err != nil {
		return 0, fmt.Errorf("token ExpirationTTL = %s: must be a duration string or nanoseconds", raw)
	}
	return time.Duration(ns), nil
}

// aclTokenPut creates (POST /v1/acl/token) or updates (POST
// /v1/acl/token/{id}) a token; the answer is the token with its secret.
func (s *HTTPServer) aclTokenPut(r *http.Request) (any, error) {
	var b aclTokenBody
	if err := readACLBody(r, &b); err != nil {
		return nil, err
	}
	ttl, err := b.ttl()
	if err != nil {
		return nil, badRequest("%v", err)
	}
	id := r.PathValue("id")
	if id != "" && b.AccessorID != "" && b.AccessorID != id {
		return nil, badRequest("token AccessorID %q differs from the ID in the path %q", b.AccessorID, id)
	}
	tok := &structs.ACLToken{AccessorID: id, Name: b.Name, Type: b.Type, Policies: b.Policies, Roles: b.Roles,
		Global: b.Global, ExpirationTTL: ttl}
	if tok.Type == "" {
		tok.Type = structs.ACLClientToken
	}
	var reply structs.ACLTokenUpsertResponse
	req := &structs.ACLTokenUpsertRequest{Tokens: []*structs.ACLToken{tok}, WriteRequest: writeRequest(r)}
	if err := s.backend.RPC(r.Context(), "ACL.UpsertTokens", req, &reply); err != nil {
		return nil, err
	}
	if len(reply.Tokens) == 0 {
		return nil, notFound("ACL token %s not found", id)
	}
	return reply.Tokens[0], nil
}

func (s *HTTPServer) aclTokenDelete(r *http.Request) (any, error) {
	id, err := pathID(r, "token accessor")
	if err != nil {
		return nil, err
	}
	req := &structs.ACLTokenDeleteRequest{AccessorIDs: []string{id}, WriteRequest: writeRequest(r)}
	var reply structs.GenericResponse
	if err := s.backend.RPC(r.Context(), "ACL.DeleteTokens", req, &reply); err != nil {
		return nil, err
	}
	return map[string]uint64{"Index": reply.Index}, nil
}

func (s *HTTPServer) aclRoleList(r *http.Request) (any, error) {
	q, err := parseQueryOptions(r)
	if err != nil {
		return nil, err
	}
	var reply structs.ACLRoleListResponse
	if err := s.backend.RPC(r.Context(), "ACL.ListRoles", &structs.GenericRequest{QueryOptions: q}, &reply); err != nil {
		return nil, err
	}
	return withMeta{body: nonNil(reply.Roles), meta: reply.QueryMeta}, nil
}

func (s *HTTPServer) aclRoleGet(r *http.Request) (any, error) {
	id, q, err := idAndQuery(r, "role")
	if err != nil {
		return nil, err
	}
	return s.aclRoleRead(r, &structs.ACLRoleSpecificRequest{ID: id, QueryOptions: q}, "ACL role "+id)
}

func (s *HTTPServer) aclRoleGetByName(r *http.Request) (any, error) {
	q, err := parseQueryOptions(r)
	if err != nil {
		return nil, err
	}
	name := r.PathValue("name")
	if err := structs.ValidateACLName("role", name); err != nil {
		return nil, badRequest("%v", err)
	}
	return s.aclRoleRead(r, &structs.ACLRoleSpecificRequest{Name: name, QueryOptions: q}, fmt.Sprintf("ACL role %q", name))
}

func (s *HTTPServer) aclRoleRead(r *http.Request, req *structs.ACLRoleSpecificRequest, what string) (any, error) {
	var reply structs.SingleACLRoleResponse
	if err := s.backend.RPC(r.Context(), "ACL.GetRole", req, &reply); err != nil {
		return nil, err
	}
	if reply.Role == nil {
		return nil, notFound("%s not found", what)
	}
	return withMeta{body: reply.Role, meta: reply.QueryMeta}, nil
}

// aclRolePut creates (POST /v1/acl/role) or updates (POST /v1/acl/role/{id})
// a role; the answer is the role as stored.
func (s *HTTPServer) aclRolePut(r *http.Request) (any, error) {
	var b struct {
		ID, Name, Description    string
		Policies                 []*structs.ACLRolePolicyLink
		CreateIndex, ModifyIndex uint64
	}
	if err := readACLBody(r, &b); err != nil {
		return nil, err
	}
	id := r.PathValue("id")
	switch {
	case id == "" && b.ID != "":
		return nil, badRequest("role ID %q: a new role gets its ID from the servers; update a role at /v1/acl/role/%s", b.ID, b.ID)
	case id != "" && b.ID != "" && b.ID != id:
		return nil, badRequest("role ID %q differs from the ID in the path %q", b.ID, id)
	}
	req := &structs.ACLRoleUpsertRequest{
		Roles:        []*structs.ACLRole{{ID: id, Name: b.Name, Description: b.Description, Policies: b.Policies}},
		WriteRequest: writeRequest(r),
	}
	var reply structs.ACLRoleUpsertResponse
	if err := s.backend.RPC(r.Context(), "ACL.UpsertRoles", req, &reply); err != nil {
		return nil, err
	}
	if len(reply.Roles) == 0 {
		return nil, notFound("ACL role %s not found", id)
	}
	return reply.Roles[0], nil
}

func (s *HTTPServer) aclRoleDelete(r *http.Request) (any, error) {
	id, err := pathID(r, "role")
	if err != nil {
		return nil, err
	}
	req := &structs.ACLRoleDeleteRequest{IDs: []string{id}, WriteRequest: writeRequest(r)}
	var reply structs.GenericResponse
	if err := s.backend.RPC(r.Context(), "ACL.DeleteRoles", req, &reply); err != nil {
		return nil, err
	}
	return map[string]uint64{"Index": reply.Index}, nil
}
