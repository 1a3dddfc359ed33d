package server

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/hashicorp/raft"
	"github.com/orch-io/orch/structs"
)

// Autopilot: the leader's management of the Raft configuration, after
// Nomad's and Consul's autopilot. For as long as a server leads,
// reconcileServers (leader.go) runs autopilot.reconcile at every gossip
// membership change and every Autopilot.Interval, and it:
//
//   - adds a server of the region that gossip shows alive but the
//     configuration does not hold as a non-voter: it receives the log but
//     does not count towards quorum, so a server far behind (or one that
//     turns out to flap) cannot stall commits or elections;
//   - promotes a non-voter to voter once it has been healthy for
//     ServerStabilizationTime: alive in gossip, answering Status.RaftStats
//     (asked over the server pool, answered by the server itself), following
//     this leader, and its Raft log no more than MaxTrailingLogs entries
//     behind the leader's;
//   - removes a server recorded as left (it asked to be removed, or gossip
//     saw it leave);
//   - removes a server gossip declares failed (not left) once it has been
//     failed for DeadServerCleanupTime, or at once when another server was
//     promoted after it failed (its replacement), but never a voter whose
//     removal would leave fewer voters than minVoters: MinQuorum, by default
//     the quorum of bootstrap_expect, (bootstrap_expect / 2) + 1.
//
// The servers of the initial cluster are voters from the start: bootstrap
// (bootstrap_expect) writes them all into the first configuration.
//
// The times are this leader's observations: a new leader starts counting
// again (a failed server's cleanup time restarts, a non-voter stabilizes
// again), which only ever delays a change. Every decision is logged with the
// server's gossip name and Raft ID.
//
// The decisions are a pure function, decideAutopilot (autopilot_decide.go),
// of the Raft configuration, the gossip members, the servers' answers to
// Status.RaftStats, the time (from Config.Clock) and the settings (the
// cluster's replicated configuration, operator_autopilot.go, read at every
// pass); this file is the loop that gathers those and applies the
// decisions. Each pass also reports every server's health (decideHealth,
// autopilot_health.go) for Operator.ServerHealth.

// autopilot is the leader's autopilot for one leadership term.
type autopilot struct {
	s *Server
	// state, healthRecords and seeded are owned by the goroutine running
	// the passes (reconcileServers).
	state         autopilotState
	healthRecords map[raft.ServerID]healthRecord
	// seeded: the state holds a replicated configuration (seedFailures:
	// how many seeding attempts failed, for the log).
	seeded       bool
	seedFailures int

	// firstPass is closed when the first pass has published.
	firstPass     chan struct{}
	firstPassOnce sync.Once

	// mu guards what the passes publish: the state and settings for tests,
	// the health for Operator.ServerHealth.
	mu struct {
		sync.Mutex
		published autopilotState // a copy of state after the last pass
		settings  AutopilotConfig
		health    *structs.OperatorHealthReply
		passes    uint64
	}
}

func newAutopilot(s *Server) *autopilot { return &autopilot{s: s, firstPass: make(chan struct{})} }

// reconcileServers keeps the Raft configuration in line with gossip for as
// long as this server leads (until ctx ends): a pass at once, at every gossip
// membership change, and Autopilot.Interval (by Config.Clock) after the last
// pass. Runs on the leader's goroutine for it (leader.go).
func (s *Server) reconcileServers(ctx context.Context) {
	ap := newAutopilot(s)
	s.setAutopilot(ap)
	defer s.setAutopilot(nil)
	tick := make(chan struct{}, 1)
	for {
		ap.reconcile(ctx)
		t := s.config.Clock.AfterFunc(s.config.Autopilot.Interval, func() {
			select {
			case tick <- struct{}{}:
			default:
			}
		})
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-s.reconcileKick:
		case <-tick:
		}
		t.Stop()
	}
}

// reconcile runs one pass: observe, decide, apply. After a promotion it
// decides once more at once, so that the failed servers the promoted one
// replaces are removed in the same pass.
func (a *autopilot) reconcile(ctx context.Context) {
	var health *structs.OperatorHealthReply
	var settings AutopilotConfig
	defer func() { a.publish(health, settings) }()
	a.seed(ctx)
	for range 2 {
		in, err := a.observe(ctx)
		if err != nil {
			a.s.logger.Warn("autopilot: observing the servers", "error", err)
			return
		}
		settings = in.Config
		health, a.healthRecords = decideHealth(a.healthRecords, in)
		dec := decideAutopilot(a.state, in)
		a.state = dec.Next
		promoted := false
		for _, n := range dec.Notes {
			a.s.logger.Log(ctx, n.Level, n.Msg, append([]any{"member", n.Name, "server_id", n.ID}, n.Attrs...)...)
		}
		for _, act := range dec.Actions {
			if err := a.apply(act); err != nil {
				a.s.logger.Error("autopilot: changing the raft configuration failed", "action", act.Kind.String(),
					"member", act.Name, "server_id", act.ID, "error", err)
				continue
			}
			a.state.applied(act, in.Now)
			promoted = promoted || act.Kind == apPromote
		}
		if !promoted {
			return
		}
	}
}

// seed stores the agent's settings as the cluster's configuration when the
// state holds none (seedAutopilotConfig), until that has succeeded once in
// this term. Failures are logged on the first attempt and then once every
// hundred.
func (a *autopilot) seed(ctx context.Context) {
	if a.seeded {
		return
	}
	ok, err := a.s.seedAutopilotConfig(ctx)
	a.seeded = ok
	if err != nil {
		if a.seedFailures%100 == 0 {
			a.s.logger.Warn("autopilot: storing this agent's settings as the cluster's configuration failed; using them meanwhile",
				"attempts", a.seedFailures+1, "error", err)
		}
		a.seedFailures++
	}
}

// observe gathers the input of a decision: the settings, the Raft
// configuration, the region's servers in gossip, and the answers of the
// other alive servers of the configuration to Status.RaftStats (asked
// concurrently). The time is read last, so that a server is never counted
// healthy from before it answered.
func (a *autopilot) observe(ctx context.Context) (autopilotInput, error) {
	s := a.s
	f := s.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return autopilotInput{}, fmt.Errorf("reading the raft configuration: %w", err)
	}
	in := autopilotInput{
		Config:          s.autopilotSettings(s.state.AutopilotConfig()),
		BootstrapExpect: s.config.BootstrapExpect,
		Self:            s.raftID,
		SelfAddr:        s.RPCAddr(),
		Servers:         f.Configuration().Servers,
		Health:          map[raft.ServerID]apHealth{},
	}
	configuredAt := map[raft.ServerID]raft.ServerAddress{}
	for _, srv := range in.Servers {
		configuredAt[srv.ID] = srv.Address
	}
	var ask []apMember
	for _, m := range s.serverMembers() {
		expect, _ := strconv.Atoi(m.Tags[TagBootstrapExpect])
		am := apMember{
			ID: raft.ServerID(m.Tags[TagServerID]), Name: m.Name, Addr: raft.ServerAddress(m.Tags[TagRPCAddr]),
			State: m.State, BootstrapExpect: expect, Version: m.Tags[TagVersion],
		}
		in.Members = append(in.Members, am)
		if addr, ok := configuredAt[am.ID]; ok && addr == am.Addr && am.State == memberlist.StateAlive && am.ID != s.raftID {
			ask = append(ask, am)
		}
	}
	answers := make([]apHealth, len(ask))
	var wg sync.WaitGroup
	for i, m := range ask {
		wg.Go(func() {
			stats, err := s.raftStatsOf(ctx, m.Addr)
			answers[i] = apHealth{Stats: stats, Err: err}
		})
	}
	wg.Wait()
	for i, m := range ask {
		in.Health[m.ID] = answers[i]
	}
	in.LeaderLastIndex = s.raft.LastIndex()
	in.LeaderLastTerm = s.raft.CurrentTerm()
	in.Now = s.config.Clock.Now()
	return in, nil
}

// raftStatsTimeout bounds autopilot's Status.RaftStats call: a non-voter
// that does not answer within it is not healthy, and the leader's loop moves
// on.
const raftStatsTimeout = 2 * time.Second

// raftStatsOf asks the server at addr for its own Raft progress, giving up
// after raftStatsTimeout or when ctx ends.
func (s *Server) raftStatsOf(ctx context.Context, addr raft.ServerAddress) (structs.RaftStatsResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, raftStatsTimeout)
	defer cancel()
	var stats structs.RaftStatsResponse
	if err := s.pool.RPC(ctx, string(addr), "Status.RaftStats", &structs.GenericRequest{}, &stats); err != nil {
		return structs.RaftStatsResponse{}, fmt.Errorf("autopilot: Status.RaftStats at %s: %w", addr, err)
	}
	return stats, nil
}

// apply makes one change to the Raft configuration and waits for it to be
// committed.
func (a *autopilot) apply(act apAction) error {
	r := a.s.raft
	switch act.Kind {
	case apAddNonvoter:
		return r.AddNonvoter(act.ID, act.Addr, 0, 0).Error()
	case apUpdateAddress:
		if act.Voter {
			return r.AddVoter(act.ID, act.Addr, 0, 0).Error()
		}
		return r.AddNonvoter(act.ID, act.Addr, 0, 0).Error()
	case apPromote:
		return r.AddVoter(act.ID, act.Addr, 0, 0).Error()
	case apRemove:
		return r.RemoveServer(act.ID, 0, 0).Error()
	}
	panic(fmt.Sprintf("autopilot: unknown action %v", act.Kind))
}

// publish makes a copy of the state, the settings and the health of the
// pass (when it observed the servers; nil keeps the last) readable by
// observed and health.
func (a *autopilot) publish(health *structs.OperatorHealthReply, settings AutopilotConfig) {
	st := a.state.clone()
	a.mu.Lock()
	a.mu.published = st
	if health != nil {
		a.mu.health, a.mu.settings = health, settings
	}
	a.mu.passes++
	published := a.mu.health != nil
	a.mu.Unlock()
	if published {
		a.firstPassOnce.Do(func() { close(a.firstPass) })
	}
}

// health returns the health of the servers the last pass that observed
// them reported (nil before one did; see firstPass). The caller must not
// modify it. Safe from any goroutine.
func (a *autopilot) health() *structs.OperatorHealthReply {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.mu.health
}

// settings returns the settings the last pass that observed the servers
// decided by. Safe from any goroutine.
func (a *autopilot) settings() AutopilotConfig {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.mu.settings
}

// observed returns the state after the last pass and the number of passes
// run so far. Safe from any goroutine.
func (a *autopilot) observed() (autopilotState, uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.mu.published, a.mu.passes
}

// setAutopilot publishes the running autopilot (nil when not leading).
func (s *Server) setAutopilot(a *autopilot) { s.autopilot.Store(a) }

// reconcileMembers runs one pass with bookkeeping of its own (no
// stabilization or failure times carried over): for tests that want a pass
// at a known moment, alongside the leader's loop.
func (s *Server) reconcileMembers() { newAutopilot(s).reconcile(s.shutdownCtx) }
