package agent

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/orch-io/orch/internal/rpcwire"
	"github.com/orch-io/orch/structs"
)

// The agent's debugging endpoints, Nomad's paths and parameters:
//
//	GET /v1/agent/monitor?log_level=&log_json=&node_id=&server_id=   (agent:read)
//	GET /v1/agent/pprof/{profile}?seconds=&debug=&gc=&node_id=&server_id=  (agent:write; enable_debug without ACLs)
//
// Without node_id or server_id they are about this agent; node_id reaches a
// client agent as the client calls do (Server.DialNode), server_id a server
// through the server this agent talks to (structs.AgentMonitor). The monitor
// answers a stream of JSON StreamFrames whose Data (base64) is log lines, as
// Nomad's api.Agent().Monitor decodes it; a profile answers its bytes.
// The agent that serves a profile decides whether it serves profiles at all
// (profilesServed: with ACLs, to agent:write tokens; without, only with
// enable_debug), as Nomad's does.

func (s *HTTPServer) registerAgentDebugRoutes() {
	s.mux.Handle("GET /v1/agent/monitor", http.HandlerFunc(s.agentMonitor))
	s.mux.Handle("GET /v1/agent/pprof/{profile}", http.HandlerFunc(s.agentPprof))
}

// agentTarget reads node_id and server_id: at most one of them.
func agentTarget(r *http.Request) (nodeID, serverID string, err error) {
	q := r.URL.Query()
	nodeID, serverID = q.Get("node_id"), q.Get("server_id")
	if nodeID != "" && serverID != "" {
		return "", "", badRequest("node_id = %q and server_id = %q: give one of them, not both", nodeID, serverID)
	}
	return nodeID, serverID, nil
}

// openAgentCall opens the debugging call on the node or server named:
// clientMethod through Server.DialNode, serverMethod through a server.
func (s *HTTPServer) openAgentCall(r *http.Request, nodeID, clientMethod, serverMethod string, args any) (*rpcwire.Stream, error) {
	ctx := r.Context()
	if nodeID != "" {
		dial, err := s.nodeCallDial(ctx, r, nodeID, clientMethod)
		if err != nil {
			return nil, err
		}
		return s.dialClientCall(ctx, dial, args)
	}
	conn, err := s.backend.DialServer(ctx)
	if err != nil {
		return nil, err
	}
	return rpcwire.OpenStream(ctx, conn, serverMethod, args)
}

// agentMonitor is GET /v1/agent/monitor.
func (s *HTTPServer) agentMonitor(w http.ResponseWriter, r *http.Request) {
	nodeID, serverID, err := agentTarget(r)
	if err != nil {
		s.writeRawError(w, r, err)
		return
	}
	q := r.URL.Query()
	req := &structs.MonitorRequest{LogLevel: q.Get("log_level"), ServerID: serverID, AuthToken: requestToken(r)}
	if req.LogJSON, err = queryBool(r, "log_json"); err != nil {
		s.writeRawError(w, r, err)
		return
	}
	if _, err := parseMonitorLevel(req.LogLevel); err != nil {
		s.writeRawError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if nodeID != "" || serverID != "" {
		st, err := s.openAgentCall(r, nodeID, structs.ClientAgentMonitor, structs.AgentMonitor, req)
		if err != nil {
			s.writeRawError(w, r, err)
			return
		}
		defer st.Close()
		s.copyFrames(w, st, false)
		return
	}
	sub, err := subscribeLogs(s.backend.Logs(), req)
	if err != nil {
		s.writeRawError(w, r, err)
		return
	}
	defer sub.Close()
	rc := http.NewResponseController(w)
	w.WriteHeader(http.StatusOK)
	_ = rc.Flush()
	enc := json.NewEncoder(w)
	_ = streamLogs(r.Context(), sub, func(f *structs.StreamFrame) error {
		if err := enc.Encode(f); err != nil {
			return err
		}
		return rc.Flush()
	})
}

// agentPprof is GET /v1/agent/pprof/{profile}.
func (s *HTTPServer) agentPprof(w http.ResponseWriter, r *http.Request) {
	nodeID, serverID, err := agentTarget(r)
	if err != nil {
		s.writeRawError(w, r, err)
		return
	}
	req := &structs.ProfileRequest{Profile: r.PathValue("profile"), ServerID: serverID, AuthToken: requestToken(r)}
	for name, dst := range map[string]*int{"seconds": &req.Seconds, "debug": &req.Debug} {
		if v := r.URL.Query().Get(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				s.writeRawError(w, r, badRequest("%s = %q: must be a whole number >= 0", name, v))
				return
			}
			*dst = n
		}
	}
	if req.GC, err = queryBool(r, "gc"); err != nil {
		s.writeRawError(w, r, err)
		return
	}
	var out *structs.ProfileResponse
	if nodeID != "" || serverID != "" {
		st, err := s.openAgentCall(r, nodeID, structs.ClientAgentProfile, structs.AgentProfile, req)
		if err != nil {
			s.writeRawError(w, r, err)
			return
		}
		defer st.Close()
		out = new(structs.ProfileResponse)
		if err := recvOne(st, structs.AgentProfile, out); err != nil {
			s.writeRawError(w, r, err)
			return
		}
	} else {
		if !profilesServed(s.opts.EnableDebug, s.opts.ACL) {
			s.writeRawError(w, r, errDebugDisabled(s.opts.AgentName))
			return
		}
		if out, err = takeProfile(r.Context(), req); err != nil {
			s.writeRawError(w, r, err)
			return
		}
	}
	w.Header().Set("Content-Type", out.ContentType)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if out.ContentType == "application/octet-stream" {
		w.Header().Set("Content-Disposition", `attachment; filename="`+req.Profile+`"`)
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out.Data)
}
