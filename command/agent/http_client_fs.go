package agent

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/orch-io/orch/internal/rpcwire"
	"github.com/orch-io/orch/structs"
)

// The client endpoints of the HTTP API, as Nomad's /v1/client/...: the files
// and logs of an allocation, restarting and signalling its tasks. The agent
// finds the allocation's node, opens a stream to that node's client
// (Backend.DialNode: in process, over the session the client holds to a
// server, or through the server that holds it) and makes one streaming call
// on it (structs/client_rpc.go).
//
//	GET      /v1/client/fs/ls/:alloc_id?path=       → []AllocFileInfo
//	GET      /v1/client/fs/stat/:alloc_id?path=     → AllocFileInfo
//	GET      /v1/client/fs/cat/:alloc_id?path=      → the file's bytes
//	GET      /v1/client/fs/logs/:alloc_id?task=&type=stdout|stderr&follow=&origin=start|end&offset=&plain=
//	         → JSON StreamFrames one after another (Data base64), or with
//	           plain=true the bytes alone
//	PUT/POST /v1/client/allocation/:id/restart {"TaskName", "AllTasks"}
//	PUT/POST /v1/client/allocation/:id/signal  {"Task", "Signal"}
//	GET      /v1/client/allocation/:id/stats?task= → AllocResourceUsage

func (s *HTTPServer) registerClientRoutes() {
	for _, r := range []struct {
		pattern string
		handler http.HandlerFunc
	}{
		{"GET /v1/client/fs/ls/{id}", s.fsList},
		{"GET /v1/client/fs/stat/{id}", s.fsStat},
		{"GET /v1/client/fs/cat/{id}", s.fsCat},
		{"GET /v1/client/fs/logs/{id}", s.fsLogs},
		{"GET /v1/client/allocation/{id}/stats", s.allocStats},
	} {
		s.mux.Handle(r.pattern, r.handler)
	}
	for _, m := range []string{"PUT", "POST"} {
		s.mux.Handle(m+" /v1/client/allocation/{id}/restart", s.wrap(s.allocRestart))
		s.mux.Handle(m+" /v1/client/allocation/{id}/signal", s.wrap(s.allocSignal))
	}
	s.mux.Handle("GET /v1/client/allocation/{id}/exec", http.HandlerFunc(s.allocExec))
}

// openClientCall finds the node of the allocation named in the path and
// opens method on its client.
func (s *HTTPServer) openClientCall(ctx context.Context, r *http.Request, method string, args func(allocID string) any) (*rpcwire.Stream, error) {
	dial, err := s.clientCallDial(ctx, r, method)
	if err != nil {
		return nil, err
	}
	return s.dialClientCall(ctx, dial, args(dial.AllocID))
}

// clientCallDial reads the allocation named in the path, checks that the
// request may make method on it (authorizeClientCall) and returns the dial
// to its node.
func (s *HTTPServer) clientCallDial(ctx context.Context, r *http.Request, method string) (*structs.DialNodeRequest, error) {
	dial, _, err := s.clientCallDialAlloc(ctx, r, method)
	return dial, err
}

// clientCallDialAlloc is clientCallDial that also returns the allocation.
func (s *HTTPServer) clientCallDialAlloc(ctx context.Context, r *http.Request, method string) (*structs.DialNodeRequest, *structs.Allocation, error) {
	id, err := pathID(r, "allocation")
	if err != nil {
		return nil, nil, err
	}
	var reply structs.SingleAllocResponse
	if err := s.backend.RPC(ctx, "Alloc.GetAlloc", &structs.AllocSpecificRequest{AllocID: id}, &reply); err != nil {
		return nil, nil, err
	}
	if reply.Alloc == nil {
		return nil, nil, notFound("allocation %q not found", id)
	}
	if reply.Alloc.NodeID == "" {
		return nil, nil, notFound("allocation %s is not placed on a node", id)
	}
	if err := s.authorizeClientCall(ctx, r, method, reply.Alloc); err != nil {
		return nil, nil, err
	}
	return &structs.DialNodeRequest{NodeID: reply.Alloc.NodeID, AllocID: id, Method: method,
		AllocIndex: reply.Index, AuthToken: requestToken(r)}, reply.Alloc, nil
}

// dialClientCall opens dial's call with args on the allocation's node.
func (s *HTTPServer) dialClientCall(ctx context.Context, dial *structs.DialNodeRequest, args any) (*rpcwire.Stream, error) {
	conn, err := s.backend.DialNode(ctx, dial)
	if err != nil {
		return nil, err
	}
	return rpcwire.OpenStream(ctx, conn, dial.Method, args)
}

// clientUnary makes a call whose answer is one frame.
func (s *HTTPServer) clientUnary(r *http.Request, method string, args func(string) any, out any) error {
	st, err := s.openClientCall(r.Context(), r, method, args)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Recv(out); err != nil {
		return structs.NewError(structs.CodeInternal, "%s: reading the client's answer: %v", method, err)
	}
	return nil
}

// fsArgs builds the FSRequest of an fs request's query.
func fsArgs(r *http.Request) func(string) any {
	return func(id string) any { return &structs.FSRequest{AllocID: id, Path: r.URL.Query().Get("path")} }
}

func (s *HTTPServer) fsList(w http.ResponseWriter, r *http.Request) {
	out := []*structs.AllocFileInfo{}
	s.writeJSON(w, r, &out, s.clientUnary(r, structs.ClientFSList, fsArgs(r), &out))
}

func (s *HTTPServer) fsStat(w http.ResponseWriter, r *http.Request) {
	var out structs.AllocFileInfo
	s.writeJSON(w, r, &out, s.clientUnary(r, structs.ClientFSStat, fsArgs(r), &out))
}

// writeJSON writes err, or else the JSON of out.
func (s *HTTPServer) writeJSON(w http.ResponseWriter, r *http.Request, out any, err error) {
	if err != nil {
		s.writeRawError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(out); err != nil {
		s.logger.Debug("http response not written", "path", r.URL.Path, "error", err)
	}
}

func (s *HTTPServer) fsCat(w http.ResponseWriter, r *http.Request) {
	st, err := s.openClientCall(r.Context(), r, structs.ClientFSCat, fsArgs(r))
	if err != nil {
		s.writeRawError(w, r, err)
		return
	}
	defer st.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	s.copyFrames(w, st, true)
}

// fsLogs is GET /v1/client/fs/logs/:alloc_id. The caller's right to the
// logs is decided before its query is read.
func (s *HTTPServer) fsLogs(w http.ResponseWriter, r *http.Request) {
	dial, err := s.clientCallDial(r.Context(), r, structs.ClientFSLogs)
	if err != nil {
		s.writeRawError(w, r, err)
		return
	}
	q := r.URL.Query()
	args := &structs.FSLogsRequest{AllocID: dial.AllocID, Task: q.Get("task"), LogType: q.Get("type"), Origin: q.Get("origin")}
	if args.Origin == "" {
		args.Origin = structs.LogOriginStart
	}
	if args.Follow, err = queryBool(r, "follow"); err != nil {
		s.writeRawError(w, r, err)
		return
	}
	plain, err := queryBool(r, "plain")
	if err != nil {
		s.writeRawError(w, r, err)
		return
	}
	if v := q.Get("offset"); v != "" {
		if args.Offset, err = strconv.ParseInt(v, 10, 64); err != nil || args.Offset < 0 {
			s.writeRawError(w, r, badRequest("offset = %q: must be a whole number of bytes >= 0", v))
			return
		}
	}
	if args.Task == "" {
		s.writeRawError(w, r, badRequest("missing task name: ?task="))
		return
	}
	st, err := s.dialClientCall(r.Context(), dial, args)
	if err != nil {
		s.writeRawError(w, r, err)
		return
	}
	defer st.Close()
	if plain {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	} else {
		w.Header().Set("Content-Type", "application/json")
	}
	s.copyFrames(w, st, plain)
}

// copyFrames writes the frames of st to w as they come, flushing each: their
// Data alone when raw, else each frame as a JSON object (Nomad's
// StreamFrame), heartbeats included.
func (s *HTTPServer) copyFrames(w http.ResponseWriter, st *rpcwire.Stream, raw bool) {
	rc := http.NewResponseController(w)
	enc := json.NewEncoder(w)
	w.WriteHeader(http.StatusOK)
	_ = rc.Flush()
	for {
		var f structs.StreamFrame
		if err := st.Recv(&f); err != nil {
			if !errors.Is(err, io.EOF) {
				s.logger.Debug("client stream ended", "error", err)
			}
			return
		}
		var err error
		switch {
		case raw && len(f.Data) == 0:
			continue
		case raw:
			_, err = w.Write(f.Data)
		default:
			err = enc.Encode(&f)
		}
		if err != nil {
			return // the caller hung up
		}
		if err := rc.Flush(); err != nil {
			return
		}
	}
}

// queryBool parses an optional true/false query parameter.
func queryBool(r *http.Request, name string) (bool, error) {
	switch v := r.URL.Query().Get(name); v {
	case "", "false", "0":
		return false, nil
	case "true", "1":
		return true, nil
	default:
		return false, badRequest("%s = %q: must be true or false", name, v)
	}
}

// decodeBody decodes an optional JSON body into v.
func decodeBody(r *http.Request, v any) error {
	if r.Body == nil || r.ContentLength == 0 {
		return nil
	}
	if err := json.NewDecoder(r.Body).Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return badRequest("request body: %v", err)
	}
	return nil
}

// allocRestart is PUT /v1/client/allocation/:id/restart.
func (s *HTTPServer) allocRestart(r *http.Request) (any, error) {
	var body structs.AllocRestartRequest
	if err := decodeBody(r, &body); err != nil {
		return nil, err
	}
	var out structs.GenericResponse
	err := s.clientUnary(r, structs.ClientAllocRestart, func(id string) any { body.AllocID = id; return &body }, &out)
	return &out, err
}

// allocSignal is PUT /v1/client/allocation/:id/signal.
func (s *HTTPServer) allocSignal(r *http.Request) (any, error) {
	var body structs.AllocSignalRequest
	if err := decodeBody(r, &body); err != nil {
		return nil, err
	}
	var out structs.GenericResponse
	err := s.clientUnary(r, structs.ClientAllocSignal, func(id string) any { body.AllocID = id; return &body }, &out)
	return &out, err
}

// allocStats is GET /v1/client/allocation/:id/stats.
func (s *HTTPServer) allocStats(w http.ResponseWriter, r *http.Request) {
	var out structs.AllocResourceUsage
	task := r.URL.Query().Get("task")
	s.writeJSON(w, r, &out, s.clientUnary(r, structs.ClientAllocStats, func(id string) any {
		return &structs.AllocStatsRequest{AllocID: id, Task: task}
	}, &out))
}
