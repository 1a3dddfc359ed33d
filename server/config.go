package server

import (
	"errors"
	"fmt"
	"github.com/orch-io/orch/internal/metrics"
	"github.com/orch-io/orch/internal/tracing"
	"log/slog"
	"net"
	"os"
	"runtime"
	"time"

	"github.com/orch-io/orch/internal/clock"
	"github.com/orch-io/orch/internal/tlsutil"
	"github.com/orch-io/orch/server/broker"
	"github.com/orch-io/orch/structs"
)

// Default ports of the RPC listener and of gossip.
const (
	DefaultRPCPort    = 4647
	DefaultGossipPort = 4648
)

// Config configures a Server. Build one with DefaultConfig (or DevConfig) and
// change what differs; NewServer validates it with Validate and fills the
// zero values it documents.
type Config struct {
	// DataDir holds everything the server persists, under DataDir/server/.
	// Required.
	DataDir string

	// NodeName names this server in gossip and logs. Default: the host name.
	NodeName string
	// Region and Datacenter the server belongs to. Defaults: "global", "dc1".
	Region     string
	Datacenter string

	// BindAddr is the address the RPC listener and gossip bind to.
	BindAddr string
	// AdvertiseAddr is the address other agents reach this server at (RPC and
	// gossip). Default: BindAddr, or, when BindAddr is unspecified (0.0.0.0),
	// the first private IPv4 address of the host.
	AdvertiseAddr string
	// RPCPort and GossipPort: 0 lets the operating system choose a free port
	// (tests); RPCAddr and GossipAddr tell which.
	RPCPort    int
	GossipPort int

	// BootstrapExpect is the number of servers the cluster is expected to
	// have. 1 bootstraps a single-server cluster on a fresh data directory;
	// N > 1 bootstraps once gossip shows N servers of the region that all
	// expect N and none of which has Raft state yet; 0 never bootstraps (the
	// server waits to be added to a cluster by its leader).
	BootstrapExpect int

	// LeaderWaitTimeout bounds how long a request that must go to the leader
	// waits for one to be known. Default 5s.
	LeaderWaitTimeout time.Duration

	// DevMode shortens the Raft timeouts so a fresh single server is leader in
	// well under a second.
	DevMode bool

	// NumSchedulers is the number of scheduler workers the leader runs.
	// Default: runtime.NumCPU().
	NumSchedulers int

	// EventBufferSize is the number of Raft entries whose events the FSM
	// keeps for event stream readers (0: DefaultEventBufferSize).
	EventBufferSize int

	// Version is advertised in gossip so that servers can tell what the others
	// understand (DESIGN.md §4).
	Version string

	// RaftMultiplier scales the Raft timings, as Nomad's raft_multiplier: 1
	// (the default, for a LAN) gives a heartbeat and election timeout of
	// 500ms and a leader lease of 250ms, so a crashed leader is replaced in
	// about a second; N multiplies them by N, for slower networks or busy
	// machines. Must be 0 (meaning 1) to 10. Ignored in dev mode, which is
	// faster still, and for the fields RaftTimeouts sets.
	RaftMultiplier int

	// RaftTimeouts tunes Raft; zero fields take the defaults (dev or not,
	// scaled by RaftMultiplier).
	RaftTimeouts RaftTimeouts

	// MinHeartbeatTTL is the shortest heartbeat TTL given to a client; more
	// clients get longer TTLs so that the servers see at most
	// MaxHeartbeatsPerSecond. HeartbeatGrace is added to the TTL before a
	// node whose heartbeat is late is marked down. Defaults: 10s, 50, 10s.
	MinHeartbeatTTL        time.Duration
	MaxHeartbeatsPerSecond float64
	HeartbeatGrace         time.Duration
	// ReconnectGrace, when > 0, is how long a node whose client closed its
	// connection to a server (its agent died) has to connect again and
	// heartbeat before it is marked down, when that is sooner than its TTL
	// and grace (session_liveness.go). 0 (the default): off, the TTL alone.
	ReconnectGrace time.Duration

	// DeploymentGCThreshold is how long a deployment must have been over
	// (successful, failed, cancelled) before the leader's GC removes it;
	// the latest deployment of each job is kept. Default 1h, as Nomad's
	// deployment_gc_threshold. DeploymentGCInterval is how often it looks
	// (default 5m, as Nomad's GC interval).
	DeploymentGCThreshold time.Duration
	DeploymentGCInterval  time.Duration

	// AllocUpdateBatchWindow is how long client allocation updates are
	// coalesced into one Raft entry. Default 50ms.
	AllocUpdateBatchWindow time.Duration

	// Garbage collection (core_gc.go), Nomad's names: the leader collects
	// every JobGCInterval what ended longer ago than the thresholds.
	// Defaults: 5m, 4h, 1h, 1h.
	// (DeploymentGCThreshold, above, is shared with the deployment GC.)
	JobGCInterval   time.Duration
	JobGCThreshold  time.Duration
	EvalGCThreshold time.Duration

	// Broker configures the eval broker (nack timeout, delivery limit).
	Broker broker.Config

	// Autopilot configures how the leader manages the servers of the Raft
	// configuration: promotion of new servers, removal of dead ones
	// (autopilot.go).
	Autopilot AutopilotConfig

	// Limits bound what a job may ask for (counts, sizes, config depth, name
	// lengths); Job.Register and Job.Plan reject a job beyond them. Zero
	// fields take structs.DefaultLimits.
	Limits structs.Limits

	// ACLEnabled makes every RPC authorize its caller's credential
	// (AuthToken) against the ACL tokens and policies of the state
	// (acl_rpc.go). Every server of a cluster must agree on it.
	ACLEnabled bool

	// TLS, when set, is the server's TLS material and checks (the agent's
	// tls block with rpc = true, or rpc_upgrade_mode = true): the RPC port
	// accepts mutual TLS connections (rpc_tls.go). RPCTLSMode says whether
	// it dials with TLS and whether it still accepts plain connections.
	TLS *tlsutil.Store

	// RPCTLSMode is how the RPC port uses TLS when TLS is set; the zero
	// value is the secure one (TLS only). The other modes exist for a
	// running cluster's migration to TLS (README "Securing a cluster").
	RPCTLSMode RPCTLSMode

	// GossipEncrypt is the agent's server.encrypt: a base64 key (16, 24 or
	// 32 bytes) that encrypts gossip. The server keeps its keyring in
	// DataDir/server/keyring from the first start on, and that file wins
	// over this key afterwards (a rotation may have replaced it). "" with no
	// keyring file: gossip in plain text. Every agent of a cluster's gossip
	// must hold the key in use.
	GossipEncrypt string

	// MaxEntryVersionForTest, when not 0, makes the server behave as a build
	// that reads Raft entry versions up to it only: it advertises it in
	// gossip, its FSM treats entry types introduced later as unknown, and as
	// leader it refuses to write them. Tests simulate an old server with it.
	MaxEntryVersionForTest EntryVersion

	// testHooks are injection points for this package's tests (testhooks.go).
	testHooks testHooks

	// Logger receives every log line of the server. Default: slog.Default().
	Logger *slog.Logger

	// Metrics is the agent's registry the server defines its series in
	// (server/metrics.go). Default: a registry of its own.
	Metrics *metrics.Registry

	// AgentCalls serves the agent debugging calls (structs.AgentMonitor,
	// structs.AgentProfile) meant for this server's agent, once the server
	// has authorized them: it answers on st and sends the frames, until ctx
	// ends. Nil: they are refused.
	AgentCalls AgentCallFunc
	// Tracer records the server's spans (internal/tracing); nil is tracing
	// off, the default.
	Tracer *tracing.Tracer

	// Clock is the server's source of time for its timers and the decisions
	// taken on them: the heartbeat timers (and the time a node is marked
	// down), autopilot's stabilization and cleanup times and its interval,
	// the eval broker's timers (it replaces Broker.Clock), the schedulers'
	// Now, and the times of failed and canceled evaluations. Default: the
	// real clock; tests pass a clocktest.Fake. Plumbing timers (the batching
	// window of allocation updates, RPC and Raft timeouts) stay on real time.
	Clock clock.Clock
}

// AutopilotConfig configures the leader's management of the Raft
// configuration (autopilot.go). Zero fields take the defaults.
//
// The settings structs.AutopilotConfig has (all but DeadServerCleanupTime
// and Interval) only seed the cluster's replicated configuration: a first
// leader that finds none stored stores these, and from then on the stored
// one rules (operator_autopilot.go).
type AutopilotConfig struct {
	// ServerStabilizationTime is how long a server that joined a running
	// cluster (added as a non-voter) must stay healthy, alive in gossip and
	// caught up, before the leader promotes it to voter. Default 2s.
	ServerStabilizationTime time.Duration
	// MaxTrailingLogs is how many entries a non-voter's Raft log may trail
	// the leader's and still count as caught up. Default 100.
	MaxTrailingLogs uint64
	// LastContactThreshold is how long a server may go without hearing from
	// the leader and still count as healthy. Default 200ms.
	LastContactThreshold time.Duration
	// DisableDeadServerCleanup keeps failed servers in the Raft
	// configuration until an operator removes them (or they come back).
	DisableDeadServerCleanup bool
	// DeadServerCleanupTime is how long a server gossip declares failed
	// (not left) stays in the Raft configuration before the leader removes
	// it; it is removed at once when a server joined and was promoted after
	// it failed (its replacement). Default 5m.
	DeadServerCleanupTime time.Duration
	// MinQuorum is the fewest voters dead-server cleanup ever leaves: a
	// failed voter is not removed when fewer would remain. Default 0:
	// the quorum of bootstrap_expect, (bootstrap_expect / 2) + 1.
	MinQuorum int
	// Interval is how often the leader checks the servers' health (it also
	// checks at every gossip membership change). Default 1s.
	Interval time.Duration
}

// Defaults of AutopilotConfig.
const (
	DefaultServerStabilizationTime = structs.DefaultServerStabilizationTime
	DefaultMaxTrailingLogs         = structs.DefaultMaxTrailingLogs
	DefaultLastContactThreshold    = structs.DefaultLastContactThreshold
	DefaultDeadServerCleanupTime   = 5 * time.Minute
	DefaultAutopilotInterval       = time.Second
)

func (a AutopilotConfig) withDefaults() AutopilotConfig {
	if a.ServerStabilizationTime == 0 {
		a.ServerStabilizationTime = DefaultServerStabilizationTime
	}
	if a.MaxTrailingLogs == 0 {
		a.MaxTrailingLogs = DefaultMaxTrailingLogs
	}
	if a.LastContactThreshold == 0 {
		a.LastContactThreshold = DefaultLastContactThreshold
	}
	if a.DeadServerCleanupTime == 0 {
		a.DeadServerCleanupTime = DefaultDeadServerCleanupTime
	}
	if a.Interval == 0 {
		a.Interval = DefaultAutopilotInterval
	}
	return a
}

// RaftTimeouts are the Raft timings; see hashicorp/raft's Config.
type RaftTimeouts struct {
	Heartbeat   time.Duration
	Election    time.Duration
	LeaderLease time.Duration
	Commit      time.Duration
	// SnapshotInterval and SnapshotThreshold: how often Raft checks whether to
	// snapshot, and how many new log entries make it do so.
	SnapshotInterval  time.Duration
	SnapshotThreshold uint64
}

// Defaults of Config.
const (
	DefaultMinHeartbeatTTL        = 10 * time.Second
	DefaultMaxHeartbeatsPerSecond = 50.0
	DefaultHeartbeatGrace         = 10 * time.Second
	DefaultDeploymentGCThreshold  = time.Hour
	DefaultDeploymentGCInterval   = 5 * time.Minute
	DefaultAllocUpdateBatchWindow = 50 * time.Millisecond
	DefaultLeaderWaitTimeout      = 5 * time.Second
	DefaultJobGCInterval          = 5 * time.Minute
	DefaultJobGCThreshold         = 4 * time.Hour
	DefaultEvalGCThreshold        = time.Hour

	// Raft timings at RaftMultiplier 1; see RaftMultiplier.
	BaseRaftHeartbeatTimeout = 500 * time.Millisecond
	BaseRaftElectionTimeout  = 500 * time.Millisecond
	BaseRaftLeaderLease      = 250 * time.Millisecond
	// MaxRaftMultiplier is the largest RaftMultiplier accepted (Nomad's).
	MaxRaftMultiplier = 10
)

// DefaultConfig returns the configuration of a production server: standard
// ports on all interfaces, single-server bootstrap, defaults for the rest.
// DataDir is left for the caller.
func DefaultConfig() Config {
	host, _ := os.Hostname()
	return Config{
		NodeName:               host,
		Region:                 "global",
		Datacenter:             "dc1",
		BindAddr:               "0.0.0.0",
		RPCPort:                DefaultRPCPort,
		GossipPort:             DefaultGossipPort,
		BootstrapExpect:        1,
		NumSchedulers:          runtime.NumCPU(),
		MinHeartbeatTTL:        DefaultMinHeartbeatTTL,
		MaxHeartbeatsPerSecond: DefaultMaxHeartbeatsPerSecond,
		HeartbeatGrace:         DefaultHeartbeatGrace,
		AllocUpdateBatchWindow: DefaultAllocUpdateBatchWindow,
		DeploymentGCThreshold:  DefaultDeploymentGCThreshold,
		DeploymentGCInterval:   DefaultDeploymentGCInterval,
		Broker:                 broker.DefaultConfig(),
	}
}

// DevConfig returns the configuration of `orch agent -dev`: loopback, standard
// ports, fast Raft timeouts. DataDir is left for the caller.
func DevConfig() Config {
	c := DefaultConfig()
	c.BindAddr = "127.0.0.1"
	c.DevMode = true
	return c
}

// Validate reports every impossible value at once. It does not fill defaults.
func (c *Config) Validate() error {
	var errs []error
	if c.DataDir == "" {
		errs = append(errs, errors.New("server config: data_dir is empty: a data directory is required"))
	}
	if c.BindAddr != "" && net.ParseIP(c.BindAddr) == nil {
		errs = append(errs, fmt.Errorf("server config: bind_addr = %q: must be an IP address", c.BindAddr))
	}
	if c.AdvertiseAddr != "" {
		if ip := net.ParseIP(c.AdvertiseAddr); ip == nil || ip.IsUnspecified() {
			errs = append(errs, fmt.Errorf("server config: advertise_addr = %q: must be a specific IP address", c.AdvertiseAddr))
		}
	}
	for _, p := range []struct {
		name string
		v    int
	}{{"rpc_port", c.RPCPort}, {"gossip_port", c.GossipPort}} {
		if p.v < 0 || p.v > 65535 {
			errs = append(errs, fmt.Errorf("server config: %s = %d: must be in 0..65535 (0: any free port)", p.name, p.v))
		}
	}
	if c.BootstrapExpect < 0 {
		errs = append(errs, fmt.Errorf("server config: bootstrap_expect = %d: must be >= 0 (0: never bootstrap)", c.BootstrapExpect))
	}
	if c.NumSchedulers < 0 {
		errs = append(errs, fmt.Errorf("server config: num_schedulers = %d: must be >= 0 (0: one per CPU)", c.NumSchedulers))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"min_heartbeat_ttl", c.MinHeartbeatTTL}, {"heartbeat_grace", c.HeartbeatGrace},
		{"reconnect_grace", c.ReconnectGrace},
		{"alloc_update_batch_window", c.AllocUpdateBatchWindow}, {"leader_wait_timeout", c.LeaderWaitTimeout},
		{"deployment_gc_threshold", c.DeploymentGCThreshold}, {"deployment gc interval", c.DeploymentGCInterval},
		{"raft heartbeat timeout", c.RaftTimeouts.Heartbeat}, {"raft election timeout", c.RaftTimeouts.Election},
		{"raft leader lease timeout", c.RaftTimeouts.LeaderLease}, {"raft commit timeout", c.RaftTimeouts.Commit},
		{"raft snapshot interval", c.RaftTimeouts.SnapshotInterval},
		{"autopilot server_stabilization_time", c.Autopilot.ServerStabilizationTime},
		{"autopilot dead_server_cleanup_time", c.Autopilot.DeadServerCleanupTime},
		{"autopilot last_contact_threshold", c.Autopilot.LastContactThreshold},
		{"autopilot interval", c.Autopilot.Interval},
		{"job_gc_interval", c.JobGCInterval}, {"job_gc_threshold", c.JobGCThreshold},
		{"eval_gc_threshold", c.EvalGCThreshold}, {"deployment_gc_threshold", c.DeploymentGCThreshold},
	} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("server config: %s = %s: must be >= 0", d.name, d.v))
		}
	}
	if c.MaxEntryVersionForTest > MaxEntryVersion {
		errs = append(errs, fmt.Errorf("server config: MaxEntryVersionForTest = %d: must be <= %d, the highest entry version this build reads (0: unset)", c.MaxEntryVersionForTest, MaxEntryVersion))
	}
	if c.RaftMultiplier < 0 || c.RaftMultiplier > MaxRaftMultiplier {
		errs = append(errs, fmt.Errorf("server config: raft_multiplier = %d: must be in 1..%d (0: 1)", c.RaftMultiplier, MaxRaftMultiplier))
	}
	if c.Autopilot.MinQuorum < 0 {
		errs = append(errs, fmt.Errorf("server config: autopilot min_quorum = %d: must be >= 0 (0: the quorum of bootstrap_expect)", c.Autopilot.MinQuorum))
	}
	if c.MaxHeartbeatsPerSecond < 0 {
		errs = append(errs, fmt.Errorf("server config: max_heartbeats_per_second = %g: must be >= 0", c.MaxHeartbeatsPerSecond))
	}
	if err := c.Broker.Validate(); err != nil {
		errs = append(errs, err)
	}
	for _, p := range c.Limits.Validate() {
		errs = append(errs, errors.New("server config: "+p))
	}
	return errors.Join(errs...)
}

// withDefaults returns c with its zero fields filled.
func (c Config) withDefaults() Config {
	if c.NodeName == "" {
		c.NodeName, _ = os.Hostname()
		if c.NodeName == "" {
			c.NodeName = "orch-server"
		}
	}
	if c.Region == "" {
		c.Region = "global"
	}
	if c.Datacenter == "" {
		c.Datacenter = "dc1"
	}
	if c.BindAddr == "" {
		c.BindAddr = "0.0.0.0"
	}
	if c.NumSchedulers == 0 {
		c.NumSchedulers = runtime.NumCPU()
	}
	if c.Version == "" {
		c.Version = "dev"
	}
	if c.MinHeartbeatTTL == 0 {
		c.MinHeartbeatTTL = DefaultMinHeartbeatTTL
	}
	if c.DeploymentGCThreshold == 0 {
		c.DeploymentGCThreshold = DefaultDeploymentGCThreshold
	}
	if c.DeploymentGCInterval == 0 {
		c.DeploymentGCInterval = DefaultDeploymentGCInterval
	}
	if c.MaxHeartbeatsPerSecond == 0 {
		c.MaxHeartbeatsPerSecond = DefaultMaxHeartbeatsPerSecond
	}
	if c.HeartbeatGrace == 0 {
		c.HeartbeatGrace = DefaultHeartbeatGrace
	}
	if c.AllocUpdateBatchWindow == 0 {
		c.AllocUpdateBatchWindow = DefaultAllocUpdateBatchWindow
	}
	if c.LeaderWaitTimeout == 0 {
		c.LeaderWaitTimeout = DefaultLeaderWaitTimeout
	}
	for _, d := range []struct {
		v   *time.Duration
		def time.Duration
	}{{&c.JobGCInterval, DefaultJobGCInterval}, {&c.JobGCThreshold, DefaultJobGCThreshold},
		{&c.EvalGCThreshold, DefaultEvalGCThreshold}, {&c.DeploymentGCThreshold, DefaultDeploymentGCThreshold}} {
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Metrics == nil {
		c.Metrics = metrics.NewRegistry(nil)
	}
	if c.Clock == nil {
		c.Clock = clock.Real()
	}
	c.Broker.Clock = c.Clock
	if c.RaftMultiplier == 0 {
		c.RaftMultiplier = 1
	}
	c.RaftTimeouts = c.RaftTimeouts.withDefaults(c.DevMode, c.RaftMultiplier)
	c.Autopilot = c.Autopilot.withDefaults()
	return c
}

func (t RaftTimeouts) withDefaults(dev bool, multiplier int) RaftTimeouts {
	// Production values are tuned for a LAN (half of hashicorp/raft's
	// defaults) and scaled by the multiplier. In dev mode a single voter
	// elects itself after one heartbeat timeout, so a short one makes
	// `orch agent -dev` usable at once.
	m := time.Duration(max(multiplier, 1))
	def := RaftTimeouts{
		Heartbeat: m * BaseRaftHeartbeatTimeout, Election: m * BaseRaftElectionTimeout, LeaderLease: m * BaseRaftLeaderLease,
		Commit: 50 * time.Millisecond, SnapshotInterval: 120 * time.Second, SnapshotThreshold: 8192,
	}
	if dev {
		def.Heartbeat, def.Election, def.LeaderLease = 100*time.Millisecond, 100*time.Millisecond, 100*time.Millisecond
		def.Commit = 5 * time.Millisecond
	}
	if t.Heartbeat == 0 {
		t.Heartbeat = def.Heartbeat
	}
	if t.Election == 0 {
		t.Election = def.Election
	}
	if t.LeaderLease == 0 {
		t.LeaderLease = min(def.LeaderLease, t.Heartbeat)
	}
	if t.Commit == 0 {
		t.Commit = def.Commit
	}
	if t.SnapshotInterval == 0 {
		t.SnapshotInterval = def.SnapshotInterval
	}
	if t.SnapshotThreshold == 0 {
		t.SnapshotThreshold = def.SnapshotThreshold
	}
	return t
}

// advertiseIP is the address other agents use to reach this server.
func (c *Config) advertiseIP() (string, error) {
	if c.AdvertiseAddr != "" {
		return c.AdvertiseAddr, nil
	}
	if ip := net.ParseIP(c.BindAddr); ip != nil && !ip.IsUnspecified() {
		return c.BindAddr, nil
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return "", fmt.Errorf("server: finding an address to advertise: %w", err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && n.IP.IsPrivate() {
			return n.IP.String(), nil
		}
	}
	return "", fmt.Errorf("server: bind_addr = %q and no private IPv4 address found: set advertise_addr", c.BindAddr)
}
