package state

import (
	"bytes"
	"errors"
	"testing"

	"github.com/orch-io/orch/structs"
)

func TestACLBootstrapOnceThenResetAndPersist(t *testing.T) {
	s := NewStateStore()
	tok := func(id string) *structs.ACLToken {
		return &structs.ACLToken{AccessorID: id, SecretID: id + "-secret", Type: structs.ACLManagementToken}
	}
	if err := s.write(5, func(w *WriteTxn) error { return w.BootstrapACL(tok("a"), 0) }); err != nil {
		t.Fatal(err)
	}
	err := s.write(6, func(w *WriteTxn) error { return w.BootstrapACL(tok("b"), 0) })
	if !errors.Is(err, structs.ErrInvalid) || s.Snapshot().ACLTokenByAccessor("b") != nil {
		t.Fatalf("second bootstrap: err %v; it must fail and store nothing", err)
	}
	if err := s.write(7, func(w *WriteTxn) error { return w.BootstrapACL(tok("c"), 5) }); err != nil {
		t.Fatalf("bootstrap with the reset index: %v", err)
	}
	if err := s.write(8, func(w *WriteTxn) error {
		return w.UpsertACLPolicies([]*structs.ACLPolicy{{Name: "readonly", Rules: `node { policy = "read" }`}})
	}); err != nil {
		t.Fatal(err)
	}
	snap := s.Snapshot()
	if snap.ACLBootstrapIndex() != 7 || snap.ACLTokenBySecret("c-secret").AccessorID != "c" || snap.ACLIndex() != 8 {
		t.Fatalf("bootstrap index %d, ACL index %d", snap.ACLBootstrapIndex(), snap.ACLIndex())
	}
	var buf bytes.Buffer
	if err := snap.Persist(&buf); err != nil {
		t.Fatal(err)
	}
	r := NewStateStore()
	if err := r.Restore(&buf); err != nil {
		t.Fatal(err)
	}
	rs := r.Snapshot()
	if len(rs.ACLTokens()) != 2 || len(rs.ACLPolicies()) != 1 || rs.ACLBootstrapIndex() != 7 || rs.ACLIndex() != 8 {
		t.Fatalf("restored: %d tokens, %d policies, bootstrap %d, index %d", len(rs.ACLTokens()), len(rs.ACLPolicies()), rs.ACLBootstrapIndex(), rs.ACLIndex())
	}
	if err := r.write(9, func(w *WriteTxn) error { return w.DeleteACLTokens([]string{"a"}) }); err != nil {
		t.Fatal(err)
	}
	if r.Snapshot().ACLTokenBySecret("a-secret") != nil {
		t.Fatal("a deleted token must not resolve")
	}
}

// TestACLIndexKeptAtCommit: a snapshot's ACL index (kept by the store at
// each commit, read before the snapshot's view) is the one its index table
// holds, after writes to each ACL table, other writes and a restore.
func TestACLIndexKeptAtCommit(t *testing.T) {
	s := NewStateStore()
	check := func(st *StateStore, what string, want uint64) {
		t.Helper()
		snap := st.Snapshot()
		if got, looked := snap.ACLIndex(), snap.indexedACLIndex(); got != want || looked != want {
			t.Errorf("after %s: ACLIndex %d, index table %d, want %d", what, got, looked, want)
		}
	}
	check(s, "nothing", 0)
	writes := []struct {
		what  string
		index uint64
		write func(w *WriteTxn) error
		want  uint64
	}{
		{"a policy", 3, func(w *WriteTxn) error {
			return w.UpsertACLPolicies([]*structs.ACLPolicy{{Name: "r", Rules: `node { policy = "read" }`}})
		}, 3},
		{"a token", 4, func(w *WriteTxn) error {
			return w.UpsertACLTokens([]*structs.ACLToken{{AccessorID: "t", SecretID: "t-secret", Type: structs.ACLClientToken, Policies: []string{"r"}}})
		}, 4},
		{"a namespace", 5, func(w *WriteTxn) error {
			return w.UpsertNamespaces([]*structs.Namespace{{Name: "other"}})
		}, 4},
		{"a role", 6, func(w *WriteTxn) error {
			return w.UpsertACLRoles([]*structs.ACLRole{{ID: "role", Name: "role", Policies: []*structs.ACLRolePolicyLink{{Name: "r"}}}})
		}, 6},
		{"a token's deletion", 7, func(w *WriteTxn) error { return w.DeleteACLTokens([]string{"t"}) }, 7},
	}
	for _, wr := range writes {
		if err := s.write(wr.index, wr.write); err != nil {
			t.Fatalf("%s: %v", wr.what, err)
		}
		check(s, wr.what, wr.want)
	}
	var buf bytes.Buffer
	if err := s.Snapshot().Persist(&buf); err != nil {
		t.Fatal(err)
	}
	r := NewStateStore()
	if err := r.Restore(&buf); err != nil {
		t.Fatal(err)
	}
	check(r, "a restore", 7)
}
