package state

import (
	"fmt"

	"github.com/hashicorp/go-memdb"
	"github.com/orch-io/orch/structs"
)

// ACL tables: policies by name, tokens by accessor ID (and by secret ID, to
// resolve a request's credential), and the record of the bootstrap.
const (
	TableACLPolicies  = "acl_policies"
	TableACLTokens    = "acl_tokens"
	TableACLBootstrap = "acl_bootstrap"
	TableACLRoles     = "acl_roles"
)

// ACLBootstrap records that the ACL system was bootstrapped: Index is the
// Raft index of the bootstrap, which an operator writes into the
// acl-bootstrap-reset file to allow one more bootstrap.
type ACLBootstrap struct {
	Index uint64
}

func aclTables(db *memdb.DBSchema) {
	db.Tables[TableACLPolicies] = &memdb.TableSchema{Name: TableACLPolicies, Indexes: map[string]*memdb.IndexSchema{
		"id": {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "Name"}},
	}}
	db.Tables[TableACLTokens] = &memdb.TableSchema{Name: TableACLTokens, Indexes: map[string]*memdb.IndexSchema{
		"id":     {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "AccessorID"}},
		"secret": {Name: "secret", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "SecretID"}},
	}}
	db.Tables[TableACLRoles] = &memdb.TableSchema{Name: TableACLRoles, Indexes: map[string]*memdb.IndexSchema{
		"id":   {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "ID"}},
		"name": {Name: "name", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "Name"}},
	}}
	db.Tables[TableACLBootstrap] = &memdb.TableSchema{Name: TableACLBootstrap, Indexes: map[string]*memdb.IndexSchema{
		"id": {Name: "id", Unique: true, AllowMissing: true,
			Indexer: &memdb.ConditionalIndex{Conditional: func(any) (bool, error) { return true, nil }}},
	}}
}

// ACLPolicyByName returns the policy, or nil.
func (s *Snapshot) ACLPolicyByName(name string) *structs.ACLPolicy {
	return watchedFirst[*structs.ACLPolicy](s, TableACLPolicies, "id", name)
}

// ACLPolicies returns every policy, sorted by name.
func (s *Snapshot) ACLPolicies() []*structs.ACLPolicy {
	return watchedList[*structs.ACLPolicy](s, TableACLPolicies, "id_prefix", "")
}

// ACLTokenByAccessor returns the token, or nil.
func (s *Snapshot) ACLTokenByAccessor(id string) *structs.ACLToken {
	return watchedFirst[*structs.ACLToken](s, TableACLTokens, "id", id)
}

// ACLTokenBySecret returns the token whose secret ID is secret, or nil.
func (s *Snapshot) ACLTokenBySecret(secret string) *structs.ACLToken {
	if secret == "" {
		return nil
	}
	return watchedFirst[*structs.ACLToken](s, TableACLTokens, "secret", secret)
}

// ACLTokens returns every token, sorted by accessor ID.
func (s *Snapshot) ACLTokens() []*structs.ACLToken {
	return watchedList[*structs.ACLToken](s, TableACLTokens, "id_prefix", "")
}

// ACLBootstrapIndex returns the index at which ACLs were bootstrapped, 0
// when they never were.
func (s *Snapshot) ACLBootstrapIndex() uint64 {
	if b := watchedFirst[*ACLBootstrap](s, TableACLBootstrap, "id"); b != nil {
		return b.Index
	}
	return 0
}

// ACLRoleByID returns the role, or nil.
func (s *Snapshot) ACLRoleByID(id string) *structs.ACLRole {
	return watchedFirst[*structs.ACLRole](s, TableACLRoles, "id", id)
}

// ACLRoleByName returns the role named name, or nil.
func (s *Snapshot) ACLRoleByName(name string) *structs.ACLRole {
	return watchedFirst[*structs.ACLRole](s, TableACLRoles, "name", name)
}

// ACLRoles returns every role, sorted by ID.
func (s *Snapshot) ACLRoles() []*structs.ACLRole {
	return watchedList[*structs.ACLRole](s, TableACLRoles, "id_prefix", "")
}

// ACLIndex is the index of the last write to the policies, the tokens or
// the roles: what a cache of resolved tokens is valid for. A snapshot of
// the store answers from the index the store kept at its last commit (one
// atomic load instead of three lookups: every RPC's ACL check asks); the
// view of a write transaction looks it up, its own writes included.
func (s *Snapshot) ACLIndex() uint64 {
	if s.aclIndexRead {
		return s.aclIndex
	}
	return s.indexedACLIndex()
}

// indexedACLIndex is ACLIndex looked up in the index table.
func (s *Snapshot) indexedACLIndex() uint64 {
	return max(s.IndexUnwatched(TableACLPolicies), s.IndexUnwatched(TableACLTokens), s.IndexUnwatched(TableACLRoles))
}

// UpsertACLPolicies stores policies (which the store then owns), keeping the
// create index of those that exist.
func (w *WriteTxn) UpsertACLPolicies(policies []*structs.ACLPolicy) error {
	for _, p := range policies {
		p.CreateIndex, p.ModifyIndex = w.index, w.index
		if old := first[*structs.ACLPolicy](w.txn, TableACLPolicies, "id", p.Name); old != nil {
			p.CreateIndex = old.CreateIndex
		}
		if err := w.txn.Insert(TableACLPolicies, p); err != nil {
			return fmt.Errorf("state: inserting ACL policy %q: %w", p.Name, err)
		}
	}
	w.touch(TableACLPolicies)
	return nil
}

// DeleteACLPolicies deletes policies by name; absent ones are skipped.
func (w *WriteTxn) DeleteACLPolicies(names []string) error {
	for _, n := range names {
		if _, err := w.txn.DeleteAll(TableACLPolicies, "id", n); err != nil {
			return fmt.Errorf("state: deleting ACL policy %q: %w", n, err)
		}
	}
	w.touch(TableACLPolicies)
	return nil
}

// UpsertACLTokens stores tokens (which the store then owns), keeping the
// create index of those that exist.
func (w *WriteTxn) UpsertACLTokens(tokens []*structs.ACLToken) error {
	for _, t := range tokens {
		t.CreateIndex, t.ModifyIndex = w.index, w.index
		if old := first[*structs.ACLToken](w.txn, TableACLTokens, "id", t.AccessorID); old != nil {
			t.CreateIndex = old.CreateIndex
		}
		if err := w.txn.Insert(TableACLTokens, t); err != nil {
			return fmt.Errorf("state: inserting ACL token %s: %w", t.AccessorID, err)
		}
	}
	w.touch(TableACLTokens)
	return nil
}

// DeleteACLTokens deletes tokens by accessor ID; absent ones are skipped.
func (w *WriteTxn) DeleteACLTokens(ids []string) error {
	for _, id := range ids {
		if _, err := w.txn.DeleteAll(TableACLTokens, "id", id); err != nil {
			return fmt.Errorf("state: deleting ACL token %s: %w", id, err)
		}
	}
	w.touch(TableACLTokens)
	return nil
}

// UpsertACLRoles stores roles (which the store then owns), keeping the
// create index of those that exist. A name taken by another role fails the
// whole write with structs.CodeConflict (decided here, in the entry's
// transaction, so two racing creates of one name store one role).
func (w *WriteTxn) UpsertACLRoles(roles []*structs.ACLRole) error {
	for _, r := range roles {
		if other := first[*structs.ACLRole](w.txn, TableACLRoles, "name", r.Name); other != nil && other.ID != r.ID {
			return structs.NewError(structs.CodeConflict, "ACL role name %q is taken by role %s", r.Name, other.ID)
		}
		r.CreateIndex, r.ModifyIndex = w.index, w.index
		if old := first[*structs.ACLRole](w.txn, TableACLRoles, "id", r.ID); old != nil {
			r.CreateIndex = old.CreateIndex
		}
		if err := w.txn.Insert(TableACLRoles, r); err != nil {
			return fmt.Errorf("state: inserting ACL role %s: %w", r.ID, err)
		}
	}
	w.touch(TableACLRoles)
	return nil
}

// DeleteACLRoles deletes roles by ID; absent ones are skipped. Tokens keep
// their links, which grant nothing without the role.
func (w *WriteTxn) DeleteACLRoles(ids []string) error {
	for _, id := range ids {
		if _, err := w.txn.DeleteAll(TableACLRoles, "id", id); err != nil {
			return fmt.Errorf("state: deleting ACL role %s: %w", id, err)
		}
	}
	w.touch(TableACLRoles)
	return nil
}

// BootstrapACL stores the first management token and records the
// bootstrap, provided the recorded bootstrap index is resetIndex (0: never
// bootstrapped); otherwise it fails with structs.CodeInvalid and changes
// nothing. Deciding it here, in the entry's transaction, makes two racing
// bootstraps produce one token.
func (w *WriteTxn) BootstrapACL(token *structs.ACLToken, resetIndex uint64) error {
	current := w.Read().ACLBootstrapIndex()
	if current != resetIndex {
		return structs.NewError(structs.CodeInvalid,
			"ACL bootstrap already done (reset index: %d); to bootstrap again, write %d into the acl-bootstrap-reset file in the leader's data dir (<data_dir>/server/acl-bootstrap-reset)",
			current, current)
	}
	if err := w.UpsertACLTokens([]*structs.ACLToken{token}); err != nil {
		return err
	}
	if err := w.txn.Insert(TableACLBootstrap, &ACLBootstrap{Index: w.index}); err != nil {
		return fmt.Errorf("state: recording the ACL bootstrap: %w", err)
	}
	w.touch(TableACLBootstrap)
	return nil
}

// persistACL writes the ACL tables to a snapshot.
func (s *Snapshot) persistACL(put func(recordKind, any) error) error {
	for _, p := range s.ACLPolicies() {
		if err := put(recordACLPolicy, p); err != nil {
			return fmt.Errorf("state: persisting ACL policy %q: %w", p.Name, err)
		}
	}
	for _, t := range s.ACLTokens() {
		if err := put(recordACLToken, t); err != nil {
			return fmt.Errorf("state: persisting ACL token %s: %w", t.AccessorID, err)
		}
	}
	for _, r := range s.ACLRoles() {
		if err := put(recordACLRole, r); err != nil {
			return fmt.Errorf("state: persisting ACL role %s: %w", r.ID, err)
		}
	}
	if i := s.ACLBootstrapIndex(); i != 0 {
		if err := put(recordACLBootstrap, &ACLBootstrap{Index: i}); err != nil {
			return fmt.Errorf("state: persisting the ACL bootstrap: %w", err)
		}
	}
	return nil
}
