package server

import (
	"sync"
	"time"

	"github.com/orch-io/orch/acl"
	"github.com/orch-io/orch/server/state"
	"github.com/orch-io/orch/structs"
)

// Resolving credentials. With Config.ACLEnabled every RPC carries one in
// its AuthToken (structs.Authenticated): an ACL token's secret ID, a client
// node's secret ID, or nothing (anonymous). The dispatcher authorizes each
// call before its endpoint runs (acl_rpc.go); the token is resolved here,
// from this server's replicated state, into a compiled *acl.ACL.
//
// Resolved tokens are cached. The cache is valid for one ACL index (the
// last write to the policies or tokens, state.Snapshot.ACLIndex): any such
// write empties it, so a revoked token or a changed policy takes effect on a
// server as soon as it has applied the write. Expiry is checked on every
// call.

// aclCacheSize bounds the cache; full, it starts over.
const aclCacheSize = 4096

// aclCache maps secret IDs to their resolution, for one ACL index.
type aclCache struct {
	mu struct {
		sync.Mutex
		index uint64
		m     map[string]*resolvedToken
	}
}

// resolvedToken is a token and its compiled ACL. token is nil for the
// anonymous credential.
type resolvedToken struct {
	token *structs.ACLToken
	acl   *acl.ACL
}

func errTokenNotFound() error {
	return structs.NewError(structs.CodePermissionDenied, "Permission denied: ACL token not found")
}

// resolveToken returns the ACL of the credential secret, from the cache or
// snap (a recent snapshot of the state). An unknown or expired token is a
// CodePermissionDenied error. Safe for concurrent use.
func (s *Server) resolveToken(snap *state.Snapshot, secret string) (*resolvedToken, error) {
	index := snap.ACLIndex()
	c := &s.aclCache
	c.mu.Lock()
	if c.mu.index != index || c.mu.m == nil || len(c.mu.m) >= aclCacheSize {
		c.mu.index, c.mu.m = index, map[string]*resolvedToken{}
	}
	r, ok := c.mu.m[secret]
	c.mu.Unlock()
	if !ok {
		var err error
		if r, err = s.resolveFromState(snap, secret); err != nil {
			return nil, err
		}
		c.mu.Lock()
		if c.mu.index == index {
			c.mu.m[secret] = r
		}
		c.mu.Unlock()
	}
	if r.token != nil && r.token.Expired(time.Now()) {
		return nil, structs.NewError(structs.CodePermissionDenied, "Permission denied: ACL token %s expired", r.token.AccessorID)
	}
	return r, nil
}

// resolveFromState resolves secret in snap without the cache.
func (s *Server) resolveFromState(snap *state.Snapshot, secret string) (*resolvedToken, error) {
	if secret == "" {
		return &resolvedToken{acl: s.compilePolicies(snap, []string{structs.AnonymousPolicy})}, nil
	}
	tok := snap.ACLTokenBySecret(secret)
	if tok == nil {
		return nil, errTokenNotFound()
	}
	if tok.Type == structs.ACLManagementToken {
		return &resolvedToken{token: tok, acl: acl.Management}, nil
	}
	return &resolvedToken{token: tok, acl: s.compilePolicies(snap, tokenPolicyNames(snap, tok))}, nil
}

// compilePolicies compiles the named policies that exist. Stored policies
// were parsed when written; one that no longer parses (a newer server wrote
// a rule this one does not know) is skipped with a warning: it grants
// nothing here.
func (s *Server) compilePolicies(snap *state.Snapshot, names []string) *acl.ACL {
	var ps []*acl.Policy
	for _, name := range names {
		p := snap.ACLPolicyByName(name)
		if p == nil {
			continue
		}
		parsed, err := acl.Parse(p.Name, p.Rules)
		if err != nil {
			s.logger.Warn("ACL policy does not parse; it grants nothing", "policy", p.Name, "error", err)
			continue
		}
		ps = append(ps, parsed)
	}
	return acl.New(ps)
}
