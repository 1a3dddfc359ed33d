package api

import (
	"net/http"

	"github.com/orch-io/orch/structs"
)

// ACL is the /v1/acl endpoints: bootstrap, policies and tokens.
type ACL struct{ c *Client }

// ACL returns the ACL endpoints.
func (c *Client) ACL() *ACL { return &ACL{c: c} }

// Bootstrap creates the first management token (once; see the README's
// "Securing a cluster" for the reset procedure).
func (a *ACL) Bootstrap() (*structs.ACLToken, error) {
	var out structs.ACLToken
	if err := a.c.write(http.MethodPost, "/v1/acl/bootstrap", nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// PolicyUpsert creates or replaces a policy.
func (a *ACL) PolicyUpsert(p *structs.ACLPolicy) error {
	path, err := idPath("/v1/acl/policy/", "policy", p.Name)
	if err != nil {
		return err
	}
	return a.c.write(http.MethodPost, path, nil, p, nil)
}

// PolicyDelete deletes a policy.
func (a *ACL) PolicyDelete(name string) error {
	path, err := idPath("/v1/acl/policy/", "policy", name)
	if err != nil {
		return err
	}
	return a.c.write(http.MethodDelete, path, nil, nil, nil)
}

// Policies lists the policies (without their rules).
func (a *ACL) Policies(q *QueryOptions) ([]*structs.ACLPolicyListStub, *QueryMeta, error) {
	var out []*structs.ACLPolicyListStub
	meta, err := a.c.query("/v1/acl/policies", q, &out)
	return out, meta, err
}

// PolicyInfo reads one policy.
func (a *ACL) PolicyInfo(name string, q *QueryOptions) (*structs.ACLPolicy, *QueryMeta, error) {
	path, err := idPath("/v1/acl/policy/", "policy", name)
	if err != nil {
		return nil, nil, err
	}
	var out structs.ACLPolicy
	meta, err := a.c.query(path, q, &out)
	if err != nil {
		return nil, nil, err
	}
	return &out, meta, nil
}

// TokenCreate creates a token; the answer carries its secret.
func (a *ACL) TokenCreate(t *structs.ACLToken) (*structs.ACLToken, error) {
	var out structs.ACLToken
	if err := a.c.write(http.MethodPost, "/v1/acl/token", nil, t, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// TokenUpdate changes a token's name, type and policies.
func (a *ACL) TokenUpdate(t *structs.ACLToken) (*structs.ACLToken, error) {
	path, err := idPath("/v1/acl/token/", "token accessor", t.AccessorID)
	if err != nil {
		return nil, err
	}
	var out structs.ACLToken
	if err := a.c.write(http.MethodPost, path, nil, t, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// TokenDelete deletes a token by accessor ID.
func (a *ACL) TokenDelete(accessorID string) error {
	path, err := idPath("/v1/acl/token/", "token accessor", accessorID)
	if err != nil {
		return err
	}
	return a.c.write(http.MethodDelete, path, nil, nil, nil)
}

// Tokens lists the tokens (without their secrets).
func (a *ACL) Tokens(q *QueryOptions) ([]*structs.ACLTokenListStub, *QueryMeta, error) {
	var out []*structs.ACLTokenListStub
	meta, err := a.c.query("/v1/acl/tokens", q, &out)
	return out, meta, err
}

// TokenInfo reads one token by accessor ID.
func (a *ACL) TokenInfo(accessorID string, q *QueryOptions) (*structs.ACLToken, *QueryMeta, error) {
	path, err := idPath("/v1/acl/token/", "token accessor", accessorID)
	if err != nil {
		return nil, nil, err
	}
	var out structs.ACLToken
	meta, err := a.c.query(path, q, &out)
	if err != nil {
		return nil, nil, err
	}
	return &out, meta, nil
}

// TokenSelf reads the client's own token.
func (a *ACL) TokenSelf(q *QueryOptions) (*structs.ACLToken, *QueryMeta, error) {
	var out structs.ACLToken
	meta, err := a.c.query("/v1/acl/token/self", q, &out)
	if err != nil {
		return nil, nil, err
	}
	return &out, meta, nil
}

// RoleCreate creates a role; the answer carries its ID.
func (a *ACL) RoleCreate(r *structs.ACLRole) (*structs.ACLRole, error) {
	var out structs.ACLRole
	if err := a.c.write(http.MethodPost, "/v1/acl/role", nil, r, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// RoleUpdate replaces the role of r.ID.
func (a *ACL) RoleUpdate(r *structs.ACLRole) (*structs.ACLRole, error) {
	path, err := idPath("/v1/acl/role/", "role", r.ID)
	if err != nil {
		return nil, err
	}
	var out structs.ACLRole
	if err := a.c.write(http.MethodPost, path, nil, r, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// RoleDelete deletes a role by ID.
func (a *ACL) RoleDelete(id string) error {
	path, err := idPath("/v1/acl/role/", "role", id)
	if err != nil {
		return err
	}
	return a.c.write(http.MethodDelete, path, nil, nil, nil)
}

// Roles lists the roles.
func (a *ACL) Roles(q *QueryOptions) ([]*structs.ACLRole, *QueryMeta, error) {
	var out []*structs.ACLRole
	meta, err := a.c.query("/v1/acl/roles", q, &out)
	return out, meta, err
}

// RoleInfo reads one role by ID.
func (a *ACL) RoleInfo(id string, q *QueryOptions) (*structs.ACLRole, *QueryMeta, error) {
	path, err := idPath("/v1/acl/role/", "role", id)
	if err != nil {
		return nil, nil, err
	}
	return a.roleRead(path, q)
}

// RoleByName reads one role by name.
func (a *ACL) RoleByName(name string, q *QueryOptions) (*structs.ACLRole, *QueryMeta, error) {
	path, err := idPath("/v1/acl/role/name/", "role name", name)
	if err != nil {
		return nil, nil, err
	}
	return a.roleRead(path, q)
}

func (a *ACL) roleRead(path string, q *QueryOptions) (*structs.ACLRole, *QueryMeta, error) {
	var out structs.ACLRole
	meta, err := a.c.query(path, q, &out)
	if err != nil {
		return nil, nil, err
	}
	return &out, meta, nil
}
