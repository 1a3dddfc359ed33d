package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/orch-io/orch/structs"
)

// AllocFS is the /v1/client/fs endpoints: an allocation's files and logs,
// served by the client that runs it (reached through any agent).
type AllocFS struct{ c *Client }

// AllocFS returns the allocation file endpoints.
func (c *Client) AllocFS() *AllocFS { return &AllocFS{c: c} }

func fsParams(p string) url.Values { return url.Values{"path": {p}} }

// List lists the directory at path of the allocation (a file's path lists
// the file).
func (a *AllocFS) List(ctx context.Context, allocID, path string) ([]*structs.AllocFileInfo, error) {
	var out []*structs.AllocFileInfo
	return out, a.get(ctx, "/v1/client/fs/ls/", allocID, fsParams(path), &out)
}

// Stat describes the file at path of the allocation.
func (a *AllocFS) Stat(ctx context.Context, allocID, path string) (*structs.AllocFileInfo, error) {
	var out structs.AllocFileInfo
	if err := a.get(ctx, "/v1/client/fs/stat/", allocID, fsParams(path), &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Cat returns the content of the file at path of the allocation; the caller
// closes it.
func (a *AllocFS) Cat(ctx context.Context, allocID, path string) (io.ReadCloser, error) {
	p, err := idPath("/v1/client/fs/cat/", "allocation", allocID)
	if err != nil {
		return nil, err
	}
	resp, err := a.c.do(ctx, http.MethodGet, p, fsParams(path), nil)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

func (a *AllocFS) get(ctx context.Context, prefix, allocID string, params url.Values, out any) error {
	p, err := idPath(prefix, "allocation", allocID)
	if err != nil {
		return err
	}
	resp, err := a.c.do(ctx, http.MethodGet, p, params, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return a.c.decode(resp, p, out)
}

// LogsOptions selects a task's log stream.
type LogsOptions struct {
	Task string
	// Stderr reads stderr instead of stdout.
	Stderr bool
	// Origin is structs.LogOriginStart (default) or LogOriginEnd; Offset
	// counts bytes from it.
	Origin string
	Offset int64
	// Follow keeps the stream open and delivers new output until ctx ends.
	Follow bool
}

// Frames reads a log stream frame by frame.
type Frames struct {
	body io.ReadCloser
	dec  *json.Decoder
}

// Next returns the next frame; io.EOF at the end of a stream that does not
// follow. A frame with no Data is a heartbeat: the first one of a followed
// stream says that everything written so far has been delivered.
func (f *Frames) Next() (*structs.StreamFrame, error) {
	var fr structs.StreamFrame
	if err := f.dec.Decode(&fr); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, io.EOF
		}
		return nil, err
	}
	return &fr, nil
}

// Close ends the stream.
func (f *Frames) Close() error { return f.body.Close() }

// Logs opens the log stream of a task of the allocation. The caller closes
// it; ctx ends it too.
func (a *AllocFS) Logs(ctx context.Context, allocID string, opts LogsOptions) (*Frames, error) {
	p, err := idPath("/v1/client/fs/logs/", "allocation", allocID)
	if err != nil {
		return nil, err
	}
	typ := "stdout"
	if opts.Stderr {
		typ = "stderr"
	}
	origin := opts.Origin
	if origin == "" {
		origin = structs.LogOriginStart
	}
	params := url.Values{
		"task":   {opts.Task},
		"type":   {typ},
		"origin": {origin},
		"offset": {strconv.FormatInt(opts.Offset, 10)},
		"follow": {strconv.FormatBool(opts.Follow)},
	}
	resp, err := a.c.do(ctx, http.MethodGet, p, params, nil)
	if err != nil {
		return nil, err
	}
	return &Frames{body: resp.Body, dec: json.NewDecoder(resp.Body)}, nil
}

// Restart restarts a task of the allocation in place (task ""; all its
// running tasks). It does not count against the restart policy.
func (a *Allocations) Restart(allocID, task string) error {
	p, err := idPath("/v1/client/allocation/", "allocation", allocID)
	if err != nil {
		return err
	}
	body := &structs.AllocRestartRequest{TaskName: task, AllTasks: task == ""}
	return a.c.write(http.MethodPut, p+"/restart", nil, body, nil)
}

// Signal sends signal ("SIGHUP"; "" is SIGKILL) to a task of the allocation
// (task "": all its running tasks).
func (a *Allocations) Signal(allocID, task, signal string) error {
	p, err := idPath("/v1/client/allocation/", "allocation", allocID)
	if err != nil {
		return err
	}
	return a.c.write(http.MethodPut, p+"/signal", nil, &structs.AllocSignalRequest{Task: task, Signal: signal}, nil)
}
