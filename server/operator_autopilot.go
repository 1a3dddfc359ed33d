package server

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/hashicorp/raft"
	"github.com/orch-io/orch/server/state"
	"github.com/orch-io/orch/structs"
)

// The replicated autopilot configuration, as Nomad's: one
// structs.AutopilotConfig in the state (TableAutopilotConfig), written by
// MsgAutopilotConfig entries. The first leader that finds none stores its
// agent's settings (seedAutopilotConfig, from autopilot's loop, with a
// compare-and-set on "none stored" so that it never overwrites an
// operator's); every pass of the leader's autopilot then decides by the
// stored one (autopilotSettings), so a change applies from the next pass,
// on whichever server leads. Until one is stored (a cluster whose servers
// do not all read entry version 5 yet) autopilot uses its agent's settings.

// AutopilotGetConfiguration returns the autopilot configuration: the stored
// one, or, before one is stored, the settings of the answering server's
// agent (with zero indexes), which its autopilot uses meanwhile.
func (o *operatorEndpoint) AutopilotGetConfiguration(ctx context.Context, args *structs.GenericRequest, reply *structs.AutopilotConfigResponse) error {
	if done, err := o.srv.forward(ctx, "Operator.AutopilotGetConfiguration", args, reply); done {
		return err
	}
	return o.srv.blockingQuery(ctx, &args.QueryOptions, &reply.QueryMeta, func(snap *state.Snapshot) (uint64, error) {
		if c := snap.AutopilotConfig(); c != nil {
			reply.Config = *c
		} else {
			reply.Config = o.srv.config.Autopilot.replicated()
		}
		return snap.IndexUnwatched(state.TableAutopilotConfig), nil
	})
}

// AutopilotSetConfiguration validates and stores an autopilot configuration
// through Raft; zero durations and MaxTrailingLogs are stored as the
// defaults. The leader's autopilot decides by it from its next pass.
func (o *operatorEndpoint) AutopilotSetConfiguration(ctx context.Context, args *structs.AutopilotSetConfigRequest, reply *structs.AutopilotSetConfigResponse) error {
	if done, err := o.srv.forward(ctx, "Operator.AutopilotSetConfiguration", args, reply); done {
		return err
	}
	if err := args.Config.Validate(); err != nil {
		return structs.NewError(structs.CodeInvalid, "invalid autopilot configuration: %v", err)
	}
	config := args.Config.WithDefaults()
	out, err := o.srv.raftApplyWrite(ctx, MsgAutopilotConfig, &AutopilotConfigEntry{Config: &config, CAS: args.CAS}, args.RequestID)
	if err != nil {
		return err
	}
	reply.Index = out.Index
	// The FSM stored the configuration at the entry's index unless a CAS
	// check failed (or, for a retry, unless it changed again since).
	stored := o.srv.state.AutopilotConfig()
	reply.Updated = stored != nil && stored.ModifyIndex == out.Index
	kickReconcile(o.srv)
	return nil
}

// ServerHealth answers the health of the servers as the leader's autopilot
// saw them in its last pass (autopilot_health.go), waiting (up to
// healthWaitTimeout) for the autopilot of a new leader to start and make its
// first pass.
func (o *operatorEndpoint) ServerHealth(ctx context.Context, args *structs.GenericRequest, reply *structs.OperatorHealthReply) error {
	if done, err := o.srv.forward(ctx, "Operator.ServerHealth", args, reply); done {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, healthWaitTimeout)
	defer cancel()
	ap, err := o.srv.runningAutopilot(ctx)
	if err != nil {
		return err
	}
	select {
	case <-ap.firstPass:
	case <-ctx.Done():
		return structs.NewError(structs.CodeNoLeader, "%w: autopilot has not observed the servers yet: %v", structs.ErrNoLeader, ctx.Err())
	}
	h := ap.health()
	*reply = *h
	reply.Servers, reply.Voters = slices.Clone(h.Servers), slices.Clone(h.Voters)
	return nil
}

// healthWaitTimeout bounds how long ServerHealth waits for a new leader's
// autopilot to start and make its first pass.
const healthWaitTimeout = 10 * time.Second

// autopilotStartPoll is how often runningAutopilot looks for the autopilot
// of a leader that has not started its duties yet.
const autopilotStartPoll = 10 * time.Millisecond

// runningAutopilot returns the leader's running autopilot. A server that
// has just won an election starts it once its FSM has caught up (leader.go):
// meanwhile it waits, until ctx ends or it no longer leads.
func (s *Server) runningAutopilot(ctx context.Context) (*autopilot, error) {
	t := time.NewTicker(autopilotStartPoll)
	defer t.Stop()
	for {
		if ap := s.autopilot.Load(); ap != nil {
			return ap, nil
		}
		if s.raft.State() != raft.Leader {
			return nil, structs.NewError(structs.CodeNoLeader, "%w: this server's autopilot is not running: it is not the leader", structs.ErrNoLeader)
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return nil, structs.NewError(structs.CodeNoLeader, "%w: this server leads but has not started its autopilot yet: %v", structs.ErrNoLeader, ctx.Err())
		}
	}
}

func (f *FSM) applyAutopilotConfig(a *entryApply, body []byte) error {
	var e AutopilotConfigEntry
	if err := decodeEntry(MsgAutopilotConfig, body, &e); err != nil {
		return err
	}
	if e.Config == nil {
		return fmt.Errorf("server: AutopilotConfig entry at index %d lacks its configuration", a.index)
	}
	_, err := a.txn.UpsertAutopilotConfig(e.Config, e.CAS)
	return err
}

// replicated is the part of the agent's settings the cluster replicates,
// with the defaults in place of zeros.
func (a AutopilotConfig) replicated() structs.AutopilotConfig {
	a = a.withDefaults()
	return structs.AutopilotConfig{
		CleanupDeadServers:      !a.DisableDeadServerCleanup,
		LastContactThreshold:    a.LastContactThreshold,
		MaxTrailingLogs:         a.MaxTrailingLogs,
		MinQuorum:               a.MinQuorum,
		ServerStabilizationTime: a.ServerStabilizationTime,
	}
}

// autopilotSettings returns the settings autopilot decides by: the stored
// configuration's (nil: none stored) over the agent's own, which alone hold
// DeadServerCleanupTime and Interval.
func (s *Server) autopilotSettings(stored *structs.AutopilotConfig) AutopilotConfig {
	local := s.config.Autopilot.withDefaults()
	if stored == nil {
		return local
	}
	c := stored.WithDefaults()
	local.DisableDeadServerCleanup = !c.CleanupDeadServers
	local.LastContactThreshold = c.LastContactThreshold
	local.MaxTrailingLogs = c.MaxTrailingLogs
	local.MinQuorum = c.MinQuorum
	local.ServerStabilizationTime = c.ServerStabilizationTime
	return local
}

// seedTimeout bounds the write of the seed configuration.
const seedTimeout = 10 * time.Second

// seedAutopilotConfig stores the agent's settings as the cluster's
// configuration when none is stored, and reports whether one is stored now.
// A failure (a server that does not read entry version 5 yet, a lost
// leadership) is returned; autopilot's next pass tries again. Called on the
// leader, from autopilot's loop.
func (s *Server) seedAutopilotConfig(ctx context.Context) (bool, error) {
	if s.state.AutopilotConfig() != nil {
		return true, nil
	}
	ctx, cancel := context.WithTimeout(ctx, seedTimeout)
	defer cancel()
	seed := s.config.Autopilot.replicated()
	out, err := s.raftApplyWrite(ctx, MsgAutopilotConfig, &AutopilotConfigEntry{Config: &seed, CAS: true}, "")
	if err != nil {
		return false, err
	}
	if c := s.state.AutopilotConfig(); c != nil && c.ModifyIndex == out.Index {
		s.logger.Info("autopilot: stored this agent's autopilot settings as the cluster's configuration", "index", out.Index,
			"cleanup_dead_servers", seed.CleanupDeadServers, "last_contact_threshold", seed.LastContactThreshold,
			"max_trailing_logs", seed.MaxTrailingLogs, "min_quorum", seed.MinQuorum,
			"server_stabilization_time", seed.ServerStabilizationTime)
	}
	return s.state.AutopilotConfig() != nil, nil
}

// kickReconcile asks the leader's autopilot loop for a pass soon.
func kickReconcile(s *Server) {
	select {
	case s.reconcileKick <- struct{}{}:
	default:
	}
}
