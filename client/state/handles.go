package state

import (
	"bytes"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/orch-io/orch/client/driver"
	"github.com/orch-io/orch/structs"
)

// A task's handle is what its driver needs to reattach to it after an agent
// restart (a container ID). The task runner saves it right after a start and
// deletes it once the task has exited, so a handle in the database always
// names an instance that may still run.

func handleKey(allocID, task string) []byte { return []byte(allocID + "/" + task) }

// PutTaskHandle saves the handle of task's running instance. The DB keeps no
// reference to th.
func (d *DB) PutTaskHandle(allocID, task string, th *driver.TaskHandle) error {
	if allocID == "" || task == "" {
		return errors.New("state: task handle without an alloc ID or task name")
	}
	return d.put(handlesBucket, handleKey(allocID, task), th)
}

// TaskHandle returns the saved handle of task, or nil if there is none.
func (d *DB) TaskHandle(allocID, task string) (*driver.TaskHandle, error) {
	var th *driver.TaskHandle
	err := d.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(handlesBucket).Get(handleKey(allocID, task))
		if v == nil {
			return nil
		}
		th = &driver.TaskHandle{}
		return structs.Decode(v, th)
	})
	if err != nil {
		return nil, fmt.Errorf("state: reading the handle of %s/%s: %w", allocID, task, err)
	}
	return th, nil
}

// DeleteTaskHandle forgets task's handle; forgetting none is not an error.
func (d *DB) DeleteTaskHandle(allocID, task string) error {
	return d.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(handlesBucket).Delete(handleKey(allocID, task))
	})
}

// deleteHandlesOf deletes every task handle of an allocation within tx.
func deleteHandlesOf(tx *bolt.Tx, allocID string) error {
	prefix := []byte(allocID + "/")
	c := tx.Bucket(handlesBucket).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Seek(prefix) {
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return nil
}
