package server

import (
	"context"
	"slices"
	"strconv"
	"strings"
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

// autopilot is the leader's bookkeeping for one leadership term.
type autopilot struct {
	s   *Server
	now func() time.Time

	// healthySince: non-voters by ID, since when continuously healthy.
	healthySince map[raft.ServerID]time.Time
	// failedSince: servers of the configuration gossip shows failed, since
	// when this leader has seen them so.
	failedSince map[raft.ServerID]time.Time
	// lastPromotion is when this leader last promoted a non-voter.
	lastPromotion time.Time

	// refused records the failed voters whose removal was due but refused
	// to keep minVoters (so that it is logged once, and tests can see it).
	mu      sync.Mutex
	refused map[raft.ServerID]bool
}

func newAutopilot(s *Server) *autopilot {
	return &autopilot{
		s:            s,
		now:          time.Now,
		healthySince: map[raft.ServerID]time.Time{},
		failedSince:  map[raft.ServerID]time.Time{},
		refused:      map[raft.ServerID]bool{},
	}
}

// reconcile brings the Raft configuration in line with gossip once.
func (a *autopilot) reconcile() {
	s := a.s
	f := s.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		s.logger.Warn("autopilot: reading raft configuration", "error", err)
		return
	}
	inConfig := map[raft.ServerID]raft.Server{}
	for _, srv := range f.Configuration().Servers {
		inConfig[srv.ID] = srv
	}
	names := map[raft.ServerID]string{}
	for _, m := range s.serverMembers() {
		id, addr := raft.ServerID(m.Tags[TagServerID]), raft.ServerAddress(m.Tags[TagRPCAddr])
		if id == "" || addr == "" || id == s.raftID {
			continue
		}
		names[id] = m.Name
		srv, ok := inConfig[id]
		logger := s.logger.With("member", m.Name, "server_id", id)
		switch m.State {
		case memberlist.StateAlive:
			if _, was := a.failedSince[id]; was {
				logger.Info("autopilot: failed server is alive again; not removing it")
				delete(a.failedSince, id)
				a.setRefused(id, false)
			}
			switch {
			case !ok:
				logger.Info("autopilot: adding server as non-voter; promoted once caught up and stable", "rpc_addr", addr,
					"stabilization_time", s.config.Autopilot.ServerStabilizationTime)
				if err := s.raft.AddNonvoter(id, addr, 0, 0).Error(); err != nil {
					logger.Error("autopilot: adding server as non-voter", "error", err)
				}
			case srv.Address != addr:
				logger.Info("autopilot: updating server address", "from", srv.Address, "to", addr)
				var err error
				if srv.Suffrage == raft.Voter {
					err = s.raft.AddVoter(id, addr, 0, 0).Error()
				} else {
					err = s.raft.AddNonvoter(id, addr, 0, 0).Error()
				}
				if err != nil {
					logger.Error("autopilot: updating server address", "error", err)
				}
			case srv.Suffrage == raft.Nonvoter:
				a.considerPromotion(m.Name, id, addr)
			}
		case memberlist.StateLeft:
			delete(a.failedSince, id)
			delete(a.healthySince, id)
			a.setRefused(id, false)
			if !ok {
				continue
			}
			logger.Info("autopilot: removing server that left from the raft configuration")
			if err := s.raft.RemoveServer(id, 0, 0).Error(); err != nil {
				logger.Error("autopilot: removing server that left", "error", err)
			}
		case memberlist.StateDead:
			delete(a.healthySince, id)
			if !ok {
				continue
			}
			if _, seen := a.failedSince[id]; !seen {
				a.failedSince[id] = a.now()
				if s.config.Autopilot.DisableDeadServerCleanup {
					logger.Warn("autopilot: server failed; dead server cleanup is disabled: it stays in the raft configuration")
				} else {
					logger.Warn("autopilot: server failed; removing it from the raft configuration once replaced or after the cleanup time",
						"dead_server_cleanup_time", s.config.Autopilot.DeadServerCleanupTime)
				}
			}
		}
	}
	a.cleanupDead(f.Configuration(), names)
}

// raftStatsTimeout bounds autopilot's question to a non-voter, so that a
// server that does not answer cannot stall the leader loop.
const raftStatsTimeout = 2 * time.Second

// considerPromotion promotes the non-voter id once it has been healthy for
// the stabilization time.
func (a *autopilot) considerPromotion(name string, id raft.ServerID, addr raft.ServerAddress) {
	s := a.s
	logger := s.logger.With("member", name, "server_id", id)
	var stats structs.RaftStatsResponse
	ctx, cancel := context.WithTimeout(s.shutdownCtx, raftStatsTimeout)
	err := s.pool.RPC(ctx, string(addr), "Status.RaftStats", &structs.GenericRequest{}, &stats)
	cancel()
	leaderLast := s.raft.LastIndex()
	var why string
	switch {
	case err != nil:
		why = "not answering: " + err.Error()
	case stats.ServerID != string(id):
		why = "another server (" + stats.ServerID + ") answers at its address"
	case stats.Leader != s.RPCAddr():
		why = "not following this leader yet"
	case leaderLast > stats.LastIndex && leaderLast-stats.LastIndex > s.config.Autopilot.MaxTrailingLogs:
		why = "trails the leader by " + strconv.FormatUint(leaderLast-stats.LastIndex, 10) + " entries"
	}
	if why != "" {
		if _, was := a.healthySince[id]; was {
			logger.Info("autopilot: non-voter no longer healthy; stabilization restarts", "reason", why)
			delete(a.healthySince, id)
		} else {
			logger.Debug("autopilot: non-voter not healthy yet", "reason", why)
		}
		return
	}
	now := a.now()
	since, ok := a.healthySince[id]
	if !ok {
		a.healthySince[id] = now
		logger.Info("autopilot: non-voter caught up; promoting it once stable", "last_index", stats.LastIndex,
			"leader_last_index", leaderLast, "stabilization_time", s.config.Autopilot.ServerStabilizationTime)
		return
	}
	if now.Sub(since) < s.config.Autopilot.ServerStabilizationTime {
		return
	}
	logger.Info("autopilot: promoting non-voter to voter", "healthy_for", now.Sub(since).Round(time.Millisecond),
		"last_index", stats.LastIndex, "leader_last_index", leaderLast)
	if err := s.raft.AddVoter(id, addr, 0, 0).Error(); err != nil {
		logger.Error("autopilot: promoting non-voter", "error", err)
		return
	}
	delete(a.healthySince, id)
	a.lastPromotion = now
}

// cleanupDead removes the failed servers that are due, in ID order, keeping
// at least minVoters voters.
func (a *autopilot) cleanupDead(conf raft.Configuration, names map[raft.ServerID]string) {
	s := a.s
	if s.config.Autopilot.DisableDeadServerCleanup || len(a.failedSince) == 0 {
		return
	}
	suffrage := map[raft.ServerID]raft.ServerSuffrage{}
	voters := 0
	for _, srv := range conf.Servers {
		suffrage[srv.ID] = srv.Suffrage
		if srv.Suffrage == raft.Voter {
			voters++
		}
	}
	ids := make([]raft.ServerID, 0, len(a.failedSince))
	for id := range a.failedSince {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(x, y raft.ServerID) int { return strings.Compare(string(x), string(y)) })
	minVoters := a.minVoters()
	now := a.now()
	for _, id := range ids {
		since := a.failedSince[id]
		suff, ok := suffrage[id]
		if !ok {
			delete(a.failedSince, id) // removed by someone else (an operator)
			a.setRefused(id, false)
			continue
		}
		var reason string
		switch {
		case a.lastPromotion.After(since):
			reason = "replaced: a server was promoted after it failed"
		case now.Sub(since) >= s.config.Autopilot.DeadServerCleanupTime:
			reason = "failed for longer than dead_server_cleanup_time"
		default:
			continue
		}
		logger := s.logger.With("member", names[id], "server_id", id)
		if suff == raft.Voter && voters-1 < minVoters {
			if !a.setRefused(id, true) {
				logger.Warn("autopilot: not removing failed server: fewer voters than the minimum would remain",
					"reason_due", reason, "voters", voters, "min_voters", minVoters)
			}
			continue
		}
		logger.Info("autopilot: removing failed server from the raft configuration", "reason", reason,
			"failed_for", now.Sub(since).Round(time.Millisecond))
		if err := s.raft.RemoveServer(id, 0, 0).Error(); err != nil {
			logger.Error("autopilot: removing failed server", "error", err)
			continue
		}
		delete(a.failedSince, id)
		a.setRefused(id, false)
		if suff == raft.Voter {
			voters--
		}
	}
}

// minVoters is the fewest voters dead-server cleanup leaves: MinQuorum when
// set, else the quorum of the expected cluster size, bootstrap_expect (this
// server's, or, on a server that joined without one, the largest any server
// of the region advertises).
func (a *autopilot) minVoters() int {
	s := a.s
	if s.config.Autopilot.MinQuorum > 0 {
		return s.config.Autopilot.MinQuorum
	}
	expect := s.config.BootstrapExpect
	for _, m := range s.serverMembers() {
		if n, err := strconv.Atoi(m.Tags[TagBootstrapExpect]); err == nil && n > expect {
			expect = n
		}
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

// setRefused records whether the removal of id is being refused and reports
// what it was before.
func (a *autopilot) setRefused(id raft.ServerID, refused bool) (was bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	was = a.refused[id]
	if refused {
		a.refused[id] = true
	} else {
		delete(a.refused, id)
	}
	return was
}

// removalRefused reports whether this leader refuses to remove the failed
// server id to keep the minimum of voters.
func (a *autopilot) removalRefused(id raft.ServerID) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.refused[id]
}

// setAutopilot publishes the running autopilot (nil when not leading).
func (s *Server) setAutopilot(a *autopilot) { s.autopilot.Store(a) }

// reconcileMembers runs one reconcile with bookkeeping of its own (no
// stabilization or failure times carried over): for tests that want a pass
// at a known moment, alongside the leader's loop.
func (s *Server) reconcileMembers() { newAutopilot(s).reconcile() }
