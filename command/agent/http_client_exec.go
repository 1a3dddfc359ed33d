package agent

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/internal/rpcwire"
	"github.com/orch-io/orch/structs"
)

// GET /v1/client/allocation/:id/exec?task=&command=["cmd","arg"]&tty=true
// (Nomad's): an interactive command in a running task, over a WebSocket
// whose messages are api.ExecStreamingInput (from the caller) and
// api.ExecStreamingOutput (to it). Everything that can be decided before
// the command runs — the query, the allocation and task, the caller's
// alloc-exec capability, the client's answer that the task runs — is
// answered as a plain HTTP error before the upgrade; what goes wrong after
// it ends the WebSocket with a close message whose text says why. The
// agent relays between the WebSocket and a ClientAlloc.Exec streaming call
// on the allocation's client (through Backend.DialNode, as the fs calls).

// execCloseTextMax is what a close message's text may hold (125 bytes of
// control frame payload, 2 of them the close code).
const execCloseTextMax = 123

var execUpgrader = websocket.Upgrader{ReadBufferSize: 4096, WriteBufferSize: 4096}

func (s *HTTPServer) allocExec(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	// The caller's right to exec is decided before its query is read.
	dial, alloc, err := s.clientCallDialAlloc(ctx, r, structs.ClientAllocExec)
	var args *structs.ExecRequest
	if err == nil {
		args, err = execQuery(r)
	}
	if err == nil {
		err = execTarget(alloc, args)
	}
	var st *rpcwire.Stream
	if err == nil {
		args.AllocID = dial.AllocID
		st, err = s.dialClientCall(ctx, dial, args)
	}
	if err != nil {
		s.writeRawError(w, r, err)
		return
	}
	defer st.Close()
	// ServeHTTP's recorder hides http.Hijacker from gorilla; the response
	// controller finds it underneath.
	ws, err := execUpgrader.Upgrade(hijackable{w}, r, nil)
	if err != nil {
		return // the upgrader answered the caller
	}
	defer ws.Close()
	s.relayExec(ctx, cancel, ws, st)
}

// execQuery reads the exec's query: command (a JSON array of strings, not
// empty), task, tty.
func execQuery(r *http.Request) (*structs.ExecRequest, error) {
	q := r.URL.Query()
	args := &structs.ExecRequest{Task: q.Get("task")}
	raw := q.Get("command")
	if raw == "" {
		return nil, badRequest(`missing command: ?command=["cmd","arg",...] (a JSON array of strings)`)
	}
	if err := json.Unmarshal([]byte(raw), &args.Cmd); err != nil {
		return nil, badRequest("command = %q: must be a JSON array of strings: %v", raw, err)
	}
	if len(args.Cmd) == 0 || args.Cmd[0] == "" {
		return nil, badRequest("command = %q: must name a command to run", raw)
	}
	var err error
	if args.Tty, err = queryBool(r, "tty"); err != nil {
		return nil, err
	}
	return args, nil
}

// execTarget checks that alloc can run an exec in args.Task (defaulting to
// the group's only task) and sets it.
func execTarget(alloc *structs.Allocation, args *structs.ExecRequest) error {
	var tasks []string
	if alloc.Job != nil {
		if tg := alloc.Job.LookupTaskGroup(alloc.TaskGroup); tg != nil {
			for _, t := range tg.Tasks {
				tasks = append(tasks, t.Name)
			}
		}
	}
	switch {
	case args.Task == "" && len(tasks) == 1:
		args.Task = tasks[0]
	case args.Task == "":
		return badRequest("missing task: ?task= one of %s", strings.Join(tasks, ", "))
	case !slices.Contains(tasks, args.Task):
		return notFound("allocation %s has no task %q (tasks: %s)", alloc.ID, args.Task, strings.Join(tasks, ", "))
	}
	if alloc.TerminalStatus() {
		status := string(alloc.ClientStatus)
		if alloc.ServerTerminal() && !alloc.ClientTerminal() {
			status = "stopping (desired status " + string(alloc.DesiredStatus) + ")"
		}
		return structs.NewError(structs.CodeConflict, "allocation %s is %s: exec needs a running task", alloc.ID, status)
	}
	return nil
}

// relayExec carries the session until the command exits or either side
// hangs up.
func (s *HTTPServer) relayExec(ctx context.Context, cancel context.CancelFunc, ws *websocket.Conn, st *rpcwire.Stream) {
	var writeMu sync.Mutex
	closeWith := func(code int, text string) {
		if len(text) > execCloseTextMax {
			text = text[:execCloseTextMax-3] + "..."
		}
		writeMu.Lock()
		defer writeMu.Unlock()
		_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, text), time.Now().Add(5*time.Second))
	}
	// The caller's messages, until it hangs up: then the stream to the
	// client closes, which kills the command.
	go func() {
		defer cancel()
		defer st.Close()
		for {
			_, msg, err := ws.ReadMessage()
			if err != nil {
				return
			}
			var in api.ExecStreamingInput
			dec := json.NewDecoder(bytes.NewReader(msg))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&in); err != nil {
				closeWith(websocket.CloseUnsupportedData, "exec input: "+err.Error())
				return
			}
			var f structs.ExecInput
			if in.Stdin != nil {
				f.Stdin, f.StdinClose = in.Stdin.Data, in.Stdin.Close
			}
			if in.TTYSize != nil {
				f.Height, f.Width = in.TTYSize.Height, in.TTYSize.Width
			}
			if err := st.Send(&f); err != nil {
				return
			}
		}
	}()
	write := func(v *api.ExecStreamingOutput) error {
		writeMu.Lock()
		defer writeMu.Unlock()
		return ws.WriteJSON(v)
	}
	for {
		var out structs.ExecOutput
		if err := st.Recv(&out); err != nil {
			if ctx.Err() == nil {
				s.logger.Debug("exec stream ended before the command's exit", "error", err)
				closeWith(websocket.CloseInternalServerErr, "exec: the connection to the allocation's client ended before the command exited")
			}
			return
		}
		var err error
		switch {
		case out.Exited && out.Error != "":
			closeWith(websocket.CloseInternalServerErr, out.Error)
			return
		case out.Exited:
			if err := write(&api.ExecStreamingOutput{Exited: true, Result: &api.ExecStreamingExitResult{ExitCode: out.ExitCode}}); err == nil {
				closeWith(websocket.CloseNormalClosure, "")
			}
			return
		case len(out.Stdout) > 0:
			err = write(&api.ExecStreamingOutput{Stdout: &api.ExecStreamingIOOperation{Data: out.Stdout}})
		case len(out.Stderr) > 0:
			err = write(&api.ExecStreamingOutput{Stderr: &api.ExecStreamingIOOperation{Data: out.Stderr}})
		}
		if err != nil {
			return
		}
	}
}

// hijackable gives a wrapped ResponseWriter's http.Hijacker back.
type hijackable struct{ http.ResponseWriter }

func (h hijackable) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(h.ResponseWriter).Hijack()
}
