package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/orch-io/orch/client/allocrunner"
	"github.com/orch-io/orch/client/checks"
	"github.com/orch-io/orch/client/driver"
	"github.com/orch-io/orch/client/driver/rawexec"
	"github.com/orch-io/orch/client/serviceregistration"
	"github.com/orch-io/orch/client/state"
	"github.com/orch-io/orch/client/supervisor"
	"github.com/orch-io/orch/structs"
)

// Client is the node agent. NewClient starts it; Shutdown stops it. Its
// goroutines: the heartbeat loop (register, then heartbeat), the alloc watcher,
// the alloc updater, and one garbage-collecting goroutine per allocation the
// servers forgot, besides the alloc runners' own.
type Client struct {
	cfg       Config
	logger    *slog.Logger
	nodeID    string
	secretID  string
	db        *state.DB
	allocsDir string
	drivers   map[string]driver.Driver
	updater   *allocUpdater
	metrics   *clientMetrics
	sup       *supervisor.Client
	// supDone is closed when the embedded supervisor returns (nil: none).
	supDone   chan struct{}
	supCancel context.CancelFunc
	// services registers the allocations' service instances.
	services *serviceregistration.Registrar
	// checks runs the checks of those services.
	checks *checks.Runner
	// keyring is the agent's gossip keyring (keyring.go).
	keyring keyringHolder
	// canaries learns when canaries are promoted (their services' tags).
	canaries *canaryWatch

	ctx    context.Context // canceled by Shutdown; every loop selects on it
	cancel context.CancelFunc
	// registered is closed after the first successful Node.Register: the
	// watcher and the updater wait for it.
	registered  chan struct{}
	watcherDone chan struct{}
	wg          sync.WaitGroup // heartbeat loop, updater, GC goroutines

	// metaMu serializes applies of dynamic node metadata (read, merge,
	// persist). reregister asks the heartbeat loop to register the node
	// again (an apply whose registration failed).
	metaMu     sync.Mutex
	reregister atomic.Bool
	// heartbeatKick wakes the heartbeat loop to heartbeat at once (the
	// connection to the servers was lost: they give the node a short grace).
	heartbeatKick chan struct{}
	// heartbeatUntil is when the servers' last accepted heartbeat (or
	// registration) runs out: its time plus the TTL they gave, Unix
	// nanoseconds of Config.Clock; 0 before the first.
	heartbeatUntil atomic.Int64

	shutdownOnce sync.Once
	shutdownErr  error

	mu struct {
		sync.Mutex
		node    *structs.Node
		runners map[string]*runnerEntry // by alloc ID
		// collected holds the allocations the client GC removed while the
		// servers still list them: the watcher must not run them again.
		// Forgotten once the servers stop listing them.
		collected map[string]bool
	}
}

// runnerEntry is one allocation the client runs (or ran and still lists).
type runnerEntry struct {
	ar *allocrunner.AllocRunner
	// destroying: the servers no longer list the allocation, or the
	// client GC collected it; it is being stopped and forgotten. Set once,
	// by whoever claims it (the watcher, the GC).
	destroying atomic.Bool
}

// NewClient starts a client agent: it opens (or creates) the local state,
// loads or mints the node's identity, fingerprints the machine, restarts the
// allocations it was running before a restart, and starts registering with
// the servers, heartbeating and watching for allocations. It returns without
// waiting for the servers, which may not be reachable yet.
func NewClient(cfg Config) (*Client, error) {
	hostname, _ := os.Hostname()
	cfg = cfg.withDefaults(hostname)
	if err := cfg.Validate(); err != nil {
		return nil, err
	}

	clientDir := filepath.Join(cfg.DataDir, "client")
	allocsDir := filepath.Join(clientDir, "allocs")
	if err := os.MkdirAll(allocsDir, 0o755); err != nil {
		return nil, fmt.Errorf("client: data_dir %q: %w", cfg.DataDir, err)
	}
	db, err := state.Open(filepath.Join(clientDir, "state.db"))
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	id, err := loadOrCreateIdentity(db)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("client: %w", err)
	}
	if cfg.NodeName == "" {
		cfg.NodeName = "node-" + structs.ShortID(id.NodeID)
	}

	logger := cfg.Logger.With("node_id", id.NodeID)
	sup, supDone, supCancel, err := startSupervisor(cfg, logger)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("client: %w", err)
	}
	c := &Client{
		sup:         sup,
		supDone:     supDone,
		supCancel:   supCancel,
		cfg:         cfg,
		logger:      logger,
		nodeID:      id.NodeID,
		secretID:    id.SecretID,
		db:          db,
		allocsDir:   allocsDir,
		drivers:     driversByName(rawExecUnlessDisabled(cfg, logger, sup), supervised(cfg, sup)),
		registered:  make(chan struct{}),
		watcherDone: make(chan struct{}),

		heartbeatKick: make(chan struct{}, 1),
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.metrics = newClientMetrics(c)
	c.updater = newAllocUpdater(c.callRPC, cfg, logger)
	c.services = serviceregistration.NewRegistrar(serviceregistration.Config{
		RPC: c.callRPC, Region: cfg.Region, Window: cfg.AllocUpdateInterval,
		RetryInterval: cfg.RetryInterval, MaxRetryInterval: cfg.MaxRetryInterval, Logger: logger,
	})
	c.checks = checks.NewRunner(checks.Config{Clock: cfg.Clock, Logger: logger, OnChange: c.checksChanged})
	c.canaries = newCanaryWatch(c.callRPC, cfg.Region, logger, &c.wg, c.reregisterDeployment)
	c.mu.runners = make(map[string]*runnerEntry)
	c.mu.collected = make(map[string]bool)
	c.mu.node = c.buildNode()
	c.loadDynamicMeta()

	c.restoreAllocs()
	c.startReconcilers()
	if s, ok := cfg.Servers.(streamServer); ok {
		s.ServeClientStreams(c.nodeID, c.ServeStream)
	}
	if s, ok := cfg.Servers.(sessionWatcher); ok {
		s.OnSessionLost(c.kickHeartbeat)
	}

	c.wg.Add(5)
	go c.runGC()
	go func() {
		defer c.wg.Done()
		c.checks.Run(c.ctx)
	}()
	go c.heartbeatLoop()
	go func() {
		defer c.wg.Done()
		c.updater.run(c.ctx, c.registered)
	}()
	go func() {
		defer c.wg.Done()
		c.services.Run(c.ctx, c.registered)
	}()
	go c.watchAllocs()
	if cfg.PublishAllocationMetrics {
		u := &allocUsage{}
		c.registerAllocUsage(u)
		c.wg.Add(1)
		go c.runAllocUsage(u)
	}
	logger.Info("client started", "node_name", cfg.NodeName, "datacenter", cfg.Datacenter, "data_dir", cfg.DataDir)
	return c, nil
}

// NodeID is the node's ID, the same across restarts on the same data dir.
func (c *Client) NodeID() string { return c.nodeID }

// Node returns a copy of the node as the client registers it.
func (c *Client) Node() *structs.Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mu.node.Copy()
}

// Registered reports whether the servers have accepted this node's
// registration since the client started. Safe for concurrent use.
func (c *Client) Registered() bool {
	select {
	case <-c.registered:
		return true
	default:
		return false
	}
}

// Ready reports whether the client is registered and heartbeating: the
// servers accepted a heartbeat within its last TTL. The message says why
// not. Safe for concurrent use.
func (c *Client) Ready() (bool, string) {
	if !c.Registered() {
		return false, "the node has not registered with the servers yet"
	}
	until := time.Unix(0, c.heartbeatUntil.Load())
	if now := c.cfg.Clock.Now(); now.After(until) {
		return false, fmt.Sprintf("no heartbeat accepted by the servers for %s (its TTL ran out at %s)",
			now.Sub(until).Round(time.Second), until.UTC().Format(time.RFC3339))
	}
	return true, "ok"
}

// Shutdown stops the client: the loops stop, the alloc runners let go of
// the tasks whose driver can reattach to them, which run on (raw_exec's
// under the supervisor, docker's containers), and stop the others in
// parallel (its kill signal, then SIGKILL after its kill timeout; every task
// with StopTasksOnShutdown or an embedded supervisor), pending
// status updates are sent (best effort, bounded by ShutdownFlushTimeout) and
// the local state is closed. The servers are not told the allocations ended:
// their persisted state stays what it was (running), and the next NewClient
// on the same data dir reattaches to the tasks (or starts them again if they
// were stopped). Safe to call more than once; later calls return the first
// one's result.
func (c *Client) Shutdown() error {
	c.shutdownOnce.Do(func() {
		c.logger.Info("client shutting down")
		c.cancel()
		<-c.watcherDone // no runner is created after this

		c.mu.Lock()
		runners := make([]*allocrunner.AllocRunner, 0, len(c.mu.runners))
		for _, e := range c.mu.runners {
			runners = append(runners, e.ar)
		}
		c.mu.Unlock()
		var wg sync.WaitGroup
		for _, ar := range runners {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ar.Shutdown()
			}()
		}
		wg.Wait()
		c.wg.Wait()
		c.stopSupervisor(c.stopTasksOnShutdown())

		select {
		case <-c.registered:
			ctx, cancel := context.WithTimeout(context.Background(), c.cfg.ShutdownFlushTimeout)
			c.sayStopping(ctx)
			if err := c.updater.flush(ctx); err != nil {
				c.logger.Warn("could not send the last allocation updates", "error", err)
			}
			if err := c.services.Flush(ctx); err != nil {
				c.logger.Warn("could not send the last service registrations", "error", err)
			}
			cancel()
		default:
		}

		c.shutdownErr = c.db.Close()
		c.logger.Info("client stopped")
	})
	return c.shutdownErr
}

// stopTasksOnShutdown reports whether Shutdown stops every task rather than
// leave those that can be reattached to running: asked for, or forced by an
// embedded supervisor, whose tasks cannot outlive this process.
func (c *Client) stopTasksOnShutdown() bool {
	return c.cfg.StopTasksOnShutdown || c.cfg.EmbeddedSupervisor
}

// startSupervisor connects to the node's supervisor, starting it (in this
// process when cfg.EmbeddedSupervisor). done and cancel are nil unless embedded.
func startSupervisor(cfg Config, logger *slog.Logger) (sup *supervisor.Client, done chan struct{}, cancel context.CancelFunc, err error) {
	dir := filepath.Join(cfg.DataDir, "supervisor")
	sc := supervisor.ClientConfig{Dir: dir, Command: cfg.SupervisorCommand, Logger: logger}
	if cfg.EmbeddedSupervisor {
		var ctx context.Context
		ctx, cancel = context.WithCancel(context.Background())
		done = make(chan struct{})
		go func() {
			defer close(done)
			if err := supervisor.RunEmbedded(ctx, dir, logger.With("component", "supervisor")); err != nil {
				logger.Error("embedded supervisor", "error", err)
			}
		}()
		sc.Command = func() *exec.Cmd { return nil }
	}
	ctx, stop := context.WithTimeout(context.Background(), 30*time.Second)
	defer stop()
	sup, err = supervisor.Dial(ctx, sc)
	if err != nil {
		if cancel != nil {
			cancel()
			<-done
		}
		return nil, nil, nil, err
	}
	return sup, done, cancel, nil
}

// stopSupervisor lets go of the supervisor; when the tasks were stopped, the
// supervisor is stopped too.
func (c *Client) stopSupervisor(tasksStopped bool) {
	if tasksStopped {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := c.sup.StopSupervisor(ctx, true); err != nil {
			c.logger.Warn("stopping the supervisor", "error", err)
		}
		cancel()
	}
	c.sup.Close()
	if c.supCancel != nil {
		c.supCancel()
		<-c.supDone
	}
}

// callRPC calls the servers within ctx. Every call authenticates with the
// node's secret ID (the servers' ACLs let a node act for itself only).
func (c *Client) callRPC(ctx context.Context, method string, args, reply any) (err error) {
	defer func(start time.Time) { c.metrics.observeRPC(method, start, err) }(time.Now())
	if a, ok := args.(structs.Authenticated); ok && a.GetAuthToken() == "" {
		a.SetAuthToken(c.secretID)
	}
	return c.cfg.Servers.RPC(ctx, method, args, reply)
}

// restoreAllocs creates a runner for every allocation in the local state and
// runs it: unfinished ones start their unfinished tasks again; finished ones
// just stay known, so the watcher does not run them a second time.
func (c *Client) restoreAllocs() {
	allocs, err := c.db.Allocations()
	if err != nil {
		c.logger.Error("restoring allocations", "error", err)
	}
	for _, a := range allocs {
		ar := c.newAllocRunner(a)
		c.mu.Lock()
		c.mu.runners[a.ID] = &runnerEntry{ar: ar}
		c.mu.Unlock()
		c.logger.Info("restoring allocation", "alloc_id", a.ID, "job_id", a.JobID, "client_status", a.ClientStatus, "desired_status", a.DesiredStatus)
		ar.Run()
	}
}

// newAllocRunner returns a runner of alloc (which it keeps) wired to the local
// state and the updater.
func (c *Client) newAllocRunner(alloc *structs.Allocation) *allocrunner.AllocRunner {
	node := c.Node()
	var ar *allocrunner.AllocRunner // Send is called only once ar runs
	ar = allocrunner.New(allocrunner.Config{
		Alloc:               alloc,
		Node:                node,
		AllocsDir:           c.allocsDir,
		Drivers:             c.drivers,
		Handles:             c.db,
		Persist:             c.db.PutAllocation,
		StopTasksOnShutdown: c.stopTasksOnShutdown(),
		Services:            registrySource{rpc: c.callRPC, region: c.cfg.Region},
		Checks:              func() []*structs.CheckQueryResult { return c.checks.AllocChecks(alloc.ID) },
		Send: func(a *structs.Allocation) {
			c.canaries.track(c.ctx, a)
			c.services.AllocUpdated(c.canaries.view(a), node)
			c.checks.AllocUpdated(a, node, ar)
			c.updater.update(a)
		},
		Logger:  c.logger,
		Metrics: c.metrics.tasks,
		Tracer:  c.cfg.Tracer,
	})
	return ar
}

// reregisterDeployment sends again the service instances of the
// allocations of a deployment whose canaries were promoted: they now carry
// their services' tags.
func (c *Client) reregisterDeployment(deploymentID string) {
	node := c.Node()
	c.mu.Lock()
	var ars []*allocrunner.AllocRunner
	for _, e := range c.mu.runners {
		if !e.destroying.Load() {
			ars = append(ars, e.ar)
		}
	}
	c.mu.Unlock()
	for _, ar := range ars {
		if a := ar.Alloc(); a.DeploymentID == deploymentID {
			c.services.AllocUpdated(c.canaries.view(a), node)
		}
	}
}

// checksChanged is the check runner's OnChange: the allocation's runner
// reassesses its health.
func (c *Client) checksChanged(allocID string) {
	c.mu.Lock()
	e := c.mu.runners[allocID]
	c.mu.Unlock()
	if e != nil {
		e.ar.ChecksChanged()
	}
}

// AllocChecks returns the latest results of the checks of an allocation
// this client runs, sorted by ID; empty when it runs none.
func (c *Client) AllocChecks(allocID string) []*structs.CheckQueryResult {
	return c.checks.AllocChecks(allocID)
}

// rawExecUnlessDisabled is the raw_exec driver on the supervisor, or nil
// when the configuration disables it.
func rawExecUnlessDisabled(cfg Config, logger *slog.Logger, sup *supervisor.Client) driver.Driver {
	if cfg.DisableRawExec {
		return nil
	}
	return rawexec.New(logger, sup)
}

// supervised is cfg's drivers with those built on the supervisor.
func supervised(cfg Config, sup *supervisor.Client) []driver.Driver {
	ds := append([]driver.Driver(nil), cfg.Drivers...)
	for _, build := range cfg.SupervisedDrivers {
		ds = append(ds, build(sup))
	}
	return ds
}

// driversByName indexes the node's drivers: raw_exec (nil: disabled) and the
// configured ones.
func driversByName(rawExec driver.Driver, ds []driver.Driver) map[string]driver.Driver {
	m := make(map[string]driver.Driver, len(ds)+1)
	if rawExec != nil {
		m[rawExec.Name()] = rawExec
	}
	for _, d := range ds {
		m[d.Name()] = d
	}
	return m
}

// loadOrCreateIdentity returns the node identity saved in db, minting and
// saving one on first start.
func loadOrCreateIdentity(db *state.DB) (*state.NodeIdentity, error) {
	id, err := db.NodeIdentity()
	if err != nil {
		return nil, err
	}
	if id != nil {
		if id.NodeID == "" || id.SecretID == "" {
			return nil, errors.New("state: saved node identity is incomplete")
		}
		return id, nil
	}
	id = &state.NodeIdentity{NodeID: structs.GenerateUUID(), SecretID: structs.GenerateUUID()}
	if err := db.PutNodeIdentity(id); err != nil {
		return nil, err
	}
	return id, nil
}
