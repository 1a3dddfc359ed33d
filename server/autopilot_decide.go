package server

import (
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/hashicorp/raft"
	"github.com/orch-io/orch/structs"
)

// Autopilot's decisions, as a pure function of what the leader observes
// (decideAutopilot); autopilot.go gathers the observations, applies the
// actions and logs. Nothing here does I/O or reads the clock.

// apMember is a server of the region as gossip shows it to the leader.
type apMember struct {
	ID    raft.ServerID
	Name  string // gossip name, for the logs
	Addr  raft.ServerAddress
	State memberlist.NodeStateType // StateAlive, StateLeft or StateDead (failed)
	// BootstrapExpect is the bootstrap_expect it advertises, 0 if none.
	BootstrapExpect int
	// Version is the orch version it advertises.
	Version string
}

// apHealth is what a non-voter answered to Status.RaftStats, or why it did
// not answer.
type apHealth struct {
	Stats structs.RaftStatsResponse
	Err   error
}

// autopilotInput is everything one decision depends on.
type autopilotInput struct {
	Now    time.Time
	Config AutopilotConfig
	// BootstrapExpect is the leader's own bootstrap_expect.
	BootstrapExpect int
	// Self and SelfAddr are the leader's Raft ID and RPC address.
	Self     raft.ServerID
	SelfAddr string
	// LeaderLastIndex is the last index of the leader's Raft log, and
	// LeaderLastTerm its term.
	LeaderLastIndex uint64
	LeaderLastTerm  uint64
	// Servers is the Raft configuration.
	Servers []raft.Server
	// Members are the region's servers gossip knows, in any order.
	Members []apMember
	// Health holds the answers of the alive servers of the configuration
	// (but the leader); one missing here counts as not answering.
	Health map[raft.ServerID]apHealth
}

// autopilotState is what autopilot remembers between decisions, for one
// leadership term. The zero value is a fresh term.
type autopilotState struct {
	// healthySince: alive non-voters by ID, since when continuously healthy.
	healthySince map[raft.ServerID]time.Time
	// failedSince: servers of the configuration gossip shows failed, since
	// when this leader has seen them so.
	failedSince map[raft.ServerID]time.Time
	// lastPromotion is when this leader last promoted a non-voter.
	lastPromotion time.Time
	// refused: the failed voters whose removal was due but refused to keep
	// the minimum of voters.
	refused map[raft.ServerID]bool
}

func (st autopilotState) clone() autopilotState {
	return autopilotState{
		healthySince:  cloneOrEmpty(st.healthySince),
		failedSince:   cloneOrEmpty(st.failedSince),
		lastPromotion: st.lastPromotion,
		refused:       cloneOrEmpty(st.refused),
	}
}

func cloneOrEmpty[V any](m map[raft.ServerID]V) map[raft.ServerID]V {
	if m == nil {
		return map[raft.ServerID]V{}
	}
	return maps.Clone(m)
}

// apActionKind is a change autopilot makes to the Raft configuration.
type apActionKind int

const (
	// apAddNonvoter adds a server that is not in the configuration.
	apAddNonvoter apActionKind = iota + 1
	// apUpdateAddress re-adds a server under its new address, keeping its
	// suffrage (Voter).
	apUpdateAddress
	// apPromote makes a non-voter a voter.
	apPromote
	// apRemove removes a server (Reason says why).
	apRemove
)

func (k apActionKind) String() string {
	switch k {
	case apAddNonvoter:
		return "add non-voter"
	case apUpdateAddress:
		return "update address"
	case apPromote:
		return "promote"
	case apRemove:
		return "remove"
	}
	return "apActionKind(" + strconv.Itoa(int(k)) + ")"
}

// apAction is one change to make, in the order given.
type apAction struct {
	Kind   apActionKind
	ID     raft.ServerID
	Name   string
	Addr   raft.ServerAddress
	Voter  bool   // apUpdateAddress: the server is a voter
	Reason string // apRemove: why
}

// apNote is a line for the log: what autopilot observed or decided.
type apNote struct {
	Level slog.Level
	ID    raft.ServerID
	Name  string
	Msg   string
	Attrs []any
}

// autopilotDecision is the outcome of decideAutopilot.
type autopilotDecision struct {
	Actions []apAction
	Notes   []apNote
	// Next is the state to keep, as if no action were applied yet: the
	// caller records each one that succeeds with autopilotState.applied.
	Next autopilotState
}

// decideAutopilot decides what to change in the Raft configuration (see
// autopilot.go for the rules), given the state kept since the last decision
// and what the leader observes now. It does not modify prev.
//
// Removals of failed servers count on the decision's earlier removals
// succeeding; a removal "because replaced" counts only promotions already
// recorded in prev: the caller decides again after a promotion.
func decideAutopilot(prev autopilotState, in autopilotInput) autopilotDecision {
	d := autopilotDecision{Next: prev.clone()}
	st := &d.Next
	cfg := in.Config

	inConfig := map[raft.ServerID]raft.Server{}
	for _, srv := range in.Servers {
		inConfig[srv.ID] = srv
	}
	members := slices.Clone(in.Members)
	slices.SortFunc(members, func(a, b apMember) int { return strings.Compare(string(a.ID), string(b.ID)) })
	names := map[raft.ServerID]string{}
	stillNonvoter := map[raft.ServerID]bool{}
	note := func(level slog.Level, m apMember, msg string, attrs ...any) {
		d.Notes = append(d.Notes, apNote{Level: level, ID: m.ID, Name: m.Name, Msg: msg, Attrs: attrs})
	}

	for _, m := range members {
		if m.ID == "" || m.Addr == "" || m.ID == in.Self {
			continue
		}
		names[m.ID] = m.Name
		srv, ok := inConfig[m.ID]
		switch m.State {
		case memberlist.StateAlive:
			if _, was := st.failedSince[m.ID]; was {
				note(slog.LevelInfo, m, "autopilot: failed server is alive again; not removing it")
				delete(st.failedSince, m.ID)
				delete(st.refused, m.ID)
			}
			switch {
			case !ok:
				note(slog.LevelInfo, m, "autopilot: adding server as non-voter; promoted once caught up and stable",
					"rpc_addr", m.Addr, "stabilization_time", cfg.ServerStabilizationTime)
				d.Actions = append(d.Actions, apAction{Kind: apAddNonvoter, ID: m.ID, Name: m.Name, Addr: m.Addr})
			case srv.Address != m.Addr:
				note(slog.LevelInfo, m, "autopilot: updating server address", "from", srv.Address, "to", m.Addr)
				d.Actions = append(d.Actions, apAction{Kind: apUpdateAddress, ID: m.ID, Name: m.Name, Addr: m.Addr, Voter: srv.Suffrage == raft.Voter})
			case srv.Suffrage == raft.Nonvoter:
				stillNonvoter[m.ID] = true
				if a, ok := considerPromotion(st, in, m, note); ok {
					d.Actions = append(d.Actions, a)
				}
			}
		case memberlist.StateLeft:
			delete(st.failedSince, m.ID)
			delete(st.refused, m.ID)
			if ok {
				note(slog.LevelInfo, m, "autopilot: removing server that left from the raft configuration")
				d.Actions = append(d.Actions, apAction{Kind: apRemove, ID: m.ID, Name: m.Name, Reason: "left"})
			}
		case memberlist.StateDead:
			if !ok {
				continue
			}
			if _, seen := st.failedSince[m.ID]; !seen {
				st.failedSince[m.ID] = in.Now
				if cfg.DisableDeadServerCleanup {
					note(slog.LevelWarn, m, "autopilot: server failed; dead server cleanup is disabled: it stays in the raft configuration")
				} else {
					note(slog.LevelWarn, m, "autopilot: server failed; removing it from the raft configuration once replaced or after the cleanup time",
						"dead_server_cleanup_time", cfg.DeadServerCleanupTime)
				}
			}
		}
	}
	// Stabilization must be continuous: forget every server not seen an
	// alive non-voter this time.
	maps.DeleteFunc(st.healthySince, func(id raft.ServerID, _ time.Time) bool { return !stillNonvoter[id] })

	if !cfg.DisableDeadServerCleanup {
		d.Actions = append(d.Actions, decideCleanup(st, in, inConfig, names, note)...)
	}
	return d
}

// considerPromotion records whether the non-voter m is healthy and returns
// its promotion once it has been for the stabilization time.
func considerPromotion(st *autopilotState, in autopilotInput, m apMember, note func(slog.Level, apMember, string, ...any)) (apAction, bool) {
	h := in.Health[m.ID]
	if why := healthProblem(in, m); why != "" {
		if _, was := st.healthySince[m.ID]; was {
			note(slog.LevelInfo, m, "autopilot: non-voter no longer healthy; stabilization restarts", "reason", why)
			delete(st.healthySince, m.ID)
		} else {
			note(slog.LevelDebug, m, "autopilot: non-voter not healthy yet", "reason", why)
		}
		return apAction{}, false
	}
	since, ok := st.healthySince[m.ID]
	if !ok {
		st.healthySince[m.ID] = in.Now
		note(slog.LevelInfo, m, "autopilot: non-voter caught up; promoting it once stable", "last_index", h.Stats.LastIndex,
			"leader_last_index", in.LeaderLastIndex, "stabilization_time", in.Config.ServerStabilizationTime)
		return apAction{}, false
	}
	if in.Now.Sub(since) < in.Config.ServerStabilizationTime {
		return apAction{}, false
	}
	note(slog.LevelInfo, m, "autopilot: promoting non-voter to voter", "healthy_for", in.Now.Sub(since).Round(time.Millisecond),
		"last_index", h.Stats.LastIndex, "leader_last_index", in.LeaderLastIndex)
	return apAction{Kind: apPromote, ID: m.ID, Name: m.Name, Addr: m.Addr}, true
}

// decideCleanup returns the removals of the failed servers that are due, in
// ID order, keeping at least minVoters voters.
func decideCleanup(st *autopilotState, in autopilotInput, inConfig map[raft.ServerID]raft.Server, names map[raft.ServerID]string,
	note func(slog.Level, apMember, string, ...any)) []apAction {
	voters := 0
	for _, srv := range in.Servers {
		if srv.Suffrage == raft.Voter {
			voters++
		}
	}
	minVoters := autopilotMinVoters(in)
	var out []apAction
	for _, id := range slices.Sorted(maps.Keys(st.failedSince)) {
		since := st.failedSince[id]
		srv, ok := inConfig[id]
		if !ok {
			delete(st.failedSince, id) // removed by someone else (an operator)
			delete(st.refused, id)
			continue
		}
		var reason string
		switch {
		case st.lastPromotion.After(since):
			reason = "replaced: a server was promoted after it failed"
		case in.Now.Sub(since) >= in.Config.DeadServerCleanupTime:
			reason = "failed for longer than dead_server_cleanup_time"
		default:
			continue
		}
		m := apMember{ID: id, Name: names[id]}
		voter := srv.Suffrage == raft.Voter
		if voter && voters-1 < minVoters {
			if !st.refused[id] {
				st.refused[id] = true
				note(slog.LevelWarn, m, "autopilot: not removing failed server: fewer voters than the minimum would remain",
					"reason_due", reason, "voters", voters, "min_voters", minVoters)
			}
			continue
		}
		note(slog.LevelInfo, m, "autopilot: removing failed server from the raft configuration", "reason", reason,
			"failed_for", in.Now.Sub(since).Round(time.Millisecond))
		out = append(out, apAction{Kind: apRemove, ID: id, Name: names[id], Reason: reason})
		if voter {
			voters--
		}
	}
	return out
}

// applied records in st that action a succeeded at now.
func (st *autopilotState) applied(a apAction, now time.Time) {
	switch a.Kind {
	case apPromote:
		delete(st.healthySince, a.ID)
		st.lastPromotion = now
	case apRemove:
		delete(st.failedSince, a.ID)
		delete(st.refused, a.ID)
	}
}

// autopilotMinVoters is the fewest voters dead-server cleanup leaves:
// MinQuorum when set, else the quorum of the expected cluster size,
// bootstrap_expect (the leader's, or, on a leader that joined without one,
// the largest any server of the region advertises).
func autopilotMinVoters(in autopilotInput) int {
	if in.Config.MinQuorum > 0 {
		return in.Config.MinQuorum
	}
	expect := in.BootstrapExpect
	for _, m := range in.Members {
		expect = max(expect, m.BootstrapExpect)
	}
	return quorumOf(expect)
}

// quorumOf is the majority of n voters: (n / 2) + 1; 1 for n <= 1.
func quorumOf(n int) int {
	if n <= 1 {
		return 1
	}
	return n/2 + 1
}
