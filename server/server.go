package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	"github.com/hashicorp/yamux"
	"github.com/orch-io/orch/internal/atomicfile"
	"github.com/orch-io/orch/internal/gossipkey"
	"github.com/orch-io/orch/server/broker"
	"github.com/orch-io/orch/server/state"
	"github.com/orch-io/orch/structs"
	"go.etcd.io/bbolt"
)

// raftApplyTimeout bounds how long a write waits to be enqueued into Raft.
const raftApplyTimeout = 30 * time.Second

// Server is one orch server. Create it with NewServer; every exported method
// is safe for concurrent use.
type Server struct {
	config Config
	logger *slog.Logger

	state   *state.StateStore
	broker  *broker.Broker
	blocked *broker.Blocked
	fsm     *FSM

	raft          *raft.Raft
	raftID        raft.ServerID
	raftStore     *raftboltdb.BoltStore
	raftTransport *raft.NetworkTransport
	// raftNotify receives true/false as this server gains/loses leadership.
	raftNotify chan bool
	// reassertLeader asks monitorLeadership to restart the leader's duties
	// (see reassertLeadership).
	reassertLeader chan chan error
	// leaderMonitorDone is closed once monitorLeadership has returned, after
	// stopping every leader goroutine.
	leaderMonitorDone chan struct{}

	endpoints *dispatcher
	// aclCache holds resolved ACL tokens (acl.go).
	aclCache     aclCache
	rpcListener  net.Listener
	rpcAdvertise *net.TCPAddr
	raftLayer    *raftLayer
	failover     raftFailover
	nodeDowns    nodeDowns
	queryGate    queryGate
	sessions     struct {
		sync.Mutex
		m      map[*yamux.Session]struct{}
		closed bool // set by Shutdown: no new sessions
	}

	gossip         *memberlist.Memberlist
	gossipDelegate *gossipDelegate
	// gossipAddr is the advertised gossip address (host:port).
	gossipAddr string
	// keyring encrypts gossip; nil when gossip is plain text.
	keyring *gossipkey.Ring
	// members are the servers gossip knows, by node name, with their last
	// state (left and failed ones included), kept by gossipEvents.
	members struct {
		sync.Mutex
		m map[string]*serverMember
	}
	// raftExisting: Raft had state when the server started (or has since
	// bootstrapped or joined a cluster); advertised in gossip.
	raftExisting bool
	// bootstrapKick and reconcileKick wake the bootstrap loop and the
	// leader's reconcile loop when gossip membership changes.
	bootstrapKick chan struct{}
	reconcileKick chan struct{}

	// pool holds the connections used to forward requests to the leader.
	pool *connPool
	// nodeConns are the sessions client agents hold to this server, by node
	// (client_forward.go).
	nodeConns *nodeConns
	// leaderObs.ch is closed (and replaced) at every leader change Raft
	// reports. changedAt is when a known leader (last) was last lost or
	// replaced; a first leader is no change.
	leaderObs struct {
		sync.Mutex
		ch        chan struct{}
		last      string
		changedAt time.Time
	}
	// established is whether this server's leadership is established: Raft
	// says leader from the moment it wins an election, before its FSM has
	// applied what earlier leaders committed; leaderLoop sets it once its
	// barrier is applied and the leader's duties run (leads).
	established atomic.Bool

	heartbeats   *heartbeats
	allocUpdates *allocUpdateBatcher
	metrics      *serverMetrics
	// plans is the plan queue of the current leadership term (nil when not
	// leading), for the metrics.
	plans atomic.Pointer[planQueue]
	// autopilot is the leader's autopilot (autopilot.go), nil when not leading.
	autopilot atomic.Pointer[autopilot]

	// shutdownCtx ends when Shutdown begins: every goroutine of the server and
	// every blocking query select on it.
	shutdownCtx    context.Context
	shutdownCancel context.CancelFunc
	shutdownOnce   sync.Once
	shutdownErr    error
	wg             sync.WaitGroup
}

// NewServer starts a server: Raft (bootstrapping a single-voter cluster on a
// fresh data directory when BootstrapExpect is 1), the RPC listener, gossip
// and the leadership monitor. It returns once all are running; leadership
// comes shortly after, asynchronously (see Leader).
func NewServer(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	logger := cfg.Logger.With("component", "server")

	s := &Server{
		config:     cfg,
		logger:     logger,
		state:      state.NewStateStore(),
		raftNotify: make(chan bool, 16),
		queryGate:  newQueryGate(),
		failover:   newRaftFailover(),

		reassertLeader: make(chan chan error),

		leaderMonitorDone: make(chan struct{}),
	}
	s.sessions.m = make(map[*yamux.Session]struct{})
	s.members.m = make(map[string]*serverMember)
	s.leaderObs.ch = make(chan struct{})
	s.bootstrapKick = make(chan struct{}, 1)
	s.reconcileKick = make(chan struct{}, 1)
	s.pool = newConnPool(logger, s.outgoingTLS)
	s.nodeConns = newNodeConns()
	s.shutdownCtx, s.shutdownCancel = context.WithCancel(context.Background())
	s.metrics = newServerMetrics(cfg.Metrics)
	cfg.Broker.ObserveWait = func(eval *structs.Evaluation, d time.Duration) {
		s.metrics.brokerWait.WithLabelValues(string(eval.Type)).Observe(d.Seconds())
		s.traceBrokerWait(eval, d)
	}
	s.broker = broker.New(cfg.Broker, cfg.Logger)
	s.blocked = broker.NewBlocked(s.broker)
	s.fsm = NewFSM(s.state, s.broker, s.blocked, cfg.Logger)
	s.fsm.events = NewEventBuffer(cfg.EventBufferSize)
	s.fsm.maxVersion = s.maxEntryVersion()
	s.fsm.metrics = s.metrics
	s.heartbeats = newHeartbeats(s)
	s.allocUpdates = newAllocUpdateBatcher(s, cfg.AllocUpdateBatchWindow)

	if err := s.registerEndpoints(); err != nil {
		return nil, err
	}
	advertiseIP, err := cfg.advertiseIP()
	if err != nil {
		return nil, err
	}
	if err := s.listenRPC(advertiseIP); err != nil {
		return nil, err
	}
	if err := s.setupRaft(); err != nil {
		s.rpcListener.Close()
		return nil, err
	}
	s.wg.Add(2)
	go s.serveRPC()
	go func() {
		defer s.wg.Done()
		s.watchLeader(s.shutdownCtx)
	}()
	go s.monitorLeadership()
	if err := s.setupGossip(advertiseIP); err != nil {
		_ = s.Shutdown()
		return nil, err
	}
	if !s.raftExisting && s.config.BootstrapExpect > 1 {
		s.wg.Add(1)
		go s.bootstrapLoop()
	}
	s.observeLeader()
	s.registerGauges(cfg.Metrics)
	logger.Info("server started", "name", cfg.NodeName, "rpc_addr", s.RPCAddr(), "gossip_addr", s.GossipAddr(),
		"region", cfg.Region, "datacenter", cfg.Datacenter, "data_dir", cfg.DataDir)
	return s, nil
}

// setupRaft opens the Raft stores under <DataDir>/server/raft and starts Raft.
func (s *Server) setupRaft() (err error) {
	raftDir := filepath.Join(s.config.DataDir, "server", "raft")
	if err := os.MkdirAll(raftDir, 0o700); err != nil {
		return fmt.Errorf("server: creating %s: %w", raftDir, err)
	}
	id, err := s.serverID()
	if err != nil {
		return err
	}
	hclogger := newHCLogAdapter(s.config.Logger, "raft")

	conf := raft.DefaultConfig()
	conf.LocalID = raft.ServerID(id)
	conf.Logger = hclogger
	conf.NotifyCh = s.raftNotify
	t := s.config.RaftTimeouts
	conf.HeartbeatTimeout, conf.ElectionTimeout, conf.LeaderLeaseTimeout = t.Heartbeat, t.Election, t.LeaderLease
	conf.CommitTimeout = t.Commit
	conf.SnapshotInterval, conf.SnapshotThreshold = t.SnapshotInterval, t.SnapshotThreshold
	if err := raft.ValidateConfig(conf); err != nil {
		return fmt.Errorf("server: raft configuration: %w", err)
	}

	// A raft log left by an earlier run must be readable: opening an empty
	// or damaged one for good would start the server on nothing.
	if err := checkDataDir(raftDir); err != nil {
		return err
	}
	logPath := filepath.Join(raftDir, "raft.db")
	store, err := raftboltdb.New(raftboltdb.Options{Path: logPath, BoltOptions: &bbolt.Options{Timeout: 2 * time.Second}})
	if err != nil {
		return unreadable("raft log", logPath, err)
	}
	defer func() {
		if err != nil {
			store.Close()
		}
	}()
	logs, err := raft.NewLogCache(512, store)
	if err != nil {
		return fmt.Errorf("server: raft log cache: %w", err)
	}
	// The snapshot store lives in raftDir/snapshots and keeps the last two.
	snaps, err := raft.NewFileSnapshotStoreWithLogger(raftDir, 2, hclogger)
	if err != nil {
		return fmt.Errorf("server: opening raft snapshots in %s: %w", raftDir, err)
	}
	trans := raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream: s.raftLayer, MaxPool: 3, Timeout: 10 * time.Second, Logger: hclogger,
	})

	existing, err := raft.HasExistingState(logs, store, snaps)
	if err != nil {
		trans.Close()
		return unreadable("raft log", logPath, err)
	}
	// Bootstrap only a fresh data directory: bootstrapping over existing
	// state would fork the cluster's history.
	if !existing && s.config.BootstrapExpect == 1 {
		cfg := raft.Configuration{Servers: []raft.Server{{
			Suffrage: raft.Voter, ID: conf.LocalID, Address: trans.LocalAddr(),
		}}}
		if err := raft.BootstrapCluster(conf, logs, store, snaps, trans, cfg); err != nil {
			trans.Close()
			return fmt.Errorf("server: bootstrapping raft: %w", err)
		}
		s.logger.Info("bootstrapped a single-server cluster", "server_id", id)
	}

	r, err := raft.NewRaft(conf, s.fsm, logs, store, snaps, trans)
	if err != nil {
		trans.Close()
		return fmt.Errorf("server: starting raft: %w", err)
	}
	s.raft, s.raftID, s.raftStore, s.raftTransport = r, conf.LocalID, store, trans
	s.raftExisting = existing || s.config.BootstrapExpect == 1
	return nil
}

// serverID returns this server's Raft ID, minted once and kept in
// <DataDir>/server/server-id so that it survives restarts. A server-id file
// that is there but does not hold an ID is an error, never replaced: the
// server would rejoin its cluster as a stranger.
func (s *Server) serverID() (string, error) {
	path := filepath.Join(s.config.DataDir, "server", "server-id")
	buf, err := os.ReadFile(path)
	if err == nil {
		id := strings.TrimSpace(string(buf))
		if err := validServerID(id); err != nil {
			return "", unreadable("server ID file", path, err)
		}
		return id, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", unreadable("server ID file", path, err)
	}
	id := structs.GenerateUUID()
	if err := atomicfile.Write(path, []byte(id+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("server: writing %s: %w", path, err)
	}
	return id, nil
}

// raftApply commits one log entry and returns its index once the local FSM
// has applied it. An error from the FSM is returned with the index. On a
// server that is not the leader it fails with structs.CodeNoLeader; a
// failure to commit is classified by classifyApplyError (the
// endpoints forward writes to the leader before they get here; see forward).
// An entry of a type some server of the cluster may not read yet is refused
// with an *EntryVersionError (checkEntryVersion).
func (s *Server) raftApply(t MessageType, body any) (uint64, error) {
	defer since(s.metrics.raftCommit, time.Now(), t.String())
	f, err := s.raftApplyChecked(t, body)
	if err != nil {
		return 0, err
	}
	return raftApplyResult(t, f)
}

// raftApplyChecked sends an entry to Raft, as raftApply does, without
// waiting for its commit (raftApplyResult waits): on the leader only, and
// only an entry every server of the cluster reads (checkEntryVersion).
func (s *Server) raftApplyChecked(t MessageType, body any) (raft.ApplyFuture, error) {
	if s.raft.State() != raft.Leader {
		return nil, errNotLeader()
	}
	if err := s.checkEntryVersion(t); err != nil {
		return nil, err
	}
	return s.raftApplyAsync(t, body)
}

// IsLeader reports whether this server is the Raft leader.
func (s *Server) IsLeader() bool { return s.raft.State() == raft.Leader }

// leads reports whether this server leads and may answer what only the
// leader answers: its leadership is established (established), so its state
// holds every entry committed before its term.
func (s *Server) leads() bool { return s.established.Load() && s.IsLeader() }

// Leader returns the RPC address of the cluster leader, "" if none is known.
func (s *Server) Leader() string {
	addr, _ := s.raft.LeaderWithID()
	return string(addr)
}

// RPCAddr returns the advertised address of the RPC listener (host:port).
func (s *Server) RPCAddr() string { return s.rpcAdvertise.String() }

// Health reports whether the server half of the agent is ready to serve:
// a leader is known and this server has applied what Raft committed (within
// the trailing entries autopilot tolerates of a healthy server).
func (s *Server) Health() *structs.AgentHealth {
	if s.Leader() == "" {
		return &structs.AgentHealth{Ok: false, Message: "no known cluster leader"}
	}
	applied, commit := s.raft.AppliedIndex(), s.raft.CommitIndex()
	if lag := s.config.Autopilot.MaxTrailingLogs; lag > 0 && commit > applied+lag {
		return &structs.AgentHealth{Ok: false, Message: fmt.Sprintf(
			"catching up: applied index %d is %d behind the commit index %d (more than %d)", applied, commit-applied, commit, lag)}
	}
	return &structs.AgentHealth{Ok: true, Message: "ok"}
}

// serverAddrs returns the RPC addresses of the servers in the Raft
// configuration.
func (s *Server) serverAddrs() []string {
	f := s.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return []string{s.RPCAddr()}
	}
	var out []string
	for _, srv := range f.Configuration().Servers {
		out = append(out, string(srv.Address))
	}
	return out
}

// Shutdown stops the server gracefully: a leader with other voters first
// hands leadership to one of them (bounded by leadershipTransferTimeout), so
// that the cluster has no election timeout; then the server asks the leader
// to remove it from the Raft configuration (Operator.RaftRemovePeer: a
// graceful leave shrinks the cluster, and the leader adds the server back
// when gossip sees it join again), leaves gossip, gives up leadership duties, stops Raft, closes the listener and every connection,
// and closes the Raft store. Blocking queries in flight return at once.
// Calling it again returns the first result.
func (s *Server) Shutdown() error {
	s.shutdownOnce.Do(func() {
		s.logger.Info("server shutting down")
		s.transferLeadership()
		s.leaveRaft()
		s.shutdownCancel()
		var errs []error
		if s.gossip != nil {
			s.setGossipTag(TagLeaving, "true") // waits (bounded) for the update to go out
			if err := s.gossip.Leave(time.Second); err != nil {
				s.logger.Warn("leaving gossip failed", "error", err)
			}
			if err := s.gossip.Shutdown(); err != nil {
				errs = append(errs, fmt.Errorf("server: stopping gossip: %w", err))
			}
		}
		// The leadership monitor stops the leader's goroutines on
		// shutdownCtx; wait for it before stopping Raft under them.
		<-s.leaderMonitorDone
		if err := shutdownRaft(s.raft, raftShutdownTimeout); err != nil {
			errs = append(errs, err)
		}
		if err := s.raftTransport.Close(); err != nil {
			errs = append(errs, fmt.Errorf("server: closing raft transport: %w", err))
		}
		if err := s.rpcListener.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, fmt.Errorf("server: closing RPC listener: %w", err))
		}
		s.closeSessions()
		s.pool.Close()
		s.wg.Wait()
		if err := s.raftStore.Close(); err != nil {
			errs = append(errs, fmt.Errorf("server: closing raft store: %w", err))
		}
		s.shutdownErr = errors.Join(errs...)
		s.logger.Info("server stopped")
	})
	return s.shutdownErr
}

// raftStacks returns the stacks of the goroutines running Raft's code: what
// a Raft that does not stop waits for.
func raftStacks() string {
	var buf bytes.Buffer
	if err := pprof.Lookup("goroutine").WriteTo(&buf, 2); err != nil {
		return err.Error()
	}
	var out []string
	for _, g := range strings.Split(buf.String(), "\n\n") {
		if strings.Contains(g, "hashicorp/raft.") {
			out = append(out, g)
		}
	}
	return strings.Join(out, "\n\n")
}

// raftShutdownTimeout bounds the wait for Raft's goroutines to stop.
const raftShutdownTimeout = 30 * time.Second

// shutdownRaft stops r, waiting at most timeout: a leadership transfer under
// way when the leader stepped down for another reason can block one of
// Raft's goroutines forever (hashicorp/raft#696), and Raft's Shutdown waits
// for all of them. The server then shuts down the rest and says so.
func shutdownRaft(r *raft.Raft, timeout time.Duration) error {
	finished, err := futureWithin(r.Shutdown(), timeout)
	switch {
	case !finished:
		return fmt.Errorf("server: stopping raft: its goroutines did not stop within %s (a stuck leadership transfer, hashicorp/raft#696?); Raft's goroutines:\n%s", timeout, raftStacks())
	case err != nil:
		return fmt.Errorf("server: stopping raft: %w", err)
	}
	return nil
}

// futureWithin waits at most timeout for f; finished is false when it did
// not end in time (the wait goes on in the background, and its error is
// dropped).
func futureWithin(f raft.Future, timeout time.Duration) (finished bool, err error) {
	done := make(chan error, 1)
	go func() { done <- f.Error() }()
	select {
	case err := <-done:
		return true, err
	case <-time.After(timeout):
		return false, nil
	}
}

// leadershipTransferTimeout bounds the wait for another server to take over
// leadership when the leader shuts down.
const leadershipTransferTimeout = 5 * time.Second

// transferLeadership hands leadership to the most up-to-date other voter when
// this server leads and has one.
func (s *Server) transferLeadership() {
	if s.raft == nil || !s.IsLeader() {
		return
	}
	f := s.raft.GetConfiguration()
	if f.Error() != nil {
		return
	}
	others := 0
	for _, srv := range f.Configuration().Servers {
		if srv.ID != s.raftID && srv.Suffrage == raft.Voter {
			others++
		}
	}
	if others == 0 {
		return
	}
	start := time.Now()
	finished, err := futureWithin(s.raft.LeadershipTransfer(), leadershipTransferTimeout)
	switch {
	case !finished:
		s.logger.Warn("leadership transfer did not finish in time; shutting down anyway", "timeout", leadershipTransferTimeout)
	case err != nil:
		s.logger.Warn("leadership transfer failed", "error", err)
	default:
		s.logger.Info("leadership transferred", "took", time.Since(start), "leader", s.Leader())
	}
}

// leaveRaft asks the leader to remove this server from the Raft
// configuration, when it is a follower of a cluster with other voters. Bounded
// by LeaderWaitTimeout; a failure is logged: the server then stays in the
// configuration as if it had failed.
func (s *Server) leaveRaft() {
	if s.raft == nil || s.IsLeader() {
		return
	}
	f := s.raft.GetConfiguration()
	if f.Error() != nil {
		return
	}
	member := false
	for _, srv := range f.Configuration().Servers {
		member = member || srv.ID == s.raftID
	}
	if !member || len(f.Configuration().Servers) < 2 {
		return
	}
	var resp structs.GenericResponse
	ctx, cancel := context.WithTimeout(context.Background(), 2*s.config.LeaderWaitTimeout)
	defer cancel()
	err := s.RPC(ctx, "Operator.RaftRemovePeer", &structs.RaftRemovePeerRequest{ID: string(s.raftID)}, &resp)
	if errors.Is(err, structs.ErrNotFound) {
		return // already removed
	}
	if err != nil {
		s.logger.Warn("leaving the raft configuration failed", "error", err)
		return
	}
	s.logger.Info("left the raft configuration", "index", resp.Index)
}
