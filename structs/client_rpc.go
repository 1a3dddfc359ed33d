package structs

import "time"

// Client endpoints: calls a server makes to the client agent that runs an
// allocation (its files, its logs, restarting and signalling its tasks).
// They are streaming calls (internal/rpcwire) on a stream the server opens
// inside the yamux session the client holds to it, so clients need no
// inbound port. The HTTP API reaches them through Server.DialNode.
//
// Methods (argument → frames after the answer):
//
//	ClientFS.List     FSRequest          → one []*AllocFileInfo
//	ClientFS.Stat     FSRequest          → one AllocFileInfo
//	ClientFS.Cat      FSRequest          → StreamFrame ... (Data; the stream ends at the file's end)
//	ClientFS.Logs     FSLogsRequest      → StreamFrame ... (follows when asked; empty frames are heartbeats)
//	ClientAlloc.Restart AllocRestartRequest → one GenericResponse
//	ClientAlloc.Signal  AllocSignalRequest  → one GenericResponse
//	ClientAlloc.Checks  AllocChecksRequest  → one []*CheckQueryResult
//	ClientAlloc.Exec    ExecRequest         → ExecOutput ... (the last one Exited)
//
// ClientAlloc.Exec is the one call whose caller goes on sending after the
// args: ExecInput frames (stdin, its close, terminal sizes) until the
// command exits.
//
//	ClientAlloc.Stats   AllocStatsRequest   → one AllocResourceUsage
//
// A server's own streaming method, Server.DialNode (DialNodeRequest),
// answers and then pipes the stream to the node's client: see
// server/client_forward.go.
const (
	ClientFSList       = "ClientFS.List"
	ClientFSStat       = "ClientFS.Stat"
	ClientFSCat        = "ClientFS.Cat"
	ClientFSLogs       = "ClientFS.Logs"
	ClientAllocRestart = "ClientAlloc.Restart"
	ClientAllocSignal  = "ClientAlloc.Signal"
	ClientAllocChecks  = "ClientAlloc.Checks"
	ClientAllocExec    = "ClientAlloc.Exec"
	ClientAllocStats   = "ClientAlloc.Stats"
	ServerDialNode     = "Server.DialNode"
)

// DialNodeRequest asks a server for a stream to the client of NodeID, for
// one client call: Method on allocation AllocID. The server authorizes that
// call before it answers (the allocation must run on NodeID; with ACLs,
// AuthToken needs the method's capability in the allocation's namespace:
// server/acl_rpc.go clientCallCapability), and once it has said yes it
// lets through only a call of that method on that allocation.
type DialNodeRequest struct {
	NodeID  string
	AllocID string
	Method  string
	// AllocIndex is the index at which the caller read the allocation: a
	// server whose state is behind waits for it before deciding.
	AllocIndex uint64
	// AuthToken is the credential of whoever the call is made for (the
	// HTTP request's token).
	AuthToken string
	// Forwarded is set by a server passing the request to another one, which
	// must then answer from its own connections only (no loops).
	Forwarded bool
}

func (r *DialNodeRequest) GetAuthToken() string    { return r.AuthToken }
func (r *DialNodeRequest) SetAuthToken(tok string) { r.AuthToken = tok }

// ClientCallArgs is the argument of a client call: every one names the
// allocation it is about.
type ClientCallArgs interface{ CallAllocID() string }

// NewClientCallArgs returns a new argument of client method, for decoding;
// false when method is no client call.
func NewClientCallArgs(method string) (ClientCallArgs, bool) {
	switch method {
	case ClientFSList, ClientFSStat, ClientFSCat:
		return new(FSRequest), true
	case ClientFSLogs:
		return new(FSLogsRequest), true
	case ClientAllocRestart:
		return new(AllocRestartRequest), true
	case ClientAllocSignal:
		return new(AllocSignalRequest), true
	case ClientAllocChecks:
		return new(AllocChecksRequest), true
	case ClientAllocExec:
		return new(ExecRequest), true
	case ClientAllocGC:
		return new(AllocGCRequest), true
	case ClientNodeGC:
		return new(NodeGCRequest), true
	case ClientNodeMetaRead:
		return new(NodeMetaReadRequest), true
	case ClientNodeMetaApply:
		return new(NodeMetaApplyRequest), true
	case ClientAllocStats:
		return new(AllocStatsRequest), true
	case ClientAgentMonitor:
		return new(MonitorRequest), true
	case ClientAgentProfile:
		return new(ProfileRequest), true
	}
	return nil, false
}

func (r *FSRequest) CallAllocID() string           { return r.AllocID }
func (r *FSLogsRequest) CallAllocID() string       { return r.AllocID }
func (r *AllocRestartRequest) CallAllocID() string { return r.AllocID }
func (r *AllocSignalRequest) CallAllocID() string  { return r.AllocID }
func (r *AllocChecksRequest) CallAllocID() string  { return r.AllocID }
func (r *ExecRequest) CallAllocID() string         { return r.AllocID }

// FSRequest names a path inside an allocation's directory.
type FSRequest struct {
	AllocID string
	// Path is relative to the allocation directory; "" and "/" are its root.
	Path string
	// Offset and Limit select bytes of a Cat: from Offset, at most Limit
	// (0: to the end).
	Offset int64
	Limit  int64
}

// Log origins: where FSLogsRequest.Offset counts from.
const (
	LogOriginStart = "start"
	LogOriginEnd   = "end"
)

// FSLogsRequest asks for a task's stdout or stderr, across its rotated files
// (<task>.<type>.0, .1, ...) read as one stream.
type FSLogsRequest struct {
	AllocID string
	Task    string
	// LogType is "stdout" or "stderr".
	LogType string
	// Origin is LogOriginStart or LogOriginEnd; Offset counts bytes from it
	// (backwards from the end).
	Origin string
	Offset int64
	// Follow keeps the stream open and sends what the task writes, across
	// rotations, until the caller hangs up.
	Follow bool
}

// AllocFileInfo describes one file of an allocation directory, as Nomad's
// /v1/client/fs/ls and stat answer.
type AllocFileInfo struct {
	Name        string
	IsDir       bool
	Size        int64
	FileMode    string
	ModTime     time.Time
	ContentType string `json:",omitempty"`
}

// StreamFrame is one piece of a file or log stream, as Nomad's
// /v1/client/fs/logs sends them (JSON, Data base64). A frame with no Data and
// no FileEvent is a heartbeat; when following, the first one also says that
// everything written so far has been sent.
type StreamFrame struct {
	// Offset is where Data starts in File.
	Offset    int64  `json:",omitempty"`
	Data      []byte `json:",omitempty"`
	File      string `json:",omitempty"`
	FileEvent string `json:",omitempty"`
}

// IsHeartbeat reports whether f carries nothing.
func (f *StreamFrame) IsHeartbeat() bool { return len(f.Data) == 0 && f.FileEvent == "" }

// AllocRestartRequest restarts one task of an allocation in place (TaskName),
// or all of its running tasks. A restart asked for is not a failure: it does
// not count against the restart policy.
type AllocRestartRequest struct {
	AllocID  string
	TaskName string
	AllTasks bool
}

// AllocSignalRequest sends Signal ("SIGHUP"; default SIGKILL as Nomad's
// API) to one task of an allocation (Task), or to all of its running tasks.
type AllocSignalRequest struct {
	AllocID string
	Task    string
	Signal  string
}

// AllocChecksRequest asks for the latest results of the checks of an
// allocation (its client runs them).
type AllocChecksRequest struct {
	AllocID string
}

// ExecRequest runs Cmd in the context of a running task of an allocation
// (orch alloc exec, Nomad's /v1/client/allocation/:id/exec).
type ExecRequest struct {
	AllocID string
	Task    string
	// Cmd is the command and its arguments; Cmd[0] is looked up as the
	// task's driver does.
	Cmd []string
	// Tty runs the command on a pseudo-terminal (stdout and stderr are then
	// one stream, sent as stdout); Height and Width are its first size.
	Tty           bool
	Height, Width int
}

// ExecInput is one frame from the caller of an exec: stdin data, the close
// of stdin, or a new terminal size (Height and Width both > 0). A frame with
// none of them is a heartbeat.
type ExecInput struct {
	Stdin         []byte
	StdinClose    bool
	Height, Width int
}

// ExecOutput is one frame of an exec's output; the last one has Exited set,
// with the command's ExitCode, or Error when it could not run or was cut
// short.
type ExecOutput struct {
	Stdout   []byte
	Stderr   []byte
	Exited   bool
	ExitCode int
	Error    string
}
