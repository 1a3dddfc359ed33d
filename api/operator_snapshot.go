package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// SnapshotSave returns the cluster's state as a snapshot file (see
// `orch operator snapshot`); the caller closes it. With q.AllowStale the
// agent's server snapshots its own state, leader or not.
func (o *Operator) SnapshotSave(q *QueryOptions) (io.ReadCloser, error) {
	ctx := context.Background()
	params := url.Values{}
	if q != nil {
		if q.Context != nil {
			ctx = q.Context
		}
		if q.AllowStale {
			params.Set("stale", "true")
		}
	}
	resp, err := o.c.do(ctx, http.MethodGet, "/v1/operator/snapshot", params, nil)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// SnapshotRestore replaces the whole cluster's state with the snapshot file's
// and returns the Raft index of the restore.
func (o *Operator) SnapshotRestore(snapshot []byte) (uint64, error) {
	resp, err := o.c.do(context.Background(), http.MethodPut, "/v1/operator/snapshot", nil, bytes.NewReader(snapshot))
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var out struct{ Index uint64 }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return 0, fmt.Errorf("decoding the response of /v1/operator/snapshot from %s: %w", o.c.Address(), err)
	}
	return out.Index, nil
}
