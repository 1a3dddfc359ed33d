package gossipkey

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	k, _ := Generate()
	if b, err := Parse(k); err != nil || len(b) != 32 {
		t.Fatalf("Parse(Generate()) = %d bytes, %v", len(b), err)
	}
	for in, want := range map[string]string{
		"not base64!": "not valid base64",
		"c2hvcnQ=":    "decodes to 5 bytes: must be 16, 24 or 32",
		"":            "decodes to 0 bytes",
	} {
		if _, err := Parse(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) = %v, want %q", in, err, want)
		}
	}
}

func TestRingPersistsEveryChange(t *testing.T) {
	path := filepath.Join(t.TempDir(), "server", FileName)
	if r, _, err := Open(path, ""); r != nil || err != nil {
		t.Fatalf("no key, no file: %v %v", r, err)
	}
	k1, _ := Generate()
	k2, _ := Generate()
	r, _, err := Open(path, k1)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Use(k2); !errors.Is(err, ErrKeyNotInstalled) {
		t.Fatalf("Use of a key not installed: %v", err)
	}
	if err := r.Install(k2); err != nil {
		t.Fatal(err)
	}
	if err := r.Use(k2); err != nil {
		t.Fatal(err)
	}
	if err := r.Remove(k2); !errors.Is(err, ErrPrimaryKey) {
		t.Fatalf("Remove of the primary: %v", err)
	}
	// Reopened with the first key configured, the file wins.
	again, ignored, err := Open(path, k1)
	if err != nil || ignored {
		t.Fatalf("reopen: ignored=%v err=%v", ignored, err)
	}
	if keys, primary := again.List(); len(keys) != 2 || primary != k2 {
		t.Fatalf("reopened: %v primary %s", keys, primary)
	}
	if err := again.Remove(k1); err != nil {
		t.Fatal(err)
	}
	if _, ignored, _ := Open(path, k1); !ignored {
		t.Fatal("a configured key no longer in the file must be reported as ignored")
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("keyring file mode: %v %v", fi, err)
	}
	if err := os.WriteFile(path, []byte("[]"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Open(path, ""); err == nil || !strings.Contains(err.Error(), "must be a JSON array of base64 keys") {
		t.Fatalf("empty keyring file: %v", err)
	}
}

// TestExplainJoinError keeps ExplainJoinError's texts in step with
// memberlist's: a real join with the wrong key, with none, and to an agent
// without one.
func TestExplainJoinError(t *testing.T) {
	k1, _ := Generate()
	k2, _ := Generate()
	a, b, plain := startMemberlist(t, "a", k1), startMemberlist(t, "b", k2), startMemberlist(t, "plain", "")
	for _, c := range []struct {
		from interface{ Join([]string) (int, error) }
		addr string
		want string
	}{
		{b, addrOf(a), "another key"},
		{plain, addrOf(a), "this agent has no key"},
		{a, addrOf(plain), "do not"},
	} {
		_, err := c.from.Join([]string{c.addr})
		err = ExplainJoinError(err)
		if !errors.Is(err, ErrKeyMismatch) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("join %s: %v, want %q", c.addr, err, c.want)
		}
	}
	if err := errors.New("dial tcp: connection refused"); ExplainJoinError(err) != err {
		t.Error("other errors must come back unchanged")
	}
}
