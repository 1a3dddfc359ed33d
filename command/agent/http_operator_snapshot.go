package agent

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/orch-io/orch/structs"
)

// maxSnapshotBody bounds a snapshot uploaded for restore. The snapshot
// travels in one RPC message (structs.SnapshotRestoreRequest), so it must fit
// in memory.
const maxSnapshotBody = 1 << 30

// registerSnapshotRoutes wires the snapshot endpoints, whose bodies are
// snapshot files (application/octet-stream), not JSON.
func (s *HTTPServer) registerSnapshotRoutes() {
	s.handle("GET /v1/operator/snapshot", http.HandlerFunc(s.snapshotSave))
	s.handle("PUT /v1/operator/snapshot", http.HandlerFunc(s.snapshotRestore))
	s.handle("POST /v1/operator/snapshot", http.HandlerFunc(s.snapshotRestore))
}

// snapshotSave is GET /v1/operator/snapshot → Operator.SnapshotSave: the body
// is the snapshot file; X-Orch-Index (and X-Nomad-Index) the Raft index it is at.
func (s *HTTPServer) snapshotSave(w http.ResponseWriter, r *http.Request) {
	q, err := parseQueryOptions(r)
	if err != nil {
		s.writeRawError(w, r, err)
		return
	}
	var reply structs.SnapshotSaveResponse
	if err := s.backend.RPC(r.Context(), "Operator.SnapshotSave", &structs.GenericRequest{QueryOptions: q}, &reply); err != nil {
		s.writeRawError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.Itoa(len(reply.Snapshot)))
	// Nomad's client checks the download against this digest (RFC 3230).
	sum := sha256.Sum256(reply.Snapshot)
	w.Header().Set("Digest", "sha-256="+base64.StdEncoding.EncodeToString(sum[:]))
	w.Header().Set(headerIndex, strconv.FormatUint(reply.Index, 10))
	w.Header().Set(nomadIndex, strconv.FormatUint(reply.Index, 10))
	if _, err := w.Write(reply.Snapshot); err != nil {
		s.logger.Warn("sending a snapshot failed", "error", err)
	}
}

// snapshotRestore is PUT/POST /v1/operator/snapshot → Operator.SnapshotRestore:
// the body is a snapshot file; the answer {"Index": N}.
func (s *HTTPServer) snapshotRestore(w http.ResponseWriter, r *http.Request) {
	data, err := io.ReadAll(io.LimitReader(r.Body, maxSnapshotBody+1))
	if err != nil {
		s.writeRawError(w, r, badRequest("reading the snapshot: %v", err))
		return
	}
	if len(data) > maxSnapshotBody {
		s.writeRawError(w, r, badRequest("snapshot larger than %d bytes", maxSnapshotBody))
		return
	}
	var reply structs.GenericResponse
	req := &structs.SnapshotRestoreRequest{Snapshot: data, WriteRequest: writeRequest(r)}
	if err := s.backend.RPC(r.Context(), "Operator.SnapshotRestore", req, &reply); err != nil {
		// An unusable file (not a snapshot, bad checksum, undecodable
		// state) comes back invalid: a 400.
		s.writeRawError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, "{\"Index\":%d}\n", reply.Index)
}
