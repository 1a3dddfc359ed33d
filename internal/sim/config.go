package sim

import (
	"errors"
	"fmt"
	"time"
)

// Config is one simulation. DefaultConfig gives the 100k case; Validate
// reports every impossible value at once and fills nothing.
type Config struct {
	// OrchBin is the `orch` binary the servers run.
	OrchBin string
	// WorkDir holds the servers' data dirs and logs; OutDir receives the
	// time series (sim.csv) and its plot (sim.png), "" for none.
	WorkDir string
	OutDir  string

	// Servers is 1 or 3 real server processes.
	Servers int
	// Nodes simulated client nodes, sharing Sessions yamux sessions.
	Nodes    int
	Sessions int
	// Jobs service jobs of one group of Count allocations each, submitted
	// at once once every node is ready.
	Jobs  int
	Count int
	// MaxHeartbeatsPerSecond is the servers' max_heartbeats_per_second
	// (0: the servers' default), which sets the TTL at this size.
	MaxHeartbeatsPerSecond float64
	// RaftMultiplier is the servers' raft_multiplier (0: their default, 1):
	// raise it on a machine so loaded that a leader cannot reach its
	// followers within 500ms.
	RaftMultiplier int
	// NumSchedulers is the servers' num_schedulers (0: their default, one
	// worker per core).
	NumSchedulers int
	// MinHeartbeatTTL and HeartbeatGrace are the servers' settings of the
	// same names (0: their defaults, 10s and 10s).
	MinHeartbeatTTL time.Duration
	HeartbeatGrace  time.Duration
	// ReconnectGrace is the servers' reconnect_grace (0: off, their default).
	ReconnectGrace time.Duration

	// LeaderKill SIGKILLs the leader once half the allocations are placed
	// (needs 3 servers) and measures until scheduling resumes.
	LeaderKill bool
	// NodeLoss stops NodeLossPercent of the nodes with allocations at once,
	// without a graceful leave, once everything runs, and measures until
	// their allocations run elsewhere.
	NodeLoss        bool
	NodeLossPercent float64
	// NodeLossMode is how a node dies: NodeLossExit (its agent's process
	// dies and its kernel closes its connection: the servers see it and
	// give the node reconnect_grace, the default) or NodeLossCrash (its host
	// falls silent: the node is found by its TTL). Either way it says
	// nothing to the servers first. Each victim first gets a connection of
	// its own, as a real client has (the simulated nodes otherwise share
	// Sessions).
	NodeLossMode string
	// Churn, when > 0, changes this many jobs a second for ChurnFor once
	// everything runs (an update replacing a job's allocations, or a stop,
	// in turn), then registers the stopped jobs again and measures until the
	// cluster has settled.
	Churn    float64
	ChurnFor time.Duration
	// Steady keeps the cluster idle for this long at the end (no faults):
	// it counts false node-downs, of which there must be none.
	Steady time.Duration

	// Profile, when > 0, captures a CPU profile of this length of every
	// server from the first submit, into WorkDir/<server>.cpu.pprof (and a
	// heap profile once all run, <server>.heap.pprof). The servers' binary
	// must be built with `-tags pprof` (see pprof.go): they serve Go's
	// profiles on the address the simulator gives each in ORCH_PPROF_ADDR.
	Profile time.Duration

	// Check verifies the invariants at the end (reads every allocation:
	// leave it off for the 1M case).
	Check bool
	// SampleInterval is the time series' step.
	SampleInterval time.Duration
	// Timeout bounds the whole run.
	Timeout time.Duration
}

// How a node dies (Config.NodeLossMode).
const (
	NodeLossCrash = "crash"
	NodeLossExit  = "exit"
)

// DefaultConfig is the 100k case: 3 servers, 5,000 nodes, 100 jobs × 1,000.
func DefaultConfig() Config {
	return Config{
		Servers:         3,
		Nodes:           5000,
		Sessions:        16,
		Jobs:            100,
		Count:           1000,
		NodeLossPercent: 1,
		NodeLossMode:    NodeLossExit,
		ChurnFor:        30 * time.Second,
		SampleInterval:  time.Second,
		Timeout:         20 * time.Minute,
	}
}

// Allocs is the number of allocations the jobs ask for.
func (c *Config) Allocs() int { return c.Jobs * c.Count }

// Validate reports every impossible value at once.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf("sim: "+format, args...)) }
	if c.OrchBin == "" {
		bad(`orch binary = "": the path of the orch binary is required`)
	}
	if c.WorkDir == "" {
		bad(`work dir = "": a directory for the servers' data is required`)
	}
	if c.Servers != 1 && c.Servers != 3 {
		bad("servers = %d: must be 1 or 3", c.Servers)
	}
	if c.Nodes < 1 {
		bad("nodes = %d: must be >= 1", c.Nodes)
	}
	if c.Sessions < 1 || c.Sessions > c.Nodes {
		bad("sessions = %d: must be in 1..nodes (%d)", c.Sessions, c.Nodes)
	}
	if c.Jobs < 1 {
		bad("jobs = %d: must be >= 1", c.Jobs)
	}
	if c.Count < 1 {
		bad("count = %d: must be >= 1", c.Count)
	}
	if c.MaxHeartbeatsPerSecond < 0 {
		bad("max heartbeats per second = %g: must be >= 0", c.MaxHeartbeatsPerSecond)
	}
	if c.RaftMultiplier < 0 || c.RaftMultiplier > 10 {
		bad("raft multiplier = %d: must be in 0..10 (0: the servers' default)", c.RaftMultiplier)
	}
	if c.NumSchedulers < 0 || c.NumSchedulers > 64 {
		bad("num schedulers = %d: must be in 0..64 (0: the servers' default)", c.NumSchedulers)
	}
	if c.MinHeartbeatTTL < 0 {
		bad("min heartbeat ttl = %s: must be >= 0", c.MinHeartbeatTTL)
	}
	if c.HeartbeatGrace < 0 {
		bad("heartbeat grace = %s: must be >= 0", c.HeartbeatGrace)
	}
	if c.ReconnectGrace < 0 {
		bad("reconnect grace = %s: must be >= 0", c.ReconnectGrace)
	}
	if c.NodeLossMode != NodeLossCrash && c.NodeLossMode != NodeLossExit {
		bad("node loss mode = %q: must be %q or %q", c.NodeLossMode, NodeLossCrash, NodeLossExit)
	}
	if c.LeaderKill && c.Servers != 3 {
		bad("leader kill with servers = %d: needs 3 servers", c.Servers)
	}
	if c.NodeLoss && (c.NodeLossPercent <= 0 || c.NodeLossPercent >= 100) {
		bad("node loss percent = %g: must be in (0, 100)", c.NodeLossPercent)
	}
	if c.Churn < 0 || c.Churn > 1000 {
		bad("churn = %g: must be in 0..1000 job changes a second", c.Churn)
	}
	if c.Churn > 0 && c.ChurnFor <= 0 {
		bad("churn for = %s: must be > 0 with churn", c.ChurnFor)
	}
	if c.Steady < 0 {
		bad("steady = %s: must be >= 0", c.Steady)
	}
	if c.Profile < 0 {
		bad("profile = %s: must be >= 0", c.Profile)
	}
	if c.SampleInterval <= 0 {
		bad("sample interval = %s: must be > 0", c.SampleInterval)
	}
	if c.Timeout <= 0 {
		bad("timeout = %s: must be > 0", c.Timeout)
	}
	return errors.Join(errs...)
}
