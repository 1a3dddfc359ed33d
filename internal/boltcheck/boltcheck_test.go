package boltcheck

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	if err := Check(filepath.Join(dir, "missing.db")); err != nil {
		t.Fatalf("a missing file (first start): %v", err)
	}
	path := filepath.Join(dir, "good.db")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket([]byte("b"))
		if err != nil {
			return err
		}
		return b.Put([]byte("k"), make([]byte, 64<<10))
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if err := Check(path); err != nil {
		t.Fatalf("a good file: %v", err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, want string
		data       []byte
	}{
		{"empty", "empty", nil},
		{"truncated", "truncated", data[:4*4096]}, // the value lives in the pages cut off
		{"garbage", "invalid", []byte(strings.Repeat("garbage!", 2048))},
	} {
		p := filepath.Join(dir, c.name+".db")
		if err := os.WriteFile(p, c.data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := Check(p); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s file: Check = %v, want an error saying %q", c.name, err, c.want)
		}
	}
}
