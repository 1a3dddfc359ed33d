package structs

import (
	"errors"
	"fmt"
	"time"
)

// RaftStatsResponse is the reply of Status.RaftStats: where this server's
// own Raft log and FSM stand. The leader's autopilot asks each server for it
// on every pass, to tell whether a non-voter has caught up before promoting
// it and to report every server's health (Operator.ServerHealth). It is
// always answered by the server asked, never forwarded.
type RaftStatsResponse struct {
	// ServerID is the Raft ID of the server that answered.
	ServerID string
	// LastIndex is the index of the last entry in its Raft log (or
	// snapshot); AppliedIndex the last one its FSM applied.
	LastIndex    uint64
	AppliedIndex uint64
	// Leader is the RPC address of the leader it follows, "" when none.
	Leader string
	// LastTerm is the term of the last entry of its Raft log. 0 from a
	// server that predates the field (then not judged by it).
	LastTerm uint64
	// LastContact is how long ago it last heard from a leader, by its own
	// clock: 0 on the leader, and on a server that predates the field; -1
	// when it never has.
	LastContact time.Duration
}

// AutopilotConfig is the cluster-wide configuration of the leader's autopilot
// (server/autopilot.go), stored in Raft (one object) and set with `orch
// operator autopilot set-config` or PUT /v1/operator/autopilot/configuration.
// The agent's autopilot block seeds it when a first leader finds none; from
// then on the stored one rules, on every server. The names are Nomad's
// (api.AutopilotConfiguration).
//
// The settings of dead-server cleanup timing (dead_server_cleanup_time) and
// autopilot's interval are not here: they stay each agent's own.
type AutopilotConfig struct {
	// CleanupDeadServers removes a server gossip declares failed from the
	// Raft configuration once a replacement was promoted or after the
	// agent's dead_server_cleanup_time.
	CleanupDeadServers bool
	// LastContactThreshold is how long a server may go without hearing from
	// the leader and still count as healthy. Stored with the default
	// (DefaultLastContactThreshold) in place of 0.
	LastContactThreshold time.Duration
	// MaxTrailingLogs is how many entries a server's Raft log may trail the
	// leader's and still count as healthy. Stored with the default in place
	// of 0.
	MaxTrailingLogs uint64
	// MinQuorum is the fewest voters dead-server cleanup leaves; 0: the
	// quorum of bootstrap_expect.
	MinQuorum int
	// ServerStabilizationTime is how long a non-voter must stay healthy
	// before it is promoted. Stored with the default in place of 0.
	ServerStabilizationTime time.Duration

	// Nomad Enterprise's settings, which orch does not implement: Validate
	// refuses them set, so that a request that asks for them fails instead
	// of being silently ignored.
	EnableRedundancyZones   bool
	DisableUpgradeMigration bool
	EnableCustomUpgrades    bool

	CreateIndex uint64
	ModifyIndex uint64
}

// Defaults of AutopilotConfig (orch's; Nomad's are 200ms, 250 and 10s).
const (
	DefaultLastContactThreshold    = 200 * time.Millisecond
	DefaultMaxTrailingLogs         = 100
	DefaultServerStabilizationTime = 2 * time.Second
)

// WithDefaults returns the configuration with its zero durations and
// MaxTrailingLogs replaced by the defaults.
func (c AutopilotConfig) WithDefaults() AutopilotConfig {
	if c.LastContactThreshold == 0 {
		c.LastContactThreshold = DefaultLastContactThreshold
	}
	if c.MaxTrailingLogs == 0 {
		c.MaxTrailingLogs = DefaultMaxTrailingLogs
	}
	if c.ServerStabilizationTime == 0 {
		c.ServerStabilizationTime = DefaultServerStabilizationTime
	}
	return c
}

// Copy returns a copy. Safe on nil.
func (c *AutopilotConfig) Copy() *AutopilotConfig {
	if c == nil {
		return nil
	}
	cc := *c
	return &cc
}

// Validate checks the configuration, reporting every problem, each naming
// the field, its value and the rule. Zero values are valid (the defaults).
func (c *AutopilotConfig) Validate() error {
	if c == nil {
		return errors.New("autopilot configuration is null")
	}
	var errs []error
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"LastContactThreshold", c.LastContactThreshold}, {"ServerStabilizationTime", c.ServerStabilizationTime}} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("%s = %s: must be >= 0 (0: the default)", d.name, d.v))
		}
	}
	if c.MinQuorum < 0 {
		errs = append(errs, fmt.Errorf("MinQuorum = %d: must be >= 0 (0: the quorum of bootstrap_expect)", c.MinQuorum))
	}
	for _, f := range []struct {
		name, feature string
		set           bool
	}{
		{"EnableRedundancyZones", "redundancy zones", c.EnableRedundancyZones},
		{"DisableUpgradeMigration", "upgrade migrations", c.DisableUpgradeMigration},
		{"EnableCustomUpgrades", "custom upgrade versions", c.EnableCustomUpgrades},
	} {
		if f.set {
			errs = append(errs, fmt.Errorf("%s = true: not supported: orch's autopilot has no %s (a Nomad Enterprise feature); leave it false", f.name, f.feature))
		}
	}
	return errors.Join(errs...)
}

// Operator autopilot RPC methods (see rpc.go):
//
//	Operator.AutopilotGetConfiguration  GenericRequest              → AutopilotConfigResponse
//	Operator.AutopilotSetConfiguration  AutopilotSetConfigRequest   → AutopilotSetConfigResponse
//	Operator.ServerHealth               GenericRequest              → OperatorHealthReply

// AutopilotConfigResponse answers Operator.AutopilotGetConfiguration: the
// stored configuration, or, before a leader stored one, the one the leader's
// autopilot uses (its agent's, with zero indexes).
type AutopilotConfigResponse struct {
	Config AutopilotConfig
	QueryMeta
}

// AutopilotSetConfigRequest sets the autopilot configuration. With CAS, the
// write happens only if the stored configuration's ModifyIndex is
// Config.ModifyIndex (0: none stored yet).
type AutopilotSetConfigRequest struct {
	Config AutopilotConfig
	CAS    bool
	WriteRequest
}

// AutopilotSetConfigResponse answers Operator.AutopilotSetConfiguration.
// Updated is false when a CAS write found another ModifyIndex.
type AutopilotSetConfigResponse struct {
	Updated bool
	WriteMeta
}

// OperatorHealthReply answers Operator.ServerHealth: the health of the
// servers of the Raft configuration as the leader's autopilot saw them in
// its last pass (Nomad's OperatorHealthReply).
type OperatorHealthReply struct {
	// Healthy is whether every server is healthy.
	Healthy bool
	// FailureTolerance is how many healthy voters could fail with a quorum
	// of voters left.
	FailureTolerance int
	Servers          []ServerHealth
	// Leader is the Raft ID of the leader; Voters the Raft IDs of the voters.
	Leader string
	Voters []string
}

// ServerHealth is the health of one server of the Raft configuration.
type ServerHealth struct {
	ID      string // Raft ID
	Name    string // gossip node name; "" when gossip has not seen it
	Address string // Raft (RPC) address
	// SerfStatus is its gossip state: "alive", "failed", "left", or "none"
	// (not seen in gossip).
	SerfStatus string
	Version    string // the orch version it advertises
	Leader     bool
	Voter      bool
	// LastContact is how long ago it heard from the leader (0 for the
	// leader; -1: never, or it did not answer).
	LastContact time.Duration
	LastTerm    uint64
	LastIndex   uint64
	Healthy     bool
	// StableSince is when Healthy last changed, as this leader saw it (its
	// first observation in its term, at the latest).
	StableSince time.Time
}
