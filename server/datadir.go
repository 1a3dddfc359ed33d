package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/uuid"
	"github.com/orch-io/orch/internal/boltcheck"
)

// Start-up checks of the server's data dir (<DataDir>/server): a file an
// earlier run left that cannot be read stops the server with an error naming
// it. Nothing is ever reinitialised over it: the operator decides whether to
// move it away (and start this server over, to rejoin from the others or
// from a snapshot) or to repair it.

// unreadable is the error of a data dir file the server cannot use.
func unreadable(what, path string, err error) error {
	return fmt.Errorf("server: %s %s is unreadable: %w: refusing to start (move it away to start over)", what, path, err)
}

// checkDataDir checks what Raft will read in raftDir: the log (raft.db) and
// the snapshots' metadata. hashicorp/raft skips a snapshot whose metadata it
// cannot read, and would then start from the log alone, which no longer
// holds what was compacted into the snapshot.
func checkDataDir(raftDir string) error {
	logPath := filepath.Join(raftDir, "raft.db")
	if err := boltcheck.Check(logPath); errors.Is(err, boltcheck.ErrLocked) {
		return fmt.Errorf("server: raft log %s: %w", logPath, err)
	} else if err != nil {
		return unreadable("raft log", logPath, err)
	}
	snapDir := filepath.Join(raftDir, "snapshots")
	entries, err := os.ReadDir(snapDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return unreadable("raft snapshot directory", snapDir, err)
	}
	for _, e := range entries {
		// Raft writes a snapshot into "<name>.tmp" and renames it when
		// complete; it removes the unfinished ones itself.
		if !e.IsDir() || strings.HasSuffix(e.Name(), ".tmp") {
			continue
		}
		dir := filepath.Join(snapDir, e.Name())
		metaPath := filepath.Join(dir, "meta.json")
		buf, err := os.ReadFile(metaPath)
		if err != nil {
			return unreadable("raft snapshot metadata", metaPath, err)
		}
		var meta struct{ Index, Term uint64 }
		if err := json.Unmarshal(buf, &meta); err != nil {
			return unreadable("raft snapshot metadata", metaPath, err)
		}
		if meta.Index == 0 {
			return unreadable("raft snapshot metadata", metaPath, errors.New("no index"))
		}
		statePath := filepath.Join(dir, "state.bin")
		if _, err := os.Stat(statePath); err != nil {
			return unreadable("raft snapshot", statePath, err)
		}
	}
	return nil
}

// validServerID checks the content of the server-id file.
func validServerID(id string) error {
	if id == "" {
		return errors.New("the file is empty")
	}
	if _, err := uuid.Parse(id); err != nil || len(id) != 36 {
		return fmt.Errorf("it holds %q, not a server ID (a UUID)", truncateForError(id))
	}
	return nil
}

func truncateForError(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}
