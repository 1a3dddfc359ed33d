// Package boltcheck tells whether a bbolt database file left by an earlier
// run can be read, before the agent opens it for good. bbolt itself would
// initialise an empty file as a new database (silently losing whatever the
// file was supposed to hold) and maps a truncated file without complaint
// (failing later, in the middle of a read). The server's Raft log and the
// client's state database are checked with it at start.
package boltcheck

import (
	"errors"
	"fmt"
	"os"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// ErrLocked is returned when another process holds the file open.
var ErrLocked = errors.New("the file is locked by another process (is another agent running on this data dir?)")

// lockTimeout bounds the wait for another process's lock on the file.
const lockTimeout = 2 * time.Second

// Check opens the bbolt file at path read-only and reports why it cannot be
// used: it is empty, bbolt rejects it (not a bbolt file, bad meta page
// checksums, unknown version), or it is shorter than its own meta pages say
// (truncated). A file that does not exist is fine (a first start). The error
// does not name the file: the caller says what the file is.
//
// Corruption inside data pages is not looked for: that would mean reading the
// whole file at every start.
func Check(path string) error {
	info, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if info.Size() == 0 {
		return errors.New("the file is empty (truncated)")
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: lockTimeout})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return ErrLocked
	}
	if err != nil {
		return err
	}
	defer db.Close()
	tx, err := db.Begin(false)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if want := tx.Size(); want > info.Size() {
		return fmt.Errorf("the file is %d bytes but its pages reach %d bytes (truncated)", info.Size(), want)
	}
	return nil
}
