package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/raft"
	"github.com/orch-io/orch/structs"
)

// snapshotRestoreTimeout bounds a snapshot restore through Raft.
const snapshotRestoreTimeout = 2 * time.Minute

// SnapshotSave takes a Raft snapshot on the leader and returns it as a
// snapshot file (see snapshot.go).
func (o *operatorEndpoint) SnapshotSave(ctx context.Context, args *structs.GenericRequest, reply *structs.SnapshotSaveResponse) error {
	if done, err := o.srv.forward(ctx, "Operator.SnapshotSave", args, reply); done {
		return err
	}
	data, h, err := o.srv.saveSnapshot()
	if err != nil {
		return err
	}
	reply.Snapshot, reply.Index = data, h.Index
	return nil
}

// saveSnapshot takes a Raft snapshot and wraps it in the snapshot file
// format.
func (s *Server) saveSnapshot() ([]byte, SnapshotHeader, error) {
	f := s.raft.Snapshot()
	if err := f.Error(); err != nil {
		if errors.Is(err, raft.ErrNothingNewToSnapshot) {
			return nil, SnapshotHeader{}, fmt.Errorf("snapshot save: the state is empty: %w", err)
		}
		return nil, SnapshotHeader{}, fmt.Errorf("snapshot save: taking a raft snapshot: %w", err)
	}
	meta, rc, err := f.Open()
	if err != nil {
		return nil, SnapshotHeader{}, fmt.Errorf("snapshot save: opening the raft snapshot: %w", err)
	}
	defer rc.Close()
	h := SnapshotHeader{Version: snapshotVersion, Index: meta.Index, Term: meta.Term, Created: time.Now().UTC(), Size: uint64(meta.Size)}
	var buf bytes.Buffer
	buf.Grow(snapshotHeaderSize + int(meta.Size) + snapshotTrailerSize)
	if err := WriteSnapshot(&buf, h, rc); err != nil {
		return nil, SnapshotHeader{}, fmt.Errorf("snapshot save: %w", err)
	}
	s.logger.Info("snapshot saved for an operator", "index", meta.Index, "term", meta.Term, "bytes", buf.Len())
	return buf.Bytes(), h, nil
}

// SnapshotRestore replaces the whole cluster's state with a snapshot file's:
// the leader verifies the checksum and decodes the state into a scratch
// store (Raft panics on a snapshot its FSM cannot restore, so nothing
// unreadable may reach it), restores it through Raft, which installs it on
// the followers, and then restarts its leader duties so that the eval broker,
// blocked evaluations and heartbeat timers come from the restored state.
func (o *operatorEndpoint) SnapshotRestore(ctx context.Context, args *structs.SnapshotRestoreRequest, reply *structs.GenericResponse) error {
	if done, err := o.srv.forward(ctx, "Operator.SnapshotRestore", args, reply); done {
		return err
	}
	index, err := o.srv.restoreSnapshot(args.Snapshot)
	if err != nil {
		return err
	}
	reply.Index = index
	return nil
}

func (s *Server) restoreSnapshot(data []byte) (uint64, error) {
	// A file that is not a usable snapshot is the caller's mistake.
	h, payload, err := ReadSnapshot(data)
	if err != nil {
		return 0, structs.NewError(structs.CodeInvalid, "snapshot restore: %w", err)
	}
	if _, err := decodeSnapshotState(payload); err != nil {
		return 0, structs.NewError(structs.CodeInvalid, "snapshot restore: %w", err)
	}
	// Raft restores only once the latest configuration entry is committed;
	// a barrier commits it (on a leader that has just been elected, it may
	// not be yet).
	if err := s.raft.Barrier(barrierTimeout).Error(); err != nil {
		if errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipLost) {
			return 0, fmt.Errorf("%w: snapshot restore: %v", structs.ErrNoLeader, err)
		}
		return 0, fmt.Errorf("snapshot restore: waiting for the log to be applied: %w", err)
	}
	meta := &raft.SnapshotMeta{Version: raft.SnapshotVersionMax, Index: h.Index, Term: h.Term, Size: int64(h.Size)}
	if err := s.raft.Restore(meta, bytes.NewReader(payload), snapshotRestoreTimeout); err != nil {
		if errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipLost) {
			return 0, fmt.Errorf("%w: snapshot restore: %v", structs.ErrNoLeader, err)
		}
		return 0, fmt.Errorf("snapshot restore: %w", err)
	}
	index := s.raft.LastIndex()
	s.logger.Info("snapshot restored through raft", "snapshot_index", h.Index, "index", index)
	if err := s.reassertLeadership(); err != nil {
		return index, fmt.Errorf("snapshot restore: restored at index %d, but restarting the leader's duties failed: %w", index, err)
	}
	return index, nil
}

// reassertLeadership restarts the leader's duties on the current state: the
// leader loop stops, then starts again (barrier, broker and blocked evals
// from the state store, heartbeat timers, workers). It fails when this server
// does not lead.
func (s *Server) reassertLeadership() error {
	done := make(chan error, 1)
	select {
	case s.reassertLeader <- done:
	case <-s.shutdownCtx.Done():
		return errors.New("server: shutting down")
	}
	select {
	case err := <-done:
		return err
	case <-s.shutdownCtx.Done():
		return errors.New("server: shutting down")
	}
}
