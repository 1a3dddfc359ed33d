package agent

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/orch-io/orch/client"
	"github.com/orch-io/orch/client/driver/docker"
	"github.com/orch-io/orch/internal/tracing"
	"github.com/orch-io/orch/server"
	"github.com/orch-io/orch/structs"
	"github.com/zclconf/go-cty/cty"
)

// Config is the agent's configuration: DefaultConfig (or DevConfig), then
// each -config file applied over it with ApplyFile, then command-line flags,
// then Validate. Nothing fills defaults after DefaultConfig.
type Config struct {
	DataDir    string // where the server's Raft data and the client's state live; required unless DevMode
	BindAddr   string // IP address every listener binds to
	Datacenter string
	Region     string
	NodeName   string // "" means the host name, resolved by the agent at start
	Ports      Ports
	Server     ServerConfig
	ServerJoin ServerJoin
	Autopilot  AutopilotConfig
	Client     ClientConfig
	// Limits is the limits block: what a job may ask for (structs.Limits;
	// zero fields are the defaults). The servers enforce it.
	Limits structs.Limits
	// Plugins configure the task drivers (plugins.go).
	Plugins PluginsConfig
	// ACL is the acl block (README "Securing a cluster").
	ACL ACLConfig
	// Telemetry is the telemetry block: what the agent publishes of its
	// metrics.
	Telemetry TelemetryConfig
	// TLS is the tls block (config_tls.go).
	TLS      TLSConfig
	LogLevel string // TRACE, DEBUG, INFO, WARN or ERROR, in any case
	// EnableDebug (enable_debug, as Nomad's) serves the agent's Go profiles
	// at /v1/agent/pprof/ when ACLs are disabled. With ACLs enabled they are
	// served to agent:write tokens, set or not (Nomad's rule).
	EnableDebug bool
	// DevMode is `orch agent -dev`: everything on 127.0.0.1, data in a
	// temporary directory. It is never read from a file.
	DevMode bool
	// Version is the build's version, advertised in gossip. Not read from the file.
	Version string
}

// ACLConfig is Nomad's acl block. With Enabled every HTTP route and RPC
// needs a token whose policies allow it (command/agent/http_acl.go,
// server/acl_rpc.go). The agent caches the tokens it resolved for its HTTP
// API for TokenTTL and their policies for PolicyTTL (0: 30s each; the
// shorter of the two bounds an entry); the servers resolve from their
// replicated state and see a revocation at once.
type ACLConfig struct {
	Enabled   bool
	TokenTTL  time.Duration
	PolicyTTL time.Duration
}

// Nomad's defaults of acl.token_ttl and acl.policy_ttl.
const (
	DefaultACLTokenTTL  = 30 * time.Second
	DefaultACLPolicyTTL = 30 * time.Second
)

// Ports are the TCP (and, for Serf, UDP) ports the agent listens on.
type Ports struct {
	HTTP int // public HTTP API
	RPC  int // Raft and internal RPC
	Serf int // gossip (memberlist)
}

// ServerConfig is the server half of the agent.
type ServerConfig struct {
	Enabled bool
	// BootstrapExpect is the number of servers to wait for before the first
	// leader election (1 for a single server).
	BootstrapExpect int
	// RaftMultiplier scales the Raft timings (1, the default, is tuned for a
	// LAN: a crashed leader is replaced in about a second; up to 10). 0 means 1.
	RaftMultiplier int
	// NumSchedulers is how many scheduler workers the server runs (0: one per
	// CPU core, Nomad's default).
	NumSchedulers int
	// EventBufferSize is how many Raft entries' events the server keeps for
	// /v1/event/stream readers to resume from (0: 100, Nomad's default).
	EventBufferSize int
	// RaftSnapshotThreshold and RaftSnapshotInterval: Raft takes a snapshot
	// (and compacts its log) once this many entries were written since the
	// last one, checking at this interval (0: 8192 entries, 120s).
	RaftSnapshotThreshold int
	RaftSnapshotInterval  time.Duration
	// DeploymentGCThreshold: how long a deployment has been over before
	// the GC may remove it (0: 1h, Nomad's deployment_gc_threshold).
	DeploymentGCThreshold time.Duration
	// MinHeartbeatTTL, MaxHeartbeatsPerSecond and HeartbeatGrace tune client
	// failure detection, as Nomad's settings of the same names (0: the
	// server's defaults, 10s, 50 and 10s).
	MinHeartbeatTTL        time.Duration
	MaxHeartbeatsPerSecond float64
	HeartbeatGrace         time.Duration
	// ReconnectGrace, when > 0, is how long a node whose client agent
	// closed its connection to a server (it died) has to reconnect before it
	// is marked down (orch's, not Nomad's; 0: off, the TTL alone).
	ReconnectGrace time.Duration
	// JobGCInterval, JobGCThreshold and EvalGCThreshold (with
	// DeploymentGCThreshold above) tune the servers' garbage collection,
	// Nomad's settings of the same names (0: 5m, 4h, 1h).
	JobGCInterval   time.Duration
	JobGCThreshold  time.Duration
	EvalGCThreshold time.Duration
	// Encrypt is the gossip encryption key, base64 (config_gossip.go); a
	// client-only agent reads it too.
	Encrypt string
}

// AutopilotConfig is Nomad's top-level autopilot block: how the leader
// manages the servers of the Raft configuration (server/autopilot.go). Zero
// durations and counts mean the server's defaults.
type AutopilotConfig struct {
	// CleanupDeadServers (cleanup_dead_servers, default true) removes a
	// server gossip declares failed from the Raft configuration once a
	// replacement was promoted or after DeadServerCleanupTime.
	CleanupDeadServers bool
	// DeadServerCleanupTime (dead_server_cleanup_time, default 5m): how long
	// a failed server stays before it is removed.
	DeadServerCleanupTime time.Duration
	// ServerStabilizationTime (server_stabilization_time, default 2s): how
	// long a new server must be healthy before it becomes a voter.
	ServerStabilizationTime time.Duration
	// MaxTrailingLogs (max_trailing_logs, default 100): how many entries a
	// new server may trail the leader by and count as caught up.
	MaxTrailingLogs int
	// MinQuorum (min_quorum, default the quorum of bootstrap_expect): the
	// fewest voters dead-server cleanup leaves.
	MinQuorum int
	// LastContactThreshold (last_contact_threshold, default 200ms): how long
	// a server may go without hearing from the leader and count as healthy.
	LastContactThreshold time.Duration
}

// TelemetryConfig is Nomad's telemetry block. orch always keeps its
// metrics (one registry per agent, docs/metrics.md); these say how it
// publishes them.
type TelemetryConfig struct {
	// PrometheusMetrics (prometheus_metrics) serves
	// /v1/metrics?format=prometheus. Default false, as in Nomad; -dev sets it.
	PrometheusMetrics bool
	// CollectionInterval (collection_interval, default 1s) is how often a
	// client samples its tasks' usage for publish_allocation_metrics. The
	// other gauges are read at scrape time: it does not apply to them.
	CollectionInterval time.Duration
	// PublishAllocationMetrics (publish_allocation_metrics) adds the usage
	// (memory, CPU time) of every running task of a client, labelled by
	// allocation and task, as Nomad's. Default false; -dev sets it.
	PublishAllocationMetrics bool
	// PublishNodeMetrics (publish_node_metrics) adds the host's memory and
	// disk gauges of a client.
	PublishNodeMetrics bool
	// OTLPEndpoint (otlp_endpoint, host:port) turns tracing on: spans are
	// exported over OTLP/HTTP to http://OTLPEndpoint/v1/traces. Default
	// "": off (internal/tracing).
	OTLPEndpoint string
	// DisableHostname (disable_hostname) drops the host label every series
	// carries otherwise (the agent's name: orch adds a label where Nomad's
	// statsd sinks prefixed the name).
	DisableHostname bool
}

// ServerJoin says how a server finds the others: the gossip addresses
// (host:port, or host for the default gossip port) it joins at start,
// retrying in the background until one answers.
type ServerJoin struct {
	RetryJoin []string
	// RetryInterval is the longest wait between two attempts (they start at
	// 1s and double). 0 means DefaultRetryInterval.
	RetryInterval time.Duration
}

// DefaultRetryInterval is Nomad's server_join.retry_interval default.
const DefaultRetryInterval = 30 * time.Second

// ClientConfig is the client half of the agent.
type ClientConfig struct {
	Enabled bool
	// Servers are the RPC addresses (host:port) of servers a client-only agent
	// talks to. An agent that also runs a server uses it in process.
	// TODO(#3): found through gossip instead.
	Servers []string
	// MinDynamicPort and MaxDynamicPort bound the node's dynamic ports (0:
	// Nomad's default, 20000 and 32000); ReservedPorts ("22,80,8000-8100")
	// are never given to allocations. The client validates them at start.
	MinDynamicPort int
	MaxDynamicPort int
	ReservedPorts  string
	// NodePool is the pool the client's node joins; "" means "default".
	NodePool string
	// NodeClass and Meta are the node's class and meta (constraints on
	// ${node.class} and ${meta.<key>}; both feed its computed class).
	NodeClass string
	Meta      map[string]string
	// ReservedCPU (MHz), ReservedMemoryMB and ReservedDiskMB are held back
	// from allocations: the scheduler places against the node's totals less
	// these.
	ReservedCPU, ReservedMemoryMB, ReservedDiskMB int
	// ReservedCores are cores no task may reserve (reserved { cores = "0-1" }).
	ReservedCores []int
	// GC is the garbage collection of terminal allocations: gc_interval,
	// gc_max_allocs, gc_disk_usage_threshold, gc_inode_usage_threshold,
	// gc_parallel_destroys (zero: Nomad's defaults; the client validates).
	GC client.GCPolicy
	// EmbeddedSupervisor runs the task supervisor inside the agent (tests of
	// in-process agents; not settable from a file): see client.Config.
	EmbeddedSupervisor bool
}

// Default ports, as in Nomad.
const (
	DefaultHTTPPort = 4646
	DefaultRPCPort  = 4647
	DefaultSerfPort = 4648
)

// logLevels are the accepted log_level values, upper case.
var logLevels = []string{"TRACE", "DEBUG", "INFO", "WARN", "ERROR"}

// DefaultConfig returns Nomad's defaults: bind 0.0.0.0, datacenter "dc1",
// region "global", ports 4646/4647/4648, log level INFO, neither server nor
// client enabled and no data_dir (so it does not pass Validate until a file
// or flags enable something and say where the data goes).
func DefaultConfig() *Config {
	return &Config{
		BindAddr:   "0.0.0.0",
		Datacenter: "dc1",
		Region:     "global",
		Ports:      Ports{HTTP: DefaultHTTPPort, RPC: DefaultRPCPort, Serf: DefaultSerfPort},
		LogLevel:   "INFO",
		Autopilot:  AutopilotConfig{CleanupDeadServers: true},
		Plugins:    PluginsConfig{Docker: docker.DefaultPluginConfig()},
	}
}

// DevConfig is DefaultConfig for `orch agent -dev`: bound to 127.0.0.1, a
// server that elects itself (bootstrap_expect 1) and a client in one process.
func DevConfig() *Config {
	c := DefaultConfig()
	c.BindAddr = "127.0.0.1"
	c.Server = ServerConfig{Enabled: true, BootstrapExpect: 1}
	c.Client = ClientConfig{Enabled: true}
	c.Plugins.Mock = true
	c.Plugins.RawExec = true
	c.Telemetry.PrometheusMetrics = true
	c.Telemetry.PublishNodeMetrics = true
	c.Telemetry.PublishAllocationMetrics = true
	c.DevMode = true
	return c
}

// fileConfig is the shape of an agent configuration file. Pointers tell
// "absent" from zero, so that only what a file sets changes the Config.
type fileConfig struct {
	DataDir     *string        `hcl:"data_dir,optional"`
	BindAddr    *string        `hcl:"bind_addr,optional"`
	Datacenter  *string        `hcl:"datacenter,optional"`
	Region      *string        `hcl:"region,optional"`
	Name        *string        `hcl:"name,optional"`
	LogLevel    *string        `hcl:"log_level,optional"`
	EnableDebug *bool          `hcl:"enable_debug,optional"`
	Ports       *filePorts     `hcl:"ports,block"`
	Server      *fileServer    `hcl:"server,block"`
	Client      *fileClient    `hcl:"client,block"`
	ServerJoin  *fileJoin      `hcl:"server_join,block"`
	Autopilot   *fileAutopilot `hcl:"autopilot,block"`
	Limits      *fileLimits    `hcl:"limits,block"`
	Plugins     []*filePlugin  `hcl:"plugin,block"`
	ACL         *fileACL       `hcl:"acl,block"`
	Telemetry   *fileTelemetry `hcl:"telemetry,block"`
	TLS         *fileTLS       `hcl:"tls,block"`
}

type fileACL struct {
	Enabled   *bool          `hcl:"enabled,optional"`
	TokenTTL  hcl.Expression `hcl:"token_ttl,optional"`
	PolicyTTL hcl.Expression `hcl:"policy_ttl,optional"`
}

type fileTelemetry struct {
	PrometheusMetrics        *bool          `hcl:"prometheus_metrics,optional"`
	CollectionInterval       hcl.Expression `hcl:"collection_interval,optional"`
	PublishAllocationMetrics *bool          `hcl:"publish_allocation_metrics,optional"`
	PublishNodeMetrics       *bool          `hcl:"publish_node_metrics,optional"`
	DisableHostname          *bool          `hcl:"disable_hostname,optional"`
	OTLPEndpoint             *string        `hcl:"otlp_endpoint,optional"`
}

// fileLimits is the limits block (structs.Limits, README "Limits").
type fileLimits struct {
	JobMaxGroupCount   *int `hcl:"job_max_group_count,optional"`
	JobMaxAllocations  *int `hcl:"job_max_allocations,optional"`
	JobMaxSize         *int `hcl:"job_max_size,optional"`
	JobMaxNameLength   *int `hcl:"job_max_name_length,optional"`
	JobMaxMapEntries   *int `hcl:"job_max_map_entries,optional"`
	JobMaxStringLength *int `hcl:"job_max_string_length,optional"`
	TaskConfigMaxDepth *int `hcl:"task_config_max_depth,optional"`
}

type fileAutopilot struct {
	CleanupDeadServers      *bool          `hcl:"cleanup_dead_servers,optional"`
	DeadServerCleanupTime   hcl.Expression `hcl:"dead_server_cleanup_time,optional"`
	ServerStabilizationTime hcl.Expression `hcl:"server_stabilization_time,optional"`
	MaxTrailingLogs         *int           `hcl:"max_trailing_logs,optional"`
	MinQuorum               *int           `hcl:"min_quorum,optional"`
	LastContactThreshold    hcl.Expression `hcl:"last_contact_threshold,optional"`
}

type fileJoin struct {
	RetryJoin     *[]string      `hcl:"retry_join,optional"`
	RetryInterval hcl.Expression `hcl:"retry_interval,optional"`
}

type filePorts struct {
	HTTP *int `hcl:"http,optional"`
	RPC  *int `hcl:"rpc,optional"`
	Serf *int `hcl:"serf,optional"`
}

type fileServer struct {
	Enabled         *bool `hcl:"enabled,optional"`
	BootstrapExpect *int  `hcl:"bootstrap_expect,optional"`
	RaftMultiplier  *int  `hcl:"raft_multiplier,optional"`
	NumSchedulers   *int  `hcl:"num_schedulers,optional"`
	EventBufferSize *int  `hcl:"event_buffer_size,optional"`

	RaftSnapshotThreshold *int           `hcl:"raft_snapshot_threshold,optional"`
	RaftSnapshotInterval  hcl.Expression `hcl:"raft_snapshot_interval,optional"`
	DeploymentGCThreshold hcl.Expression `hcl:"deployment_gc_threshold,optional"`

	MinHeartbeatTTL        hcl.Expression `hcl:"min_heartbeat_ttl,optional"`
	MaxHeartbeatsPerSecond *float64       `hcl:"max_heartbeats_per_second,optional"`
	HeartbeatGrace         hcl.Expression `hcl:"heartbeat_grace,optional"`
	ReconnectGrace         hcl.Expression `hcl:"reconnect_grace,optional"`
	Encrypt                hcl.Expression `hcl:"encrypt,optional"`

	JobGCInterval   hcl.Expression `hcl:"job_gc_interval,optional"`
	JobGCThreshold  hcl.Expression `hcl:"job_gc_threshold,optional"`
	EvalGCThreshold hcl.Expression `hcl:"eval_gc_threshold,optional"`
}

// ApplyFile reads the agent configuration file at path (HCL, or JSON when the
// name ends in .json) and sets in c what the file sets: data_dir, bind_addr,
// datacenter, region, name, log_level, enable_debug, ports { http rpc serf },
// server { enabled bootstrap_expect raft_multiplier min_heartbeat_ttl
// max_heartbeats_per_second heartbeat_grace reconnect_grace encrypt event_buffer_size }, server_join { retry_join retry_interval },
// autopilot { cleanup_dead_servers dead_server_cleanup_time
// server_stabilization_time max_trailing_logs min_quorum
// last_contact_threshold },
// client { enabled servers node_pool node_class meta { ... }
// min_dynamic_port max_dynamic_port reserved { cpu memory disk reserved_ports } }, limits { job_max_group_count
// job_max_allocations job_max_size job_max_name_length job_max_map_entries
// job_max_string_length task_config_max_depth }, telemetry { prometheus_metrics
// collection_interval publish_allocation_metrics publish_node_metrics
// disable_hostname }, plugin "NAME" { config { ... } } (plugins.go),
// acl { enabled token_ttl policy_ttl }, tls { http rpc ca_file cert_file
// key_file verify_server_hostname verify_https_client } (config_tls.go).
// Unknown attributes
// and blocks, values of the wrong type and duplicate blocks are errors, listed
// one per line as `file:line:col: summary; detail`. On any error c is left
// unchanged. Values are checked by Validate, not here.
func (c *Config) ApplyFile(path string) error {
	parser := hclparse.NewParser()
	var (
		file  *hcl.File
		diags hcl.Diagnostics
	)
	if strings.HasSuffix(path, ".json") {
		file, diags = parser.ParseJSONFile(path)
	} else {
		file, diags = parser.ParseHCLFile(path)
	}
	if diags.HasErrors() {
		return diagnosticsError(path, diags)
	}
	var fc fileConfig
	if diags := gohcl.DecodeBody(file.Body, nil, &fc); diags.HasErrors() {
		return diagnosticsError(path, diags)
	}

	setString := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	setInt := func(dst *int, v *int) {
		if v != nil {
			*dst = *v
		}
	}
	setBool := func(dst *bool, v *bool) {
		if v != nil {
			*dst = *v
		}
	}
	// Apply to a copy, so that a bad value leaves c as it was.
	n := *c
	setString(&n.DataDir, fc.DataDir)
	setString(&n.BindAddr, fc.BindAddr)
	setString(&n.Datacenter, fc.Datacenter)
	setString(&n.Region, fc.Region)
	setString(&n.NodeName, fc.Name)
	setString(&n.LogLevel, fc.LogLevel)
	setBool(&n.EnableDebug, fc.EnableDebug)
	if p := fc.Ports; p != nil {
		setInt(&n.Ports.HTTP, p.HTTP)
		setInt(&n.Ports.RPC, p.RPC)
		setInt(&n.Ports.Serf, p.Serf)
	}
	if s := fc.Server; s != nil {
		setBool(&n.Server.Enabled, s.Enabled)
		setInt(&n.Server.BootstrapExpect, s.BootstrapExpect)
		setInt(&n.Server.RaftMultiplier, s.RaftMultiplier)
		setInt(&n.Server.NumSchedulers, s.NumSchedulers)
		setInt(&n.Server.EventBufferSize, s.EventBufferSize)
		setInt(&n.Server.RaftSnapshotThreshold, s.RaftSnapshotThreshold)
		if err := errors.Join(
			decodeDuration(s.MinHeartbeatTTL, "server.min_heartbeat_ttl", &n.Server.MinHeartbeatTTL),
			decodeDuration(s.HeartbeatGrace, "server.heartbeat_grace", &n.Server.HeartbeatGrace),
			decodeDuration(s.ReconnectGrace, "server.reconnect_grace", &n.Server.ReconnectGrace),
			decodeDuration(s.RaftSnapshotInterval, "server.raft_snapshot_interval", &n.Server.RaftSnapshotInterval),
			decodeDuration(s.JobGCInterval, "server.job_gc_interval", &n.Server.JobGCInterval),
			decodeDuration(s.JobGCThreshold, "server.job_gc_threshold", &n.Server.JobGCThreshold),
			decodeDuration(s.EvalGCThreshold, "server.eval_gc_threshold", &n.Server.EvalGCThreshold),
			decodeDuration(s.DeploymentGCThreshold, "server.deployment_gc_threshold", &n.Server.DeploymentGCThreshold),
			decodeEncrypt(s.Encrypt, &n.Server.Encrypt),
		); err != nil {
			return err
		}
		if s.MaxHeartbeatsPerSecond != nil {
			n.Server.MaxHeartbeatsPerSecond = *s.MaxHeartbeatsPerSecond
		}
	}
	if j := fc.ServerJoin; j != nil {
		if j.RetryJoin != nil {
			n.ServerJoin.RetryJoin = *j.RetryJoin
		}
		if err := decodeDuration(j.RetryInterval, "server_join.retry_interval", &n.ServerJoin.RetryInterval); err != nil {
			return err
		}
	}
	if a := fc.Autopilot; a != nil {
		setBool(&n.Autopilot.CleanupDeadServers, a.CleanupDeadServers)
		setInt(&n.Autopilot.MaxTrailingLogs, a.MaxTrailingLogs)
		setInt(&n.Autopilot.MinQuorum, a.MinQuorum)
		if err := errors.Join(
			decodeDuration(a.DeadServerCleanupTime, "autopilot.dead_server_cleanup_time", &n.Autopilot.DeadServerCleanupTime),
			decodeDuration(a.ServerStabilizationTime, "autopilot.server_stabilization_time", &n.Autopilot.ServerStabilizationTime),
			decodeDuration(a.LastContactThreshold, "autopilot.last_contact_threshold", &n.Autopilot.LastContactThreshold),
		); err != nil {
			return err
		}
	}
	if l := fc.Limits; l != nil {
		setInt(&n.Limits.JobMaxGroupCount, l.JobMaxGroupCount)
		setInt(&n.Limits.JobMaxAllocations, l.JobMaxAllocations)
		setInt(&n.Limits.JobMaxSize, l.JobMaxSize)
		setInt(&n.Limits.JobMaxNameLength, l.JobMaxNameLength)
		setInt(&n.Limits.JobMaxMapEntries, l.JobMaxMapEntries)
		setInt(&n.Limits.JobMaxStringLength, l.JobMaxStringLength)
		setInt(&n.Limits.TaskConfigMaxDepth, l.TaskConfigMaxDepth)
	}
	if a := fc.ACL; a != nil {
		setBool(&n.ACL.Enabled, a.Enabled)
		if err := errors.Join(
			decodeDuration(a.TokenTTL, "acl.token_ttl", &n.ACL.TokenTTL),
			decodeDuration(a.PolicyTTL, "acl.policy_ttl", &n.ACL.PolicyTTL),
		); err != nil {
			return err
		}
	}
	if t := fc.TLS; t != nil {
		if err := applyTLS(&n.TLS, t); err != nil {
			return err
		}
	}
	if cl := fc.Client; cl != nil {
		if err := applyClient(&n.Client, cl); err != nil {
			return err
		}
	}
	if t := fc.Telemetry; t != nil {
		setBool(&n.Telemetry.PrometheusMetrics, t.PrometheusMetrics)
		setBool(&n.Telemetry.PublishAllocationMetrics, t.PublishAllocationMetrics)
		setBool(&n.Telemetry.PublishNodeMetrics, t.PublishNodeMetrics)
		setBool(&n.Telemetry.DisableHostname, t.DisableHostname)
		if t.OTLPEndpoint != nil {
			n.Telemetry.OTLPEndpoint = *t.OTLPEndpoint
		}
		if err := decodeDuration(t.CollectionInterval, "telemetry.collection_interval", &n.Telemetry.CollectionInterval); err != nil {
			return err
		}
	}
	if err := applyPlugins(&n.Plugins, fc.Plugins); err != nil {
		return err
	}
	*c = n
	return nil
}

// decodeDuration sets dst from a duration attribute ("10s") that gohcl left
// as an expression, so that a bad value is reported at its file:line:col.
// An absent attribute leaves dst alone.
func decodeDuration(expr hcl.Expression, name string, dst *time.Duration) error {
	v, at, set, err := attrValue(expr, name, cty.String, `must be a duration string such as "10s"`)
	if !set || err != nil {
		return err
	}
	d, err := time.ParseDuration(v.AsString())
	if err != nil {
		return fmt.Errorf(`%s: %s = %q: must be a duration such as "10s"`, at, name, v.AsString())
	}
	*dst = d
	return nil
}

// attrValue evaluates an attribute gohcl left as an expression (so that a
// bad value is reported at its file:line:col, at). set is false when the
// attribute is absent or null: the caller leaves its value alone. A value
// that does not evaluate to a known value of type want is an error naming
// the position, the attribute and rule.
func attrValue(expr hcl.Expression, name string, want cty.Type, rule string) (v cty.Value, at string, set bool, err error) {
	if expr == nil {
		return cty.NilVal, "", false, nil
	}
	v, diags := expr.Value(nil)
	if !diags.HasErrors() && v.IsNull() {
		return cty.NilVal, "", false, nil
	}
	r := expr.Range()
	at = fmt.Sprintf("%s:%d:%d", r.Filename, r.Start.Line, r.Start.Column)
	if diags.HasErrors() || v.Type() != want || !v.IsKnown() {
		return cty.NilVal, at, true, fmt.Errorf("%s: %s: %s", at, name, rule)
	}
	return v, at, true, nil
}

// diagnosticsError lists diags one per line as `file:line:col: summary; detail`.
func diagnosticsError(path string, diags hcl.Diagnostics) error {
	sorted := slices.Clone(diags)
	slices.SortStableFunc(sorted, func(a, b *hcl.Diagnostic) int {
		if a.Subject == nil || b.Subject == nil {
			return 0
		}
		if a.Subject.Start.Line != b.Subject.Start.Line {
			return a.Subject.Start.Line - b.Subject.Start.Line
		}
		return a.Subject.Start.Column - b.Subject.Start.Column
	})
	var lines []string
	for _, d := range sorted {
		if d.Severity != hcl.DiagError {
			continue
		}
		line := d.Summary
		if d.Detail != "" {
			line += "; " + d.Detail
		}
		if d.Subject != nil {
			line = fmt.Sprintf("%s:%d:%d: %s", d.Subject.Filename, d.Subject.Start.Line, d.Subject.Start.Column, line)
		} else {
			line = path + ": " + line
		}
		lines = append(lines, line)
	}
	return errors.New(strings.Join(lines, "\n"))
}

// aclCacheTTL is how long the HTTP API keeps a resolved token.
func (c ACLConfig) aclCacheTTL() time.Duration {
	token, policy := c.TokenTTL, c.PolicyTTL
	if token == 0 {
		token = DefaultACLTokenTTL
	}
	if policy == 0 {
		policy = DefaultACLPolicyTTL
	}
	return min(token, policy)
}

// Validate reports every problem of c at once (errors.Join), each naming the
// setting, its value and the rule. It never changes c and fills no defaults.
func (c *Config) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if c.DataDir == "" && !c.DevMode {
		add(`data_dir = "": required (except with -dev)`)
	}
	if net.ParseIP(c.BindAddr) == nil {
		add("bind_addr = %q: must be an IP address", c.BindAddr)
	}
	if c.Datacenter == "" {
		add(`datacenter = "": must not be empty`)
	}
	if c.Region == "" {
		add(`region = "": must not be empty`)
	}
	if !slices.Contains(logLevels, strings.ToUpper(c.LogLevel)) {
		add("log_level = %q: must be one of %s", c.LogLevel, strings.Join(logLevels, ", "))
	}
	for _, p := range c.Limits.Validate() {
		add("%s", p)
	}

	ports := []struct {
		name string
		port int
	}{{"ports.http", c.Ports.HTTP}, {"ports.rpc", c.Ports.RPC}, {"ports.serf", c.Ports.Serf}}
	for i, p := range ports {
		if p.port < 1 || p.port > 65535 {
			add("%s = %d: must be between 1 and 65535", p.name, p.port)
			continue
		}
		for _, q := range ports[:i] {
			if q.port == p.port {
				add("%s = %d: must differ from %s", p.name, p.port, q.name)
			}
		}
	}

	if !c.Server.Enabled && !c.Client.Enabled {
		add("server.enabled = false and client.enabled = false: enable at least one of them")
	}
	if c.Client.Enabled && !c.Server.Enabled && len(c.Client.Servers) == 0 && len(c.ServerJoin.RetryJoin) == 0 {
		add("client.servers = [] and server_join.retry_join = []: a client-only agent needs the RPC address (host:port) of a server or the gossip address of an agent to join (-join)")
	}
	for i, addr := range c.Client.Servers {
		if host, port, err := net.SplitHostPort(addr); err != nil || host == "" || port == "" {
			add("client.servers[%d] = %q: must be host:port", i, addr)
		}
	}
	for i, addr := range c.ServerJoin.RetryJoin {
		if addr == "" || strings.ContainsAny(addr, " \t,") {
			add("server_join.retry_join[%d] = %q: must be host:port or host", i, addr)
		}
	}
	if c.ServerJoin.RetryInterval < 0 {
		add("server_join.retry_interval = %s: must be >= 0 (0: %s)", c.ServerJoin.RetryInterval, DefaultRetryInterval)
	}
	if c.Server.Enabled && c.Server.BootstrapExpect < 1 {
		add("server.bootstrap_expect = %d: must be >= 1 when the server is enabled", c.Server.BootstrapExpect)
	}
	if c.ACL.TokenTTL < 0 {
		add("acl.token_ttl = %s: must be >= 0 (0: %s)", c.ACL.TokenTTL, DefaultACLTokenTTL)
	}
	if c.ACL.PolicyTTL < 0 {
		add("acl.policy_ttl = %s: must be >= 0 (0: %s)", c.ACL.PolicyTTL, DefaultACLPolicyTTL)
	}
	if c.Server.MinHeartbeatTTL < 0 {
		add("server.min_heartbeat_ttl = %s: must be >= 0 (0: the default)", c.Server.MinHeartbeatTTL)
	}
	if c.Server.HeartbeatGrace < 0 {
		add("server.heartbeat_grace = %s: must be >= 0 (0: the default)", c.Server.HeartbeatGrace)
	}
	if c.Server.ReconnectGrace < 0 {
		add("server.reconnect_grace = %s: must be >= 0 (0: off)", c.Server.ReconnectGrace)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"job_gc_interval", c.Server.JobGCInterval}, {"job_gc_threshold", c.Server.JobGCThreshold},
		{"eval_gc_threshold", c.Server.EvalGCThreshold}} {
		if d.v < 0 {
			add("server.%s = %s: must be >= 0 (0: the default)", d.name, d.v)
		}
	}
	if c.Server.MaxHeartbeatsPerSecond < 0 {
		add("server.max_heartbeats_per_second = %g: must be >= 0 (0: the default)", c.Server.MaxHeartbeatsPerSecond)
	}
	if c.Server.RaftSnapshotThreshold < 0 {
		add("server.raft_snapshot_threshold = %d: must be >= 0 (0: 8192)", c.Server.RaftSnapshotThreshold)
	}
	if c.Server.DeploymentGCThreshold < 0 {
		add("server.deployment_gc_threshold = %s: must be >= 0 (0: 1h)", c.Server.DeploymentGCThreshold)
	}
	if c.Server.RaftSnapshotInterval < 0 {
		add("server.raft_snapshot_interval = %s: must be >= 0 (0: 120s)", c.Server.RaftSnapshotInterval)
	}
	if c.Server.NumSchedulers < 0 {
		add("server.num_schedulers = %d: must be >= 0 (0: one per CPU core)", c.Server.NumSchedulers)
	}
	if c.Server.EventBufferSize < 0 {
		add("server.event_buffer_size = %d: must be >= 0 (0: %d)", c.Server.EventBufferSize, server.DefaultEventBufferSize)
	}
	if c.Autopilot.DeadServerCleanupTime < 0 {
		add("autopilot.dead_server_cleanup_time = %s: must be >= 0 (0: %s)", c.Autopilot.DeadServerCleanupTime, server.DefaultDeadServerCleanupTime)
	}
	if c.Autopilot.LastContactThreshold < 0 {
		add("autopilot.last_contact_threshold = %s: must be >= 0 (0: %s)", c.Autopilot.LastContactThreshold, server.DefaultLastContactThreshold)
	}
	if c.Autopilot.ServerStabilizationTime < 0 {
		add("autopilot.server_stabilization_time = %s: must be >= 0 (0: %s)", c.Autopilot.ServerStabilizationTime, server.DefaultServerStabilizationTime)
	}
	if c.Autopilot.MaxTrailingLogs < 0 {
		add("autopilot.max_trailing_logs = %d: must be >= 0 (0: %d)", c.Autopilot.MaxTrailingLogs, server.DefaultMaxTrailingLogs)
	}
	if c.Autopilot.MinQuorum < 0 {
		add("autopilot.min_quorum = %d: must be >= 0 (0: the quorum of bootstrap_expect)", c.Autopilot.MinQuorum)
	}
	errs = append(errs, c.TLS.validate()...)
	if err := validateEncrypt(c.Server.Encrypt); err != nil {
		errs = append(errs, err)
	}
	if err := c.Plugins.Docker.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.Telemetry.CollectionInterval < 0 {
		add("telemetry.collection_interval = %s: must be >= 0", c.Telemetry.CollectionInterval)
	}
	if c.Telemetry.OTLPEndpoint != "" {
		if err := tracing.ValidateEndpoint("telemetry.otlp_endpoint", c.Telemetry.OTLPEndpoint); err != nil {
			errs = append(errs, err)
		}
	}
	if c.Server.RaftMultiplier < 0 || c.Server.RaftMultiplier > server.MaxRaftMultiplier {
		add("server.raft_multiplier = %d: must be between 1 and %d (0: 1)", c.Server.RaftMultiplier, server.MaxRaftMultiplier)
	}
	return errors.Join(errs...)
}
