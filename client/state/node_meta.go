package state

import (
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/orch-io/orch/structs"
)

// dynamicMetaKey, in the node bucket, holds the node's dynamic metadata
// (`orch node meta apply`): key → value, nil for a key unset (which hides a
// static key of the same name).
var dynamicMetaKey = []byte("dynamic_meta")

// DynamicNodeMeta returns the node's dynamic metadata, empty if none was
// applied.
func (d *DB) DynamicNodeMeta() (map[string]*string, error) {
	out := map[string]*string{}
	err := d.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(nodeBucket).Get(dynamicMetaKey)
		if v == nil {
			return nil
		}
		return structs.Decode(v, &out)
	})
	if err != nil {
		return nil, fmt.Errorf("state: reading dynamic node metadata: %w", err)
	}
	return out, nil
}

// PutDynamicNodeMeta saves the node's dynamic metadata, replacing it.
func (d *DB) PutDynamicNodeMeta(meta map[string]*string) error {
	return d.put(nodeBucket, dynamicMetaKey, meta)
}
