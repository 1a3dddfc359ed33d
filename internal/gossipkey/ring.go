package gossipkey

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/hashicorp/memberlist"
	"github.com/orch-io/orch/internal/atomicfile"
)

// FileName is the keyring file's name in the agent's data dir
// (<data_dir>/server/ for a server, <data_dir>/client/ for a client-only
// agent).
const FileName = "keyring"

// ErrKeyNotInstalled: Use named a key the ring does not hold.
var ErrKeyNotInstalled = errors.New("gossipkey: key is not installed: install it first")

// ErrPrimaryKey: Remove named the key in use.
var ErrPrimaryKey = errors.New("gossipkey: key is the one in use (primary): use another key first")

// Ring is an agent's gossip keyring: the memberlist.Keyring its memberlist
// encrypts with (the primary key) and decrypts with (any key), and the file
// that keeps it. Its methods are safe for concurrent use; each change is
// written to the file before it returns.
//
// The file is a JSON array of base64 keys, the primary first.
type Ring struct {
	path string
	mu   sync.Mutex // serialises changes and their writes to the file
	ml   *memberlist.Keyring
}

// Open returns the ring of the keyring file at path, or, when there is no
// such file and configured is not empty, a new ring of that key, written
// there. With neither it returns nil, nil: gossip is not encrypted. When the
// file exists it wins over configured (a rotation may have replaced the
// configured key); ignored reports that configured was given and is not in
// the file, for the caller to warn about.
func Open(path, configured string) (r *Ring, ignored bool, err error) {
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if configured == "" {
			return nil, false, nil
		}
		k, err := Parse(configured)
		if err != nil {
			return nil, false, fmt.Errorf("gossipkey: encrypt: %w", err)
		}
		ml, err := memberlist.NewKeyring(nil, k)
		if err != nil {
			return nil, false, fmt.Errorf("gossipkey: %w", err)
		}
		r := &Ring{path: path, ml: ml}
		if err := r.saveLocked(); err != nil {
			return nil, false, err
		}
		return r, false, nil
	case err != nil:
		return nil, false, fmt.Errorf("gossipkey: reading the keyring file: %w", err)
	}
	var encoded []string
	if err := json.Unmarshal(data, &encoded); err != nil || len(encoded) == 0 {
		return nil, false, fmt.Errorf("gossipkey: keyring file %s: must be a JSON array of base64 keys, the one in use first (remove the file to start again from the encrypt setting)", path)
	}
	keys := make([][]byte, len(encoded))
	for i, s := range encoded {
		if keys[i], err = Parse(s); err != nil {
			return nil, false, fmt.Errorf("gossipkey: keyring file %s: key %d: %w", path, i, err)
		}
	}
	ml, err := memberlist.NewKeyring(keys, keys[0])
	if err != nil {
		return nil, false, fmt.Errorf("gossipkey: keyring file %s: %w", path, err)
	}
	if configured != "" {
		ignored = true
		for _, s := range encoded {
			if s == configured {
				ignored = false
			}
		}
	}
	return &Ring{path: path, ml: ml}, ignored, nil
}

// Keyring is the memberlist keyring to put in memberlist.Config.Keyring.
// The Ring changes it in place; memberlist reads it under its own lock.
func (r *Ring) Keyring() *memberlist.Keyring { return r.ml }

// List returns the installed keys, base64, the primary first.
func (r *Ring) List() (keys []string, primary string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, k := range r.ml.GetKeys() {
		keys = append(keys, encode(k))
	}
	return keys, encode(r.ml.GetPrimaryKey())
}

// Install adds a key (a no-op when it is installed).
func (r *Ring) Install(key string) error {
	return r.change(key, func(k []byte) error { return r.ml.AddKey(k) })
}

// Use makes an installed key the primary: gossip is encrypted with it from
// now on.
func (r *Ring) Use(key string) error {
	return r.change(key, func(k []byte) error {
		if !r.hasLocked(k) {
			return ErrKeyNotInstalled
		}
		return r.ml.UseKey(k)
	})
}

// Remove removes a key that is not the primary (a no-op when it is not
// installed).
func (r *Ring) Remove(key string) error {
	return r.change(key, func(k []byte) error {
		if string(k) == string(r.ml.GetPrimaryKey()) {
			return ErrPrimaryKey
		}
		if !r.hasLocked(k) {
			return nil
		}
		return r.ml.RemoveKey(k)
	})
}

func (r *Ring) change(key string, apply func([]byte) error) error {
	k, err := Parse(key)
	if err != nil {
		return fmt.Errorf("gossipkey: key: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := apply(k); err != nil {
		return err
	}
	return r.saveLocked()
}

func (r *Ring) hasLocked(k []byte) bool {
	for _, have := range r.ml.GetKeys() {
		if string(have) == string(k) {
			return true
		}
	}
	return false
}

// saveLocked writes the file atomically, readable by the agent's user only.
func (r *Ring) saveLocked() error {
	keys := r.ml.GetKeys() // the primary first
	encoded := make([]string, len(keys))
	for i, k := range keys {
		encoded[i] = encode(k)
	}
	data, err := json.Marshal(encoded)
	if err != nil {
		return fmt.Errorf("gossipkey: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(r.path), 0o700); err != nil {
		return fmt.Errorf("gossipkey: writing the keyring file: %w", err)
	}
	if err := atomicfile.Write(r.path, data, 0o600); err != nil {
		return fmt.Errorf("gossipkey: writing the keyring file: %w", err)
	}
	return nil
}
