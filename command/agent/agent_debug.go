package agent

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"strings"
	"time"

	"github.com/orch-io/orch/internal/logmon"
	"github.com/orch-io/orch/internal/rpcwire"
	"github.com/orch-io/orch/structs"
)

// The agent's debugging calls (structs/agent_debug.go) as the agent serves
// them: its live log (monitor) and its Go profiles (pprof). The HTTP API
// serves them for this agent directly (http_agent_debug.go); the server and
// the client hand them here when another agent asked for this one
// (server.Config.AgentCalls, client.Config.AgentCalls).

// maxProfileSeconds bounds a CPU profile or trace.
const maxProfileSeconds = 300

// profilesServed is Nomad's rule for an agent's Go profiles: with ACLs
// enabled they are served to tokens with agent:write, enable_debug or not
// (the token was checked before the call got here: by the HTTP route's rule,
// and by every server a call for another agent passed through); without
// ACLs, only with enable_debug.
func profilesServed(enableDebug, aclEnabled bool) bool { return enableDebug || aclEnabled }

// errDebugDisabled is the answer to a profile request of an agent that does
// not serve them (profilesServed).
func errDebugDisabled(name string) error {
	return structs.NewError(structs.CodeNotFound,
		"the profiling endpoints of agent %s are disabled: set enable_debug = true in its configuration and restart it (or enable ACLs: a token with agent:write may then take profiles)", name)
}

// serveAgentCall serves an authorized debugging call for this agent: it
// answers on st and sends the frames.
func (a *Agent) serveAgentCall(ctx context.Context, method string, args any, st *rpcwire.Stream) error {
	switch req := args.(type) {
	case *structs.MonitorRequest:
		sub, err := subscribeLogs(a.logs, req)
		if err != nil {
			return st.Answer(err)
		}
		defer sub.Close()
		if err := st.Answer(nil); err != nil {
			return err
		}
		// The caller sends nothing more: reading ends when it hangs up.
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		st.WatchHangup(cancel)
		return streamLogs(ctx, sub, func(f *structs.StreamFrame) error { return st.Send(f) })
	case *structs.ProfileRequest:
		if !profilesServed(a.cfg.EnableDebug, a.cfg.ACL.Enabled) {
			return st.Answer(errDebugDisabled(a.name()))
		}
		out, err := takeProfile(ctx, req)
		if err != nil {
			return st.Answer(err)
		}
		out.AgentName = a.name()
		if err := st.Answer(nil); err != nil {
			return err
		}
		return st.Send(out)
	}
	return st.Answer(structs.NewError(structs.CodeInvalid, "%s: unexpected arguments %T", method, args))
}

// name is how the agent names itself in answers.
func (a *Agent) name() string {
	if a.cfg.NodeName != "" {
		return a.cfg.NodeName
	}
	return "(unnamed)"
}

// parseMonitorLevel reads a monitor's log level ("" is info).
func parseMonitorLevel(s string) (slog.Level, error) {
	if s == "" {
		return slog.LevelInfo, nil
	}
	if strings.EqualFold(s, "trace") {
		return slog.LevelDebug - 4, nil
	}
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToUpper(s))); err != nil {
		return 0, structs.NewError(structs.CodeInvalid, "log_level = %q: must be one of trace, debug, info, warn, error", s)
	}
	return l, nil
}

// subscribeLogs subscribes to b as req asks.
func subscribeLogs(b *logmon.Broadcaster, req *structs.MonitorRequest) (*logmon.Subscription, error) {
	level, err := parseMonitorLevel(req.LogLevel)
	if err != nil {
		return nil, err
	}
	return b.Subscribe(logmon.Options{Level: level, JSON: req.LogJSON}), nil
}

// monitorHeartbeat is how often a quiet monitor sends an empty frame, so
// that a caller that went away is noticed.
const monitorHeartbeat = 10 * time.Second

// streamLogs sends sub's lines as frames (a few lines per frame when they
// come fast) until ctx ends or send fails; lines lost to a slow reader are
// reported in a line of their own.
func streamLogs(ctx context.Context, sub *logmon.Subscription, send func(*structs.StreamFrame) error) error {
	tick := time.NewTicker(monitorHeartbeat)
	defer tick.Stop()
	var reported uint64
	for {
		var data []byte
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		case line := <-sub.Lines():
			data = append(data, line...)
		drain:
			for len(data) < 64<<10 {
				select {
				case line := <-sub.Lines():
					data = append(data, line...)
				default:
					break drain
				}
			}
		}
		if d := sub.Dropped(); d > reported {
			data = append(data, fmt.Sprintf("[monitor] %d log lines dropped: this reader was too slow\n", d-reported)...)
			reported = d
		}
		if err := send(&structs.StreamFrame{Data: data}); err != nil {
			return err
		}
	}
}

// takeProfile takes the profile req names, in net/http/pprof's formats.
func takeProfile(ctx context.Context, req *structs.ProfileRequest) (*structs.ProfileResponse, error) {
	seconds := req.Seconds
	if seconds <= 0 {
		seconds = 1
	}
	if seconds > maxProfileSeconds {
		return nil, structs.NewError(structs.CodeInvalid, "seconds = %d: must be at most %d", req.Seconds, maxProfileSeconds)
	}
	wait := func() error {
		t := time.NewTimer(time.Duration(seconds) * time.Second)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			return nil
		}
	}
	var buf bytes.Buffer
	out := &structs.ProfileResponse{ContentType: "application/octet-stream"}
	switch req.Profile {
	case structs.ProfileCPU:
		if err := pprof.StartCPUProfile(&buf); err != nil {
			return nil, structs.NewError(structs.CodeConflict, "profile: %v (one CPU profile at a time)", err)
		}
		err := wait()
		pprof.StopCPUProfile()
		if err != nil {
			return nil, err
		}
	case structs.ProfileTrace:
		if err := trace.Start(&buf); err != nil {
			return nil, structs.NewError(structs.CodeConflict, "trace: %v (one trace at a time)", err)
		}
		err := wait()
		trace.Stop()
		if err != nil {
			return nil, err
		}
	case structs.ProfileCmd:
		out.ContentType = "text/plain; charset=utf-8"
		buf.WriteString(strings.Join(os.Args, "\x00"))
	default:
		p := pprof.Lookup(req.Profile)
		if p == nil {
			return nil, structs.NewError(structs.CodeNotFound, "profile %q: no such profile (profile, trace, cmdline, %s)",
				req.Profile, strings.Join(profileNames(), ", "))
		}
		if req.Profile == "heap" && req.GC {
			runtime.GC()
		}
		if req.Debug > 0 {
			out.ContentType = "text/plain; charset=utf-8"
		}
		if err := p.WriteTo(&buf, req.Debug); err != nil {
			return nil, fmt.Errorf("profile %q: %w", req.Profile, err)
		}
	}
	out.Data = buf.Bytes()
	return out, nil
}

// profileNames lists runtime/pprof's profiles.
func profileNames() []string {
	var names []string
	for _, p := range pprof.Profiles() {
		names = append(names, p.Name())
	}
	return names
}
