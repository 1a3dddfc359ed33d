package api

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
)

// AgentTarget names the agent a debugging call is about: the one the
// client talks to (both empty), a client agent by node ID, or a server by
// name ("leader" for the leader).
type AgentTarget struct {
	NodeID   string
	ServerID string
}

func (t AgentTarget) params() url.Values {
	v := url.Values{}
	if t.NodeID != "" {
		v.Set("node_id", t.NodeID)
	}
	if t.ServerID != "" {
		v.Set("server_id", t.ServerID)
	}
	return v
}

// MonitorOptions select what a monitor receives.
type MonitorOptions struct {
	AgentTarget
	// LogLevel is trace, debug, info (""), warn or error.
	LogLevel string
	// JSON asks for JSON log lines.
	JSON bool
}

// Monitor streams the agent's log lines (GET /v1/agent/monitor) until ctx
// ends or the agent goes away. Frames' Data are whole lines; a frame with
// no Data is a heartbeat. The caller closes it.
func (a *Agent) Monitor(ctx context.Context, opts MonitorOptions) (*Frames, error) {
	params := opts.params()
	if opts.LogLevel != "" {
		params.Set("log_level", opts.LogLevel)
	}
	if opts.JSON {
		params.Set("log_json", "true")
	}
	resp, err := a.c.do(ctx, http.MethodGet, "/v1/agent/monitor", params, nil)
	if err != nil {
		return nil, err
	}
	return &Frames{body: resp.Body, dec: json.NewDecoder(resp.Body)}, nil
}

// PprofOptions select a profile.
type PprofOptions struct {
	AgentTarget
	// Seconds is how long a CPU profile or trace runs (0: 1).
	Seconds int
	// Debug > 0 asks a named profile in text.
	Debug int
	// GC collects garbage before a heap profile.
	GC bool
}

// Pprof takes the agent's profile ("profile", "trace", "goroutine", "heap",
// ...; GET /v1/agent/pprof/:profile): with ACLs the token needs agent:write,
// without ACLs the agent needs enable_debug.
func (a *Agent) Pprof(ctx context.Context, profile string, opts PprofOptions) ([]byte, error) {
	params := opts.params()
	params.Set("seconds", strconv.Itoa(opts.Seconds))
	params.Set("debug", strconv.Itoa(opts.Debug))
	params.Set("gc", strconv.FormatBool(opts.GC))
	resp, err := a.c.do(ctx, http.MethodGet, "/v1/agent/pprof/"+url.PathEscape(profile), params, nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}

// GetRaw answers a GET of path (an API path such as "/v1/agent/self") as
// the agent sent it, for tools that keep the answer (operator debug).
func (c *Client) GetRaw(ctx context.Context, path string, params url.Values) ([]byte, error) {
	resp, err := c.do(ctx, http.MethodGet, path, params, nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}
