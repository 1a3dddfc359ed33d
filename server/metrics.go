package server

import (
	"context"
	"time"

	"github.com/orch-io/orch/internal/metrics"
	"github.com/orch-io/orch/server/drainer"
	"github.com/orch-io/orch/structs"
	"github.com/prometheus/client_golang/prometheus"
)

// The server's metrics (docs/metrics.md lists them all). Each hook point
// calls one method of serverMetrics; gauges that mirror state the server
// already keeps (queue lengths, timers, members, Raft indexes) are read at
// scrape time (registerGauges) and cost nothing in between.

// serverMetrics holds the server's series. Every method is safe for
// concurrent use.
type serverMetrics struct {
	rpcDuration *prometheus.HistogramVec
	rpcRequests *prometheus.CounterVec

	raftCommit    *prometheus.HistogramVec
	leaderChanges *prometheus.CounterVec
	fsmApply      *prometheus.HistogramVec
	// snapshot is the FSM's side of Raft snapshots, by op: snapshot,
	// persist, restore.
	snapshot *prometheus.HistogramVec

	brokerWait *prometheus.HistogramVec

	evalDuration      *prometheus.HistogramVec
	evals             *prometheus.CounterVec
	placements        *prometheus.CounterVec
	placementFailures *prometheus.CounterVec

	planVerify     *prometheus.HistogramVec
	planCommit     *prometheus.HistogramVec
	planRejections *prometheus.CounterVec

	heartbeatExpirations *prometheus.CounterVec
	// connectionLosses counts the nodes whose lost connection the leader
	// acted on (shortened) or left to their TTL (refused: too many at once),
	// session_liveness.go.
	connectionLosses *prometheus.CounterVec

	// leaderProbes counts the followers' probes of a leader whose Raft
	// connection closed (raft_failover.go).
	leaderProbes *prometheus.CounterVec

	drainActions *prometheus.CounterVec

	deploymentActions *prometheus.CounterVec
}

func newServerMetrics(r *metrics.Registry) *serverMetrics {
	return &serverMetrics{
		rpcDuration: r.Histogram("orch_rpc_request_duration_seconds",
			"Time to serve an RPC, by method and by whether this server answered it (local) or forwarded it to the leader.", "method", "route"),
		rpcRequests: r.Counter("orch_rpc_requests_total",
			"RPCs served, by method, route (local, forwarded) and error code (ok for success).", "method", "route", "code"),

		raftCommit: r.Histogram("orch_raft_commit_duration_seconds",
			"Time from handing an entry to Raft on the leader to its application by the local FSM, by entry type.", "type"),
		leaderChanges: r.Counter("orch_raft_leadership_changes_total",
			"Times this server gained (acquired) or lost (lost) leadership.", "change"),
		fsmApply: r.Histogram("orch_fsm_apply_duration_seconds",
			"Time the FSM takes to apply one Raft entry in its state-store transaction, by entry type.", "type"),
		snapshot: r.Histogram("orch_raft_snapshot_duration_seconds",
			"Time the FSM spends on Raft snapshots, by op: snapshot (capture the state, blocking Apply), persist (stream it to the snapshot store, concurrent with Apply), restore (replace the state with a snapshot: at start, one installed from the leader, or an operator's restore). Failed ones are counted too.", "op"),

		brokerWait: r.Histogram("orch_broker_wait_duration_seconds",
			"Time an evaluation waited ready in the eval broker before a worker dequeued it, by scheduler type.", "type"),

		evalDuration: r.Histogram("orch_scheduler_eval_duration_seconds",
			"Time a worker took to process one evaluation (scheduler run, plans, eval updates), by scheduler type.", "type"),
		evals: r.Counter("orch_scheduler_evals_total",
			"Evaluations processed by workers, by scheduler type and outcome (ack, nack).", "type", "outcome"),
		placements: r.Counter("orch_scheduler_placements_total",
			"Allocations written by committed plans (placements and in-place updates), by scheduler type.", "type"),
		placementFailures: r.Counter("orch_scheduler_placement_failures_total",
			"Nodes that could not take a placement, by the reason (the exhausted dimension: cpu, memory, disk, ports..., or filtered for constraint and driver checks).", "dimension"),

		planVerify: r.Histogram("orch_plan_verify_duration_seconds",
			"Time the plan applier took to check one plan against the latest state."),
		planCommit: r.Histogram("orch_plan_commit_duration_seconds",
			"Time from sending a plan's Raft entry to its application."),
		planRejections: r.Counter("orch_plan_node_rejections_total",
			"Nodes of plans the plan applier refused (no longer fit), the scheduler refreshing and planning again."),

		heartbeatExpirations: r.Counter("orch_heartbeat_expirations_total",
			"Client heartbeat timers that expired (the node is marked down), by cause (ttl, gossip, connection: lost and not re-established within reconnect_grace).", "cause"),
		connectionLosses: r.Counter("orch_heartbeat_connection_losses_total",
			"Nodes whose client's connection ended, reported to the leader: given reconnect_grace to heartbeat again (shortened), or left to their TTL: too many lost theirs at once (refused), the server that saw it was unsettled (unsettled: no leader, or a leader change within 10s), or that server ended the connection itself (server_ended: keepalive unanswered, write timeout).", "outcome"),

		leaderProbes: r.Counter("orch_raft_leader_probes_total",
			"Probes by this follower of a leader whose Raft connection its peer closed: the leader's port still answered (alive), refused it but the other servers still reached it (disputed), refused it and this server stood for election at once (stood), or refused it but another server won first (elected).", "outcome"),

		drainActions: r.Counter("orch_drain_actions_total",
			"What the drainer committed (leader only): allocations marked to migrate (migrate), stopped (stop), drains completed (complete), and steps that failed and are retried (error).", "action"),

		deploymentActions: r.Counter("orch_deployment_actions_total",
			"What the deployment watcher committed (leader only): deployments ended (by status: successful, failed, cancelled), canary promotions (promote), evaluations for a next batch (evaluate), auto-reverts (revert), and commits that failed and are retried (error).", "action"),
	}
}

// registerGauges defines the scrape-time gauges of s.
func (s *Server) registerGauges(r *metrics.Registry) {
	r.GaugeFunc("orch_raft_last_index", "The index of the last entry in this server's Raft log.", nil,
		func(emit func(float64, ...string)) { emit(float64(s.raft.LastIndex())) })
	r.GaugeFunc("orch_raft_applied_index", "The index of the last Raft entry this server's FSM applied.", nil,
		func(emit func(float64, ...string)) { emit(float64(s.raft.AppliedIndex())) })
	r.GaugeFunc("orch_raft_leader", "1 while this server is the Raft leader, else 0.", nil,
		func(emit func(float64, ...string)) { emit(boolGauge(s.IsLeader())) })

	r.GaugeFunc("orch_broker_evals", "Evaluations in the eval broker (leader only), by scheduler type and state: ready, unacked, delayed (nacked, waiting to be redelivered), waiting (until their wait_until), pending (behind their job's in-flight evaluation), failed; and blocked (in the blocked evals).",
		[]string{"type", "state"}, func(emit func(float64, ...string)) {
			for t, ts := range s.broker.Stats().ByType {
				typ := string(t)
				emit(float64(ts.Ready), typ, "ready")
				emit(float64(ts.Unacked), typ, "unacked")
				emit(float64(ts.Delayed), typ, "delayed")
				emit(float64(ts.Waiting), typ, "waiting")
				emit(float64(ts.Pending), typ, "pending")
				emit(float64(ts.Failed), typ, "failed")
			}
			for t, n := range s.blocked.Stats().ByType {
				emit(float64(n), string(t), "blocked")
			}
		})
	r.GaugeFunc("orch_plan_queue_depth", "Plans waiting for the plan applier (leader only).", nil,
		func(emit func(float64, ...string)) {
			if q := s.plans.Load(); q != nil {
				emit(float64(q.Len()))
				return
			}
			emit(0)
		})
	r.GaugeFunc("orch_heartbeat_active_timers", "Client nodes whose heartbeat timer runs on this server (leader only).", nil,
		func(emit func(float64, ...string)) { emit(float64(s.heartbeats.activeTimers())) })
	r.GaugeFunc("orch_drain_nodes", "Nodes being drained.", nil,
		func(emit func(float64, ...string)) {
			n := 0
			for _, node := range s.state.Snapshot().Nodes("") {
				if node.DrainStrategy != nil {
					n++
				}
			}
			emit(float64(n))
		})
	r.GaugeFunc("orch_deployment_active", "Deployments running or paused.", nil,
		func(emit func(float64, ...string)) {
			n := 0
			for _, d := range s.state.Snapshot().Deployments("") {
				if d.Active() {
					n++
				}
			}
			emit(float64(n))
		})
	r.GaugeFunc("orch_gossip_members", "Servers gossip knows, by state (alive, left, failed).", []string{"state"},
		func(emit func(float64, ...string)) {
			if s.gossip == nil {
				return
			}
			counts := map[string]int{"alive": 0, "left": 0, "failed": 0}
			for _, m := range s.Members().Members {
				counts[m.Status]++
			}
			for state, n := range counts {
				emit(float64(n), state)
			}
		})
}

func boolGauge(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// rpcCall is put in the context of every dispatched call, so that forward
// can say the call was forwarded.
type rpcCall struct{ forwarded bool }

type rpcCallKey struct{}

// markForwarded records, for the dispatcher's metrics, that the call of ctx
// was forwarded to the leader.
func markForwarded(ctx context.Context) {
	if c, ok := ctx.Value(rpcCallKey{}).(*rpcCall); ok {
		c.forwarded = true
	}
}

// observeRPC records one served RPC. Called by the dispatcher (whose tests
// run it without metrics: m nil).
func (m *serverMetrics) observeRPC(method string, call *rpcCall, start time.Time, err error) {
	if m == nil {
		return
	}
	route := "local"
	if call.forwarded {
		route = "forwarded"
	}
	code := string(structs.CodeOf(err))
	if code == "" {
		code = "ok"
	}
	m.rpcDuration.WithLabelValues(method, route).Observe(time.Since(start).Seconds())
	m.rpcRequests.WithLabelValues(method, route, code).Inc()
}

// observeEval records one evaluation a worker processed.
func (m *serverMetrics) observeEval(t structs.JobType, start time.Time, acked bool) {
	outcome := "nack"
	if acked {
		outcome = "ack"
	}
	m.evalDuration.WithLabelValues(string(t)).Observe(time.Since(start).Seconds())
	m.evals.WithLabelValues(string(t), outcome).Inc()
}

// observePlacementFailures counts why the evaluation's placements failed.
func (m *serverMetrics) observePlacementFailures(eval *structs.Evaluation) {
	for _, am := range eval.FailedTGAllocs {
		for dim, n := range am.DimensionExhausted {
			m.placementFailures.WithLabelValues(dim).Add(float64(n))
		}
		if am.NodesFiltered > 0 {
			m.placementFailures.WithLabelValues("filtered").Add(float64(am.NodesFiltered))
		}
	}
}

// observePlan records one plan the applier checked: how long, and how many
// of its nodes it refused.
func (m *serverMetrics) observePlan(plan *structs.Plan, result *structs.PlanResult, start time.Time) {
	m.planVerify.WithLabelValues().Observe(time.Since(start).Seconds())
	for node := range plan.NodeAllocation {
		if _, ok := result.NodeAllocation[node]; !ok {
			m.planRejections.WithLabelValues().Inc()
		}
	}
}

// observePlanCommitted records a committed plan's commit time and placements.
func (m *serverMetrics) observePlanCommitted(plan *structs.Plan, result *structs.PlanResult, start time.Time) {
	m.planCommit.WithLabelValues().Observe(time.Since(start).Seconds())
	n := 0
	for _, allocs := range result.NodeAllocation {
		n += len(allocs)
	}
	typ := ""
	if plan.Job != nil {
		typ = string(plan.Job.Type)
	}
	m.placements.WithLabelValues(typ).Add(float64(n))
}

// since observes the time since start on h under labels.
func since(h *prometheus.HistogramVec, start time.Time, labels ...string) {
	h.WithLabelValues(labels...).Observe(time.Since(start).Seconds())
}

// drained counts what one drain step committed (or its failure).
func (m *serverMetrics) drained(d drainer.Decision, err error) {
	switch {
	case err != nil:
		m.drainActions.WithLabelValues("error").Inc()
	case d.Complete:
		m.drainActions.WithLabelValues("complete").Inc()
	default:
		m.drainActions.WithLabelValues("migrate").Add(float64(len(d.Migrate)))
		m.drainActions.WithLabelValues("stop").Add(float64(len(d.Stop)))
	}
}

// deploymentsDecided counts what one pass of the deployment watcher
// committed (or its failure).
func (m *serverMetrics) deploymentsDecided(e *DeploymentUpdateEntry, reverts int, err error) {
	if err != nil {
		m.deploymentActions.WithLabelValues("error").Inc()
		return
	}
	for _, u := range e.StatusUpdates {
		m.deploymentActions.WithLabelValues(string(u.Status)).Inc()
	}
	m.deploymentActions.WithLabelValues("promote").Add(float64(len(e.Promotions)))
	m.deploymentActions.WithLabelValues("evaluate").Add(float64(len(e.Evals)))
	m.deploymentActions.WithLabelValues("revert").Add(float64(reverts))
}
