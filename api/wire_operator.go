package api

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/orch-io/orch/structs"
)

// SchedulerConfiguration is the body of PUT /v1/operator/scheduler/configuration
// as Nomad's client sends it: the settings orch has, the ones it does not
// (refused when set, see CheckSupported), and SampleSize, orch's own.
type SchedulerConfiguration struct {
	SchedulerAlgorithm            string
	PreemptionConfig              structs.PreemptionConfig
	MemoryOversubscriptionEnabled bool
	RejectJobRegistration         Unsupported
	PauseEvalBroker               Unsupported
	NodeLimitForFeasibilityChecks Unsupported
	// SampleSize is orch's own (structs.SchedulerConfiguration.SampleSize).
	SampleSize  int `json:",omitempty"`
	CreateIndex uint64
	ModifyIndex uint64
}

// SchedulerConfigToStructs is the configuration as orch's.
func SchedulerConfigToStructs(w *SchedulerConfiguration) structs.SchedulerConfiguration {
	return structs.SchedulerConfiguration{SchedulerAlgorithm: structs.SchedulerAlgorithm(w.SchedulerAlgorithm),
		PreemptionConfig: w.PreemptionConfig, SampleSize: w.SampleSize,
		MemoryOversubscriptionEnabled: w.MemoryOversubscriptionEnabled, CreateIndex: w.CreateIndex, ModifyIndex: w.ModifyIndex}
}

// AutopilotConfiguration is the body of GET and PUT
// /v1/operator/autopilot/configuration as Nomad's client sends and reads it
// (its api.AutopilotConfiguration marshals the two durations as Go duration
// text, "200ms", and reads them back so).
type AutopilotConfiguration struct {
	CleanupDeadServers      bool
	LastContactThreshold    string
	MaxTrailingLogs         uint64
	MinQuorum               uint
	ServerStabilizationTime string
	// Nomad Enterprise's: refused when true (structs.AutopilotConfig.Validate).
	EnableRedundancyZones   bool
	DisableUpgradeMigration bool
	EnableCustomUpgrades    bool
	CreateIndex             uint64
	ModifyIndex             uint64
}

// AutopilotConfigFromStructs is the configuration as the API sends it.
func AutopilotConfigFromStructs(c *structs.AutopilotConfig) *AutopilotConfiguration {
	return &AutopilotConfiguration{
		CleanupDeadServers: c.CleanupDeadServers, LastContactThreshold: c.LastContactThreshold.String(),
		MaxTrailingLogs: c.MaxTrailingLogs, MinQuorum: uint(max(0, c.MinQuorum)),
		ServerStabilizationTime: c.ServerStabilizationTime.String(),
		EnableRedundancyZones:   c.EnableRedundancyZones, DisableUpgradeMigration: c.DisableUpgradeMigration,
		EnableCustomUpgrades: c.EnableCustomUpgrades, CreateIndex: c.CreateIndex, ModifyIndex: c.ModifyIndex,
	}
}

// AutopilotConfigToStructs is the configuration as orch's. A duration that
// does not parse is an error naming the field; "" is 0 (the default).
func AutopilotConfigToStructs(w *AutopilotConfiguration) (structs.AutopilotConfig, error) {
	c := structs.AutopilotConfig{
		CleanupDeadServers: w.CleanupDeadServers, MaxTrailingLogs: w.MaxTrailingLogs,
		EnableRedundancyZones: w.EnableRedundancyZones, DisableUpgradeMigration: w.DisableUpgradeMigration,
		EnableCustomUpgrades: w.EnableCustomUpgrades, CreateIndex: w.CreateIndex, ModifyIndex: w.ModifyIndex,
	}
	var errs []error
	if w.MinQuorum > math.MaxInt32 {
		errs = append(errs, fmt.Errorf("MinQuorum = %d: must be at most %d", w.MinQuorum, math.MaxInt32))
	} else {
		c.MinQuorum = int(w.MinQuorum)
	}
	for _, d := range []struct {
		name string
		text string
		dst  *time.Duration
	}{
		{"LastContactThreshold", w.LastContactThreshold, &c.LastContactThreshold},
		{"ServerStabilizationTime", w.ServerStabilizationTime, &c.ServerStabilizationTime},
	} {
		if d.text == "" {
			continue
		}
		v, err := time.ParseDuration(d.text)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s = %q: must be a duration such as \"200ms\" or \"10s\"", d.name, d.text))
			continue
		}
		*d.dst = v
	}
	return c, errors.Join(errs...)
}

// OperatorHealthReply is the body of GET /v1/operator/autopilot/health, as
// Nomad's (orch has none of its Enterprise fields).
type OperatorHealthReply struct {
	Healthy          bool
	FailureTolerance int
	Servers          []ServerHealth
	Leader           string
	Voters           []string
}

// ServerHealth is one server of OperatorHealthReply; LastContact is Go
// duration text ("27.29ms"), as Nomad's client reads it.
type ServerHealth struct {
	ID          string
	Name        string
	Address     string
	SerfStatus  string
	Version     string
	Leader      bool
	LastContact string
	LastTerm    uint64
	LastIndex   uint64
	Healthy     bool
	Voter       bool
	StableSince time.Time
}

// OperatorHealthFromStructs is the health reply as the API sends it; times
// are rounded to the second, in UTC, as Nomad's.
func OperatorHealthFromStructs(h *structs.OperatorHealthReply) *OperatorHealthReply {
	out := &OperatorHealthReply{Healthy: h.Healthy, FailureTolerance: h.FailureTolerance, Leader: h.Leader,
		Voters: slices.Clone(h.Voters), Servers: make([]ServerHealth, 0, len(h.Servers))}
	if out.Voters == nil {
		out.Voters = []string{}
	}
	for _, s := range h.Servers {
		out.Servers = append(out.Servers, ServerHealth{
			ID: s.ID, Name: s.Name, Address: s.Address, SerfStatus: s.SerfStatus, Version: s.Version,
			Leader: s.Leader, LastContact: s.LastContact.String(), LastTerm: s.LastTerm, LastIndex: s.LastIndex,
			Healthy: s.Healthy, Voter: s.Voter, StableSince: s.StableSince.Round(time.Second).UTC(),
		})
	}
	return out
}

// OperatorHealthToStructs is the health reply as orch's. A LastContact that
// does not parse is an error.
func OperatorHealthToStructs(w *OperatorHealthReply) (*structs.OperatorHealthReply, error) {
	out := &structs.OperatorHealthReply{Healthy: w.Healthy, FailureTolerance: w.FailureTolerance, Leader: w.Leader,
		Voters: slices.Clone(w.Voters)}
	for _, s := range w.Servers {
		var last time.Duration
		if s.LastContact != "" {
			d, err := time.ParseDuration(s.LastContact)
			if err != nil {
				return nil, fmt.Errorf("server %s: LastContact = %q: not a duration", s.ID, s.LastContact)
			}
			last = d
		}
		out.Servers = append(out.Servers, structs.ServerHealth{
			ID: s.ID, Name: s.Name, Address: s.Address, SerfStatus: s.SerfStatus, Version: s.Version,
			Leader: s.Leader, LastContact: last, LastTerm: s.LastTerm, LastIndex: s.LastIndex,
			Healthy: s.Healthy, Voter: s.Voter, StableSince: s.StableSince,
		})
	}
	return out, nil
}
