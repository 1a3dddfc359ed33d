package state

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/orch-io/orch/internal/boltcheck"
	"github.com/orch-io/orch/structs"
)

// schemaVersion is the layout this code reads and writes. A file written by a
// newer layout is refused rather than misread.
const schemaVersion = 1

// Buckets and keys.
var (
	metaBucket   = []byte("meta")   // "version" → decimal schema version
	nodeBucket   = []byte("node")   // "identity" → NodeIdentity
	allocsBucket = []byte("allocs") // alloc ID → Allocation (with Job, ClientStatus, TaskStates)
	// handlesBucket: "<alloc ID>/<task>" → driver.TaskHandle of the task's
	// running instance (see handles.go).
	handlesBucket = []byte("handles")

	versionKey  = []byte("version")
	identityKey = []byte("identity")
)

// ErrLocked is returned by Open when another process holds the file.
var ErrLocked = errors.New("state: database is locked by another process")

// NodeIdentity is who the node is to the servers; generated once.
type NodeIdentity struct {
	NodeID   string
	SecretID string
}

// DB is the client's state database.
type DB struct {
	db *bolt.DB
}

// Open opens (creating if needed) the state database at path. A file an
// earlier run left that cannot be read (empty, not a database, truncated) is
// an error naming it, never reinitialised: the allocations it records would
// be forgotten while their tasks still run.
func Open(path string) (*DB, error) {
	if err := boltcheck.Check(path); errors.Is(err, boltcheck.ErrLocked) {
		return nil, fmt.Errorf("%w: %s", ErrLocked, path)
	} else if err != nil {
		return nil, unreadable(path, err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("%w: %s", ErrLocked, path)
	}
	if err != nil {
		return nil, unreadable(path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{metaBucket, nodeBucket, allocsBucket, handlesBucket} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		meta := tx.Bucket(metaBucket)
		v := meta.Get(versionKey)
		if v == nil {
			return meta.Put(versionKey, []byte(strconv.Itoa(schemaVersion)))
		}
		n, err := strconv.Atoi(string(v))
		if err != nil || n > schemaVersion {
			return fmt.Errorf("schema version %q: this agent reads version %d or older", v, schemaVersion)
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, unreadable(path, err)
	}
	return &DB{db: db}, nil
}

// unreadable is the error of a state database the client cannot use.
func unreadable(path string, err error) error {
	return fmt.Errorf("state: state database %s is unreadable: %w: refusing to start (move it away to start over)", path, err)
}

// Close closes the database. Nothing may use the DB afterwards.
func (d *DB) Close() error { return d.db.Close() }

// NodeIdentity returns the node's identity, or nil if none was saved yet.
func (d *DB) NodeIdentity() (*NodeIdentity, error) {
	var id *NodeIdentity
	err := d.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(nodeBucket).Get(identityKey)
		if v == nil {
			return nil
		}
		id = &NodeIdentity{}
		return structs.Decode(v, id)
	})
	if err != nil {
		return nil, fmt.Errorf("state: reading node identity: %w", err)
	}
	return id, nil
}

// PutNodeIdentity saves the node's identity.
func (d *DB) PutNodeIdentity(id *NodeIdentity) error {
	return d.put(nodeBucket, identityKey, id)
}

// PutAllocation saves an allocation, replacing what was saved under its ID. The
// DB keeps no reference to a.
func (d *DB) PutAllocation(a *structs.Allocation) error {
	if a.ID == "" {
		return errors.New("state: allocation without an ID")
	}
	return d.put(allocsBucket, []byte(a.ID), a)
}

// DeleteAllocation forgets an allocation and its tasks' handles; forgetting
// an unknown one is not an error.
func (d *DB) DeleteAllocation(id string) error {
	return d.db.Update(func(tx *bolt.Tx) error {
		if err := deleteHandlesOf(tx, id); err != nil {
			return err
		}
		return tx.Bucket(allocsBucket).Delete([]byte(id))
	})
}

// Allocations returns every saved allocation, sorted by ID; the caller owns
// them. Entries that cannot be decoded are left out and named in the error,
// which comes back with the ones that could: one corrupt entry must not stop
// the agent from restoring the others.
func (d *DB) Allocations() ([]*structs.Allocation, error) {
	var out []*structs.Allocation
	var bad []string
	err := d.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(allocsBucket).ForEach(func(k, v []byte) error {
			a := &structs.Allocation{}
			if err := structs.Decode(v, a); err != nil {
				bad = append(bad, fmt.Sprintf("%s: %v", k, err))
				return nil
			}
			out = append(out, a)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("state: reading allocations: %w", err)
	}
	slices.SortFunc(out, func(a, b *structs.Allocation) int { return strings.Compare(a.ID, b.ID) })
	if len(bad) > 0 {
		return out, fmt.Errorf("state: %d allocation(s) could not be decoded: %s", len(bad), strings.Join(bad, "; "))
	}
	return out, nil
}

func (d *DB) put(bucket, key []byte, v any) error {
	buf, err := structs.Encode(v)
	if err != nil {
		return fmt.Errorf("state: encoding %s/%s: %w", bucket, key, err)
	}
	err = d.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucket).Put(key, buf)
	})
	if err != nil {
		return fmt.Errorf("state: writing %s/%s: %w", bucket, key, err)
	}
	return nil
}
