package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/orch-io/orch/client"
	"github.com/orch-io/orch/internal/gossipkey"
	"github.com/orch-io/orch/internal/logmon"
	"github.com/orch-io/orch/internal/metrics"
	"github.com/orch-io/orch/internal/tlsutil"
	"github.com/orch-io/orch/internal/tracing"
	"github.com/orch-io/orch/server"
	"github.com/orch-io/orch/structs"
)

// Agent is one orch agent process: a server, a client, or both, and the HTTP API.
type Agent struct {
	cfg    *Config
	logger *slog.Logger
	// dataDir is the absolute data directory in use (a temporary one in dev
	// mode without -data-dir).
	dataDir string

	server *server.Server
	client *client.Client
	http   *HTTPServer

	// rpc reaches the servers: the in-process server, or rpcClient for a
	// client-only agent.
	rpc       client.RPCer
	rpcClient *client.RPCClient

	// tmpDataDir is removed on shutdown: dev mode without -data-dir.
	tmpDataDir string

	// logs fans the agent's log out to monitors (internal/logmon).
	logs *logmon.Broadcaster

	// metrics is the agent's one registry: the server, the client and the
	// HTTP API define their series in it.
	metrics *metrics.Registry
	// tracer records the agent's spans when telemetry.otlp_endpoint is set
	// (nil: tracing off); the server, the client and the HTTP API share it.
	tracer *tracing.Tracer
	// tls is the agent's TLS material (tls block with http or rpc), nil
	// without; Reload reloads it.
	tls *tlsutil.Store

	// gossip is the memberlist of a client-only agent (see clientGossip);
	// a server's is the server's own.
	gossip *clientGossip

	// stopJoin ends the background join of server_join.retry_join; joinDone
	// is closed when it has returned.
	stopJoin context.CancelFunc
	joinDone chan struct{}
}

// New starts an agent from a validated config: the server first (the client
// registers with it), then the client, then the HTTP API. On error everything
// started so far is stopped again.
func New(cfg *Config, logger *slog.Logger) (a *Agent, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	// The error returns below set a to nil: stop what was started through
	// a variable of their own.
	// Every logger of the agent derives from this one: monitors see them
	// all, at their own level.
	logs := logmon.New()
	logger = slog.New(logmon.NewHandler(logger.Handler(), logs))
	started := &Agent{cfg: cfg, logger: logger, logs: logs}
	a = started
	defer func() {
		if err != nil {
			started.Shutdown()
		}
	}()
	dataDir := cfg.DataDir
	if dataDir == "" { // dev mode only: Validate requires data_dir otherwise
		if dataDir, err = os.MkdirTemp("", "orch-dev-"); err != nil {
			return nil, fmt.Errorf("agent: creating a temporary data dir: %w", err)
		}
		a.tmpDataDir = dataDir
	}
	if dataDir, err = filepath.Abs(dataDir); err != nil {
		return nil, fmt.Errorf("agent: data_dir %q: %w", cfg.DataDir, err)
	}
	a.dataDir = dataDir
	a.metrics = newAgentRegistry(cfg)
	if cfg.Telemetry.OTLPEndpoint != "" {
		if a.tracer, err = newAgentTracer(cfg); err != nil {
			return nil, err
		}
	}
	logger.Info("starting agent", "data_dir", dataDir, "bind", cfg.BindAddr, "dev", cfg.DevMode,
		"server", cfg.Server.Enabled, "client", cfg.Client.Enabled)

	if cfg.TLS.Enabled() {
		if a.tls, err = cfg.TLS.store(cfg.Region); err != nil {
			return nil, fmt.Errorf("agent: tls: %w", err)
		}
	}
	var rpcTLS *tlsutil.Store // nil: plain RPC
	if cfg.TLS.RPC || (cfg.Server.Enabled && cfg.TLS.RPCUpgradeMode) {
		rpcTLS = a.tls
	}
	if cfg.Server.Enabled {
		if a.server, err = startServer(cfg, dataDir, rpcTLS, logger, a.metrics, a.serveAgentCall, a.tracer); err != nil {
			return nil, err
		}
		a.rpc = a.server // in process: the same endpoints the network RPC reaches
		a.startJoin(a.server)
	} else {
		// With no -servers the client waits for gossip to name them.
		var opts []client.RPCOption
		if cfg.TLS.RPC {
			opts = append(opts, client.RPCWithTLS(rpcTLS.OutgoingRPC))
		}
		if a.rpcClient, err = client.NewRPCClient(cfg.Client.Servers, logger.With("component", "rpc"), opts...); err != nil {
			return nil, err
		}
		a.rpc = a.rpcClient
	}
	httpAddr := net.JoinHostPort(cfg.BindAddr, strconv.Itoa(cfg.Ports.HTTP))
	if cfg.Client.Enabled {
		drivers, err := buildDrivers(cfg.Plugins, logger.With("component", "client"))
		if err != nil {
			return nil, err
		}
		a.client, err = client.NewClient(client.Config{
			DataDir:    dataDir,
			NodeName:   cfg.NodeName,
			Datacenter: cfg.Datacenter,
			Region:     cfg.Region,
			NodePool:   cfg.Client.NodePool,
			NodeClass:  cfg.Client.NodeClass,
			Meta:       cfg.Client.Meta,
			Reserved: structs.NodeResources{CPU: cfg.Client.ReservedCPU, MemoryMB: cfg.Client.ReservedMemoryMB,
				DiskMB: cfg.Client.ReservedDiskMB, ReservedHostPorts: cfg.Client.ReservedPorts, Cores: cfg.Client.ReservedCores},
			HTTPAddr:          httpAddr,
			Servers:           a.rpc,
			MinDynamicPort:    cfg.Client.MinDynamicPort,
			MaxDynamicPort:    cfg.Client.MaxDynamicPort,
			Drivers:           drivers,
			SupervisedDrivers: supervisedDrivers(cfg.Plugins, logger.With("component", "client")),
			DisableRawExec:    !cfg.Plugins.RawExec,
			Logger:            logger.With("component", "client"),
			// Nothing restarts on a temporary data dir: its tasks go with it.
			StopTasksOnShutdown:      a.tmpDataDir != "",
			EmbeddedSupervisor:       cfg.Client.EmbeddedSupervisor,
			Metrics:                  a.metrics,
			AgentCalls:               a.serveAgentCall,
			Tracer:                   a.tracer,
			PublishNodeMetrics:       cfg.Telemetry.PublishNodeMetrics,
			PublishAllocationMetrics: cfg.Telemetry.PublishAllocationMetrics,
			CollectionInterval:       cfg.Telemetry.CollectionInterval,
			GC:                       cfg.Client.GC,
		})
		if err != nil {
			return nil, err
		}
		if !cfg.Server.Enabled {
			if err := a.startClientGossip(); err != nil {
				return nil, err
			}
		}
	}
	httpOpts := HTTPOptions{Metrics: a.metrics, PrometheusMetrics: cfg.Telemetry.PrometheusMetrics, EnableDebug: cfg.EnableDebug, AgentName: started.name(), Tracer: a.tracer}
	if cfg.ACL.Enabled {
		httpOpts.ACL, httpOpts.ACLTokenTTL = true, cfg.ACL.aclCacheTTL()
	}
	if cfg.TLS.HTTP {
		httpOpts.TLS = a.tls.IncomingHTTP()
	}
	if a.http, err = NewHTTPServerWithOptions(httpAddr, backend{a}, logger, httpOpts); err != nil {
		return nil, err
	}
	logger.Info("agent started", "http", a.http.URL())
	return a, nil
}

// startClientGossip runs memberlist on the gossip port of a client-only
// agent and joins server_join.retry_join (-join) in the background: the
// servers then mark the node down as soon as gossip declares the agent dead,
// and the agent learns the servers' RPC addresses from gossip.
func (a *Agent) startClientGossip() error {
	node := a.client.Node()
	g, err := startClientGossip(gossipConfig{
		Name:        node.Name + ".client",
		BindAddr:    a.cfg.BindAddr,
		Port:        a.cfg.Ports.Serf,
		Region:      a.cfg.Region,
		Datacenter:  a.cfg.Datacenter,
		NodeID:      node.ID,
		Version:     a.cfg.Version,
		OnServers:   a.rpcClient.SetServers,
		Logger:      a.logger,
		Encrypt:     a.cfg.Server.Encrypt,
		KeyringFile: filepath.Join(a.dataDir, "client", gossipkey.FileName),
	})
	if err != nil {
		return err
	}
	a.gossip = g
	if g.keyring != nil {
		a.client.SetKeyring(ringKeyring{g.keyring})
	}
	a.startJoin(g)
	return nil
}

// joiner joins the cluster's gossip: the server, or a client's clientGossip.
type joiner interface {
	Join(addrs []string) (int, error)
}

// startJoin joins server_join.retry_join in the background, when given.
func (a *Agent) startJoin(j joiner) {
	if len(a.cfg.ServerJoin.RetryJoin) == 0 {
		return
	}
	var ctx context.Context
	ctx, a.stopJoin = context.WithCancel(context.Background())
	a.joinDone = make(chan struct{})
	go func() {
		defer close(a.joinDone)
		retryJoin(ctx, j, a.cfg.ServerJoin, a.logger)
	}()
}

// startServer starts the server half of the agent; rpcTLS, when set, makes
// its RPC port accept mutual TLS (and refuse plain connections unless the
// tls block has rpc_upgrade_mode).
func startServer(cfg *Config, dataDir string, rpcTLS *tlsutil.Store, logger *slog.Logger, reg *metrics.Registry, calls server.AgentCallFunc, tracer *tracing.Tracer) (*server.Server, error) {
	sc := server.DefaultConfig()
	if cfg.DevMode {
		sc = server.DevConfig()
	}
	sc.DataDir = dataDir
	if cfg.NodeName != "" {
		sc.NodeName = cfg.NodeName
	}
	sc.Region, sc.Datacenter, sc.BindAddr = cfg.Region, cfg.Datacenter, cfg.BindAddr
	sc.RPCPort, sc.GossipPort = cfg.Ports.RPC, cfg.Ports.Serf
	sc.BootstrapExpect, sc.Version = cfg.Server.BootstrapExpect, cfg.Version
	sc.RaftMultiplier = cfg.Server.RaftMultiplier
	if cfg.Server.NumSchedulers > 0 {
		sc.NumSchedulers = cfg.Server.NumSchedulers
	}
	sc.EventBufferSize = cfg.Server.EventBufferSize
	if cfg.Server.RaftSnapshotThreshold > 0 {
		sc.RaftTimeouts.SnapshotThreshold = uint64(cfg.Server.RaftSnapshotThreshold)
	}
	if cfg.Server.DeploymentGCThreshold > 0 {
		sc.DeploymentGCThreshold = cfg.Server.DeploymentGCThreshold
	}
	if cfg.Server.RaftSnapshotInterval > 0 {
		sc.RaftTimeouts.SnapshotInterval = cfg.Server.RaftSnapshotInterval
	}
	if cfg.Server.MinHeartbeatTTL > 0 {
		sc.MinHeartbeatTTL = cfg.Server.MinHeartbeatTTL
	}
	if cfg.Server.HeartbeatGrace > 0 {
		sc.HeartbeatGrace = cfg.Server.HeartbeatGrace
	}
	if cfg.Server.ReconnectGrace > 0 {
		sc.ReconnectGrace = cfg.Server.ReconnectGrace
	}
	if cfg.Server.MaxHeartbeatsPerSecond > 0 {
		sc.MaxHeartbeatsPerSecond = cfg.Server.MaxHeartbeatsPerSecond
	}
	sc.JobGCInterval, sc.JobGCThreshold = cfg.Server.JobGCInterval, cfg.Server.JobGCThreshold
	sc.EvalGCThreshold = cfg.Server.EvalGCThreshold
	sc.Limits = cfg.Limits
	sc.ACLEnabled = cfg.ACL.Enabled
	sc.TLS = rpcTLS
	sc.RPCTLSMode = cfg.TLS.rpcMode()
	sc.GossipEncrypt = cfg.Server.Encrypt
	sc.Autopilot = server.AutopilotConfig{
		DisableDeadServerCleanup: !cfg.Autopilot.CleanupDeadServers,
		DeadServerCleanupTime:    cfg.Autopilot.DeadServerCleanupTime,
		ServerStabilizationTime:  cfg.Autopilot.ServerStabilizationTime,
		MaxTrailingLogs:          uint64(cfg.Autopilot.MaxTrailingLogs),
		MinQuorum:                cfg.Autopilot.MinQuorum,
		LastContactThreshold:     cfg.Autopilot.LastContactThreshold,
	}
	sc.Logger = logger // the server names its components itself
	sc.Metrics = reg
	sc.AgentCalls = calls
	sc.Tracer = tracer
	return server.NewServer(sc)
}

// retryJoin joins the servers' gossip at join.RetryJoin until one of them
// answers or ctx ends. Attempts start 1s apart and back off to
// join.RetryInterval; failures are logged on the first attempt and then once
// every ten, so a long wait does not flood the log.
func retryJoin(ctx context.Context, s joiner, join ServerJoin, logger *slog.Logger) {
	limit := join.RetryInterval
	if limit <= 0 {
		limit = DefaultRetryInterval
	}
	addrs := make([]string, len(join.RetryJoin))
	for i, addr := range join.RetryJoin {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			addr = net.JoinHostPort(addr, strconv.Itoa(DefaultSerfPort))
		}
		addrs[i] = addr
	}
	wait := time.Second
	for attempt := 1; ; attempt++ {
		n, err := s.Join(addrs)
		if n > 0 {
			logger.Info("joined the cluster's gossip", "contacted", n, "addrs", addrs)
			return
		}
		if attempt == 1 || attempt%10 == 0 {
			logger.Warn("joining the cluster's gossip failed; retrying", "addrs", addrs, "attempt", attempt, "retry_in", wait, "error", err)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		wait = min(2*wait, limit)
	}
}

// newAgentRegistry is the agent's metrics registry: every series carries the
// label host (the agent's name) unless telemetry.disable_hostname.
func newAgentRegistry(cfg *Config) *metrics.Registry {
	if cfg.Telemetry.DisableHostname {
		return metrics.NewRegistry(nil)
	}
	host := cfg.NodeName
	if host == "" {
		host, _ = os.Hostname()
	}
	return metrics.NewRegistry(map[string]string{"host": host})
}

// newAgentTracer is the agent's tracer, exporting to telemetry.otlp_endpoint;
// its spans name the agent (service.instance.id) by its node name, else the
// host name.
func newAgentTracer(cfg *Config) (*tracing.Tracer, error) {
	name := cfg.NodeName
	if name == "" {
		name, _ = os.Hostname()
	}
	t, err := tracing.New(tracing.Config{Endpoint: cfg.Telemetry.OTLPEndpoint, ServiceName: "orch", InstanceID: name})
	if err != nil {
		return nil, fmt.Errorf("agent: telemetry.otlp_endpoint: %w", err)
	}
	return t, nil
}

// Metrics is the agent's metrics registry.
func (a *Agent) Metrics() *metrics.Registry { return a.metrics }

// DataDir is the data directory the agent uses, absolute; in dev mode
// without -data-dir a temporary one, removed at shutdown.
func (a *Agent) DataDir() string { return a.dataDir }

// HTTPAddr is the address the HTTP API listens on.
func (a *Agent) HTTPAddr() string { return a.http.Addr() }

// HTTPURL is the HTTP API's base URL (https:// with tls.http).
func (a *Agent) HTTPURL() string { return a.http.URL() }

// Reload re-reads what the agent can change while it runs (SIGHUP): the TLS
// certificate, key and CA. New connections use them; open ones are kept. On
// error the agent goes on with what it had.
func (a *Agent) Reload() error {
	if a.tls == nil {
		return nil
	}
	if err := a.tls.Reload(); err != nil {
		return fmt.Errorf("agent: reloading TLS: %w", err)
	}
	a.logger.Info("reloaded the TLS certificate, key and CA")
	return nil
}

// HTTPRoutes lists the HTTP API's routes (HTTPServer.Routes).
func (a *Agent) HTTPRoutes() []string { return a.http.Routes() }

// Backend is what the agent's HTTP API calls: a test serves the same API over
// a wrapper of it to inject failures (internal/agenttest).
func (a *Agent) Backend() Backend { return backend{a} }

// Shutdown stops the agent gracefully: the HTTP API, then the client (which
// stops its tasks cleanly), then the server. It returns the first error.
func (a *Agent) Shutdown() error {
	var errs []error
	if a.http != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		errs = append(errs, a.http.Shutdown(ctx))
		cancel()
	}
	if a.stopJoin != nil {
		a.stopJoin()
		<-a.joinDone
	}
	if a.gossip != nil {
		// Leave first, announcing it: the servers must not take the agent's
		// going away for a failure.
		errs = append(errs, a.gossip.Leave())
	}
	if a.client != nil {
		errs = append(errs, a.client.Shutdown())
	}
	if a.server != nil {
		errs = append(errs, a.server.Shutdown())
	}
	if a.rpcClient != nil {
		errs = append(errs, a.rpcClient.Close())
	}
	if a.tracer != nil {
		// Last: the spans of the shutdown itself are exported too.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := a.tracer.Shutdown(ctx); err != nil {
			a.logger.Warn("exporting the last trace spans failed", "error", err)
		}
		cancel()
	}
	if a.tmpDataDir != "" {
		errs = append(errs, os.RemoveAll(a.tmpDataDir))
	}
	return errors.Join(errs...)
}

// backend is what the HTTP API sees of the agent.
type backend struct{ a *Agent }

func (b backend) RPC(ctx context.Context, method string, args, reply any) error {
	return b.a.rpc.RPC(ctx, method, args, reply)
}

// Members lists the gossip members a server sees. A client-only agent lists
// none of its own: ask a server.
func (b backend) Members() *structs.AgentMembersResponse {
	if b.a.server != nil {
		return b.a.server.Members()
	}
	return &structs.AgentMembersResponse{ServerName: b.a.cfg.NodeName, ServerRegion: b.a.cfg.Region,
		ServerDC: b.a.cfg.Datacenter, Members: []*structs.AgentMember{}}
}

// DialNode reaches a node's client: this agent's own client directly (the
// HTTP API authorized the call: openClientCall), else through this agent's
// server, else through the server this client-only agent is connected to
// (both authorize it again).
func (b backend) DialNode(ctx context.Context, req *structs.DialNodeRequest) (io.ReadWriteCloser, error) {
	switch {
	case b.a.client != nil && b.a.client.NodeID() == req.NodeID:
		mine, theirs := net.Pipe()
		go b.a.client.ServeStream(theirs)
		return mine, nil
	case b.a.server != nil:
		return b.a.server.DialNode(ctx, req)
	default:
		return b.a.rpcClient.DialNode(ctx, req)
	}
}

// Logs is the agent's log fan-out, for monitors.
func (b backend) Logs() *logmon.Broadcaster { return b.a.logs }

// DialServer reaches the streaming endpoints of a server: this agent's own
// in process, or the one a client-only agent is connected to.
func (b backend) DialServer(ctx context.Context) (io.ReadWriteCloser, error) {
	if b.a.server != nil {
		return b.a.server.DialAgent(), nil
	}
	return b.a.rpcClient.DialServer(ctx)
}

func (b backend) Health() *structs.AgentHealthResponse {
	h := &structs.AgentHealthResponse{}
	if b.a.server != nil {
		h.Server = b.a.server.Health()
	}
	if c := b.a.client; c != nil {
		ok, msg := c.Ready()
		h.Client = &structs.AgentHealth{Ok: ok, Message: msg, NodeID: c.NodeID()}
	}
	return h
}
