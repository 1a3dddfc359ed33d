package structs

// Agent debugging calls: an agent's live log (orch monitor) and its Go
// profiles (/v1/agent/pprof), asked of a server by name or of a client by
// node. Both are streaming calls (internal/rpcwire):
//
//	Agent.Monitor       MonitorRequest → StreamFrame ... (Data: log lines; until the caller hangs up)
//	Agent.Profile       ProfileRequest → one ProfileResponse
//	ClientAgent.Monitor MonitorRequest → as Agent.Monitor, on a client agent
//	ClientAgent.Profile ProfileRequest → as Agent.Profile, on a client agent
//
// Agent.* are served on a server's RPC port: the server named by ServerID
// ("" or "leader" or its name) answers, the one a call reaches first passes
// it on (one hop, Forwarded). ClientAgent.* are client calls about a node
// (NodeCall), reached through Server.DialNode. Monitoring needs agent:read,
// profiles agent:write, decided by every server on the way.
const (
	AgentMonitor       = "Agent.Monitor"
	AgentProfile       = "Agent.Profile"
	ClientAgentMonitor = "ClientAgent.Monitor"
	ClientAgentProfile = "ClientAgent.Profile"
)

// ServerIDLeader in a ServerID names whichever server leads.
const ServerIDLeader = "leader"

// MonitorRequest asks for an agent's log lines as they are written.
type MonitorRequest struct {
	// LogLevel is the lowest level sent: trace, debug, info, warn or error
	// (any case); "" is info. It may be lower than the agent's log_level.
	LogLevel string
	// LogJSON sends lines as JSON objects instead of logfmt text.
	LogJSON bool
	// ServerID names the server to monitor (Agent.Monitor only).
	ServerID string
	// AuthToken is the credential of whoever asks.
	AuthToken string
	// Forwarded is set by a server passing the call to ServerID.
	Forwarded bool
}

// Profiles an agent serves, as Go's net/http/pprof names them.
const (
	ProfileCPU   = "profile" // CPU profile for Seconds
	ProfileTrace = "trace"   // execution trace for Seconds
	ProfileCmd   = "cmdline"
)

// ProfileRequest asks for one of an agent's Go profiles.
type ProfileRequest struct {
	// Profile is "profile" (CPU), "trace", "cmdline", or the name of a
	// runtime/pprof profile: goroutine, heap, allocs, threadcreate, block,
	// mutex.
	Profile string
	// Seconds is how long a CPU profile or trace runs (0: 1, Nomad's
	// default); named profiles ignore it.
	Seconds int
	// Debug is the text format of a named profile (0: binary pprof).
	Debug int
	// GC runs a garbage collection before a heap profile.
	GC bool
	// ServerID names the server to profile (Agent.Profile only).
	ServerID string
	// AuthToken is the credential of whoever asks.
	AuthToken string
	// Forwarded is set by a server passing the call to ServerID.
	Forwarded bool
}

// ProfileResponse is a profile's bytes and their content type.
type ProfileResponse struct {
	Data        []byte
	ContentType string
	// AgentName names the agent that took it.
	AgentName string
}

func (r *MonitorRequest) CallAllocID() string { return "" }
func (r *ProfileRequest) CallAllocID() string { return "" }

func (r *MonitorRequest) GetAuthToken() string    { return r.AuthToken }
func (r *MonitorRequest) SetAuthToken(tok string) { r.AuthToken = tok }
func (r *ProfileRequest) GetAuthToken() string    { return r.AuthToken }
func (r *ProfileRequest) SetAuthToken(tok string) { r.AuthToken = tok }
