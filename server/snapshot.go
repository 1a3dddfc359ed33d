package server

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/orch-io/orch/server/state"
	"github.com/orch-io/orch/structs"
)

// The snapshot file of `orch operator snapshot save/inspect/restore`:
//
//	header   "ORCHSNAP" (8 bytes), then big-endian: version uint16,
//	         raft index uint64, raft term uint64, created (unix ns) int64,
//	         payload size uint64
//	payload  the FSM snapshot exactly as Raft stores it (state.Snapshot.Persist)
//	trailer  sha256 of header and payload (32 bytes)
//
// The checksum covers everything before it, so a flipped byte anywhere, or a
// truncated file, is caught before anything is restored.

const (
	snapshotMagic       = "ORCHSNAP"
	snapshotVersion     = 1
	snapshotHeaderSize  = len(snapshotMagic) + 2 + 8 + 8 + 8 + 8
	snapshotTrailerSize = sha256.Size
)

// ErrSnapshotChecksum is the error of a snapshot file whose content does not
// match its sha256 checksum: it was corrupted or truncated.
var ErrSnapshotChecksum = errors.New("snapshot: sha256 checksum mismatch: the file is corrupt or truncated")

// SnapshotHeader describes a snapshot file.
type SnapshotHeader struct {
	Version uint16
	Index   uint64 // the Raft index the state is at
	Term    uint64
	Created time.Time
	Size    uint64 // bytes of FSM payload
}

// WriteSnapshot writes a snapshot file to w: the header h (its Size must be
// the payload's length), the payload read from r, and the checksum.
func WriteSnapshot(w io.Writer, h SnapshotHeader, payload io.Reader) error {
	sum := sha256.New()
	out := io.MultiWriter(w, sum)
	hdr := make([]byte, 0, snapshotHeaderSize)
	hdr = append(hdr, snapshotMagic...)
	hdr = binary.BigEndian.AppendUint16(hdr, snapshotVersion)
	hdr = binary.BigEndian.AppendUint64(hdr, h.Index)
	hdr = binary.BigEndian.AppendUint64(hdr, h.Term)
	hdr = binary.BigEndian.AppendUint64(hdr, uint64(h.Created.UnixNano()))
	hdr = binary.BigEndian.AppendUint64(hdr, h.Size)
	if _, err := out.Write(hdr); err != nil {
		return fmt.Errorf("snapshot: writing the header: %w", err)
	}
	n, err := io.Copy(out, payload)
	if err != nil {
		return fmt.Errorf("snapshot: writing the state: %w", err)
	}
	if uint64(n) != h.Size {
		return fmt.Errorf("snapshot: the state is %d bytes, the header says %d", n, h.Size)
	}
	if _, err := w.Write(sum.Sum(nil)); err != nil {
		return fmt.Errorf("snapshot: writing the checksum: %w", err)
	}
	return nil
}

// ReadSnapshot parses and verifies a whole snapshot file. It returns the
// header and the FSM payload (a slice of data), or an error saying what is
// wrong: not a snapshot, an unknown version, a wrong size, or
// ErrSnapshotChecksum.
func ReadSnapshot(data []byte) (SnapshotHeader, []byte, error) {
	var h SnapshotHeader
	if len(data) < len(snapshotMagic) || string(data[:len(snapshotMagic)]) != snapshotMagic {
		return h, nil, fmt.Errorf("snapshot: not an orch snapshot file: it does not start with %q", snapshotMagic)
	}
	if len(data) < snapshotHeaderSize+snapshotTrailerSize {
		return h, nil, fmt.Errorf("snapshot: %d bytes, shorter than a header and checksum: %w", len(data), ErrSnapshotChecksum)
	}
	b := data[len(snapshotMagic):]
	h.Version = binary.BigEndian.Uint16(b)
	h.Index = binary.BigEndian.Uint64(b[2:])
	h.Term = binary.BigEndian.Uint64(b[10:])
	h.Created = time.Unix(0, int64(binary.BigEndian.Uint64(b[18:]))).UTC()
	h.Size = binary.BigEndian.Uint64(b[26:])
	body := data[:len(data)-snapshotTrailerSize]
	want := data[len(data)-snapshotTrailerSize:]
	got := sha256.Sum256(body)
	if !bytes.Equal(got[:], want) {
		return h, nil, fmt.Errorf("%w (file says %s, content hashes to %s)", ErrSnapshotChecksum,
			hex.EncodeToString(want)[:16], hex.EncodeToString(got[:])[:16])
	}
	if h.Version != snapshotVersion {
		return h, nil, fmt.Errorf("snapshot: version %d: this orch reads version %d", h.Version, snapshotVersion)
	}
	payload := body[snapshotHeaderSize:]
	if uint64(len(payload)) != h.Size {
		return h, nil, fmt.Errorf("snapshot: the header says %d bytes of state, the file holds %d", h.Size, len(payload))
	}
	return h, payload, nil
}

// SnapshotSummary is what `orch operator snapshot inspect` shows.
type SnapshotSummary struct {
	SnapshotHeader
	Jobs, Nodes, Allocs, Evals int
}

// InspectSnapshot verifies a snapshot file and decodes its state into a
// scratch state store to count its objects.
func InspectSnapshot(data []byte) (*SnapshotSummary, error) {
	h, payload, err := ReadSnapshot(data)
	if err != nil {
		return nil, err
	}
	st, err := decodeSnapshotState(payload)
	if err != nil {
		return nil, err
	}
	snap := st.Snapshot()
	return &SnapshotSummary{
		SnapshotHeader: h,
		Jobs:           len(snap.Jobs(structs.AllNamespaces, "")),
		Nodes:          len(snap.Nodes("")),
		Allocs:         len(snap.Allocs("")),
		Evals:          len(snap.Evals("")),
	}, nil
}

// decodeSnapshotState restores an FSM payload into a new state store.
func decodeSnapshotState(payload []byte) (*state.StateStore, error) {
	st := state.NewStateStore()
	if err := st.Restore(bytes.NewReader(payload)); err != nil {
		return nil, fmt.Errorf("snapshot: decoding the state: %w", err)
	}
	return st, nil
}
