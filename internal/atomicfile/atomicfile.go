// Package atomicfile writes files so that a crash never leaves one half
// written: the server's ID file, snapshots saved by the CLI.
package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
)

// Write writes data to path through a temporary file in the same directory,
// synced, renamed over path, and then the directory synced so that the
// rename itself survives a crash (on Linux a rename is durable only once its
// directory is). If an error comes back before the rename, path is unchanged
// and the temporary file is removed; if only the directory sync fails, path
// already holds data but may lose it in a crash, and the error says so.
func Write(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(perm)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("%s written, but syncing its directory failed, so it may not survive a crash: %w", path, err)
	}
	return nil
}

// syncDir fsyncs the directory dir. A variable so that a test can observe
// when it runs and make it fail.
var syncDir = func(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
