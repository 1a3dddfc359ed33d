package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"time"

	"github.com/orch-io/orch/client/driver"
	"github.com/orch-io/orch/client/driver/rawexec"
	"github.com/orch-io/orch/client/supervisor"
	"github.com/orch-io/orch/internal/clock"
	"github.com/orch-io/orch/internal/metrics"
	"github.com/orch-io/orch/internal/rpcwire"
	"github.com/orch-io/orch/internal/tracing"
	"github.com/orch-io/orch/structs"
)

// RPCer is how the client reaches the servers: the agent passes the in-process
// *server.Server in dev mode, or an *RPCClient over the network. Calls pass
// pointers to the request and reply types of structs/rpc.go. RPC may block (a
// blocking query waits up to its MaxQueryTime) and returns when ctx ends; the
// client never calls it with a lock held, and every call's ctx ends on
// Shutdown. Errors of the servers' methods carry a code (structs.CodeOf).
type RPCer interface {
	RPC(ctx context.Context, method string, args, reply any) error
}

// Config configures a Client. The zero value of every optional field means its
// default (see DefaultConfig); NewClient fills them in.
type Config struct {
	// DataDir holds the client's state: DataDir/client/state.db and
	// DataDir/client/allocs/<alloc-id>/. Required.
	DataDir string
	// NodeName defaults to the hostname.
	NodeName string
	// Datacenter defaults to "dc1".
	Datacenter string
	// Region is sent with every RPC; empty lets the servers use their own.
	Region    string
	NodeClass string
	Meta      map[string]string
	// NodePool is the node pool the node registers in; "" means "default".
	NodePool string
	// HTTPAddr is the agent's HTTP address ("host:port"), reported in the Node.
	HTTPAddr string
	// MinDynamicPort and MaxDynamicPort bound the host ports the scheduler
	// picks dynamic ports from on this node; zero means Nomad's default
	// (20000 and 32000).
	MinDynamicPort, MaxDynamicPort int
	// Reserved is held back from allocations: CPU (MHz), MemoryMB and
	// DiskMB of the fingerprinted totals, and ReservedHostPorts, host ports
	// no allocation may use, as "22,80,8000-8100". Nomad reserves nothing by
	// default.
	Reserved structs.NodeResources
	// Drivers are the task drivers the node offers besides raw_exec, each
	// under its own Name. The agent builds them from its plugin blocks.
	// raw_exec is the client's own: it runs on the node's supervisor, which
	// the client connects to (and starts).
	Drivers []driver.Driver
	// SupervisedDrivers build drivers whose tasks the node's supervisor
	// runs (exec), once the client connected to it.
	SupervisedDrivers []func(sup *supervisor.Client) driver.Driver
	// DisableRawExec leaves raw_exec out of the node's drivers: a job that
	// needs it is not placed here (missing drivers). The agent sets it
	// unless -dev or plugin "raw_exec" { config { enabled = true } }.
	DisableRawExec bool
	// SupervisorCommand starts the node's supervisor when none runs (see
	// package client/supervisor); nil means `<this executable> supervisor
	// -dir <data_dir>/supervisor`.
	SupervisorCommand func() *exec.Cmd
	// EmbeddedSupervisor runs the supervisor inside this process
	// (supervisor.RunEmbedded) instead: for in-process test agents, whose
	// executable is a test binary. Tasks then cannot outlive the process, and
	// Shutdown stops them.
	EmbeddedSupervisor bool
	// StopTasksOnShutdown makes Shutdown stop every task and the supervisor
	// (a dev agent on a temporary data dir, which nothing will restart on).
	// Otherwise tasks whose driver can reattach run on, and the next agent
	// reattaches to them.
	StopTasksOnShutdown bool
	// Servers is how the client calls the servers. Required.
	Servers RPCer
	// Logger defaults to discarding.
	Logger *slog.Logger
	// Metrics is the agent's registry the client defines its series in
	// (client/metrics.go). Default: a registry of its own.
	Metrics *metrics.Registry
	// AgentCalls serves the agent debugging calls about this client's agent
	// (structs.ClientAgentMonitor, ClientAgentProfile; the servers
	// authorized them): it answers on st and sends the frames until ctx
	// ends. Nil: they are refused.
	AgentCalls func(ctx context.Context, method string, args any, st *rpcwire.Stream) error
	// Tracer records the spans of the allocations the servers placed in a
	// trace (Allocation.TraceParent); nil is tracing off.
	Tracer *tracing.Tracer
	// PublishNodeMetrics adds the host's memory and disk gauges
	// (telemetry.publish_node_metrics).
	PublishNodeMetrics bool
	// PublishAllocationMetrics adds the resource usage of every running
	// task (telemetry.publish_allocation_metrics), sampled every
	// CollectionInterval (telemetry.collection_interval; default 1s) by
	// alloc_metrics.go.
	PublishAllocationMetrics bool
	CollectionInterval       time.Duration

	// Tuning; tests shorten these.

	// RetryInterval is the wait after a first failed RPC, doubling on every
	// further failure up to MaxRetryInterval. Default 1s and 30s.
	RetryInterval    time.Duration
	MaxRetryInterval time.Duration
	// AllocUpdateInterval is how long status updates are gathered before they
	// are sent together; a terminal status is sent at once. Default 200ms.
	AllocUpdateInterval time.Duration
	// AllocQueryWait is the MaxQueryTime of the blocking query for the node's
	// allocations. Default 5m.
	AllocQueryWait time.Duration
	// ShutdownFlushTimeout bounds sending the last status updates on Shutdown.
	// Default 2s.
	ShutdownFlushTimeout time.Duration
	// NoHeartbeatJitter makes heartbeats exactly half the TTL apart (tests).
	NoHeartbeatJitter bool
	// Clock times the heartbeat loop: its waits and the node's status
	// time. Default: the real clock; tests pass a clocktest.Fake.
	Clock clock.Clock

	// GC is the garbage collection of terminal allocations (gc.go); zero
	// fields take Nomad's defaults.
	GC GCPolicy

	// gcRanForTest, when set, is called after each periodic collection.
	gcRanForTest func()
}

// DefaultConfig returns the defaults of every optional field.
func DefaultConfig() Config {
	return Config{
		Datacenter:           "dc1",
		RetryInterval:        time.Second,
		MaxRetryInterval:     30 * time.Second,
		AllocUpdateInterval:  200 * time.Millisecond,
		AllocQueryWait:       5 * time.Minute,
		ShutdownFlushTimeout: 2 * time.Second,
		CollectionInterval:   time.Second,
	}
}

// withDefaults returns cfg with its unset optional fields set to the defaults,
// and NodeName to hostname if unset.
func (cfg Config) withDefaults(hostname string) Config {
	d := DefaultConfig()
	if cfg.NodeName == "" {
		cfg.NodeName = hostname
	}
	if cfg.Datacenter == "" {
		cfg.Datacenter = d.Datacenter
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Metrics == nil {
		cfg.Metrics = metrics.NewRegistry(nil)
	}
	if cfg.RetryInterval == 0 {
		cfg.RetryInterval = d.RetryInterval
	}
	if cfg.MaxRetryInterval == 0 {
		cfg.MaxRetryInterval = d.MaxRetryInterval
	}
	if cfg.AllocUpdateInterval == 0 {
		cfg.AllocUpdateInterval = d.AllocUpdateInterval
	}
	if cfg.AllocQueryWait == 0 {
		cfg.AllocQueryWait = d.AllocQueryWait
	}
	if cfg.ShutdownFlushTimeout == 0 {
		cfg.ShutdownFlushTimeout = d.ShutdownFlushTimeout
	}
	if cfg.CollectionInterval == 0 {
		cfg.CollectionInterval = d.CollectionInterval
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real()
	}
	cfg.GC = cfg.GC.withDefaults()
	return cfg
}

// Validate reports every problem of cfg at once. It fills nothing in.
func (cfg Config) Validate() error {
	var errs []error
	if cfg.DataDir == "" {
		errs = append(errs, errors.New("client config: data_dir: required"))
	}
	if cfg.Servers == nil {
		errs = append(errs, errors.New("client config: servers: required (an RPC connection to the servers)"))
	}
	for _, f := range []struct {
		name string
		d    time.Duration
	}{
		{"retry_interval", cfg.RetryInterval}, {"max_retry_interval", cfg.MaxRetryInterval},
		{"alloc_update_interval", cfg.AllocUpdateInterval}, {"alloc_query_wait", cfg.AllocQueryWait},
		{"shutdown_flush_timeout", cfg.ShutdownFlushTimeout}, {"collection_interval", cfg.CollectionInterval},
	} {
		if f.d < 0 {
			errs = append(errs, fmt.Errorf("client config: %s = %v: must not be negative", f.name, f.d))
		}
	}
	errs = append(errs, cfg.validatePorts()...)
	errs = append(errs, cfg.GC.validate()...)
	seen := map[string]bool{}
	for _, d := range cfg.Drivers {
		switch {
		case d.Name() == rawexec.Name:
			errs = append(errs, fmt.Errorf("client config: drivers: %q: must not be given: the client runs it on the node's supervisor", d.Name()))
		case seen[d.Name()]:
			errs = append(errs, fmt.Errorf("client config: drivers: %q given twice", d.Name()))
		}
		seen[d.Name()] = true
	}
	if cfg.MaxRetryInterval > 0 && cfg.RetryInterval > cfg.MaxRetryInterval {
		errs = append(errs, fmt.Errorf("client config: retry_interval = %v: must not exceed max_retry_interval (%v)", cfg.RetryInterval, cfg.MaxRetryInterval))
	}
	return errors.Join(errs...)
}

// validatePorts checks the dynamic port range and the reserved ports.
func (cfg Config) validatePorts() []error {
	var errs []error
	for _, f := range []struct {
		name string
		port int
	}{{"min_dynamic_port", cfg.MinDynamicPort}, {"max_dynamic_port", cfg.MaxDynamicPort}} {
		if f.port != 0 && (f.port < structs.MinPort || f.port > structs.MaxPort) {
			errs = append(errs, fmt.Errorf("client config: %s = %d: must be between %d and %d", f.name, f.port, structs.MinPort, structs.MaxPort))
		}
	}
	lo, hi := (&structs.Node{NodeResources: &structs.NodeResources{MinDynamicPort: cfg.MinDynamicPort, MaxDynamicPort: cfg.MaxDynamicPort}}).DynamicPortRange()
	if lo > hi {
		errs = append(errs, fmt.Errorf("client config: min_dynamic_port = %d: must not exceed max_dynamic_port (%d)", lo, hi))
	}
	if _, err := structs.ParsePortRanges(cfg.Reserved.ReservedHostPorts); err != nil {
		errs = append(errs, fmt.Errorf("client config: reserved.reserved_ports = %q: %w", cfg.Reserved.ReservedHostPorts, err))
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"cpu", cfg.Reserved.CPU}, {"memory", cfg.Reserved.MemoryMB}, {"disk", cfg.Reserved.DiskMB}} {
		if f.v < 0 {
			errs = append(errs, fmt.Errorf("client config: reserved.%s = %d: must be >= 0", f.name, f.v))
		}
	}
	return errs
}
