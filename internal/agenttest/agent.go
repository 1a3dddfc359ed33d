package agenttest

import (
	"errors"
	"fmt"
	"github.com/orch-io/orch/internal/freeport"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/command/agent"
	"github.com/orch-io/orch/structs"
)

// readyTimeout bounds how long Start waits for a leader and a registered
// node. Generous: the machine running the tests may be loaded.
const readyTimeout = 60 * time.Second

// Options choose what the agent runs. The zero value is a dev agent's
// server alone, which elects itself at once.
type Options struct {
	// Client adds the client half (raw_exec tasks run as real processes on
	// this machine); Start then also waits until its node is registered and
	// ready.
	Client bool
	// NodeName names the server (and the client's node); empty picks a name
	// unique in the test process.
	NodeName string
	// NoLeader starts a server that waits for two more servers
	// (bootstrap_expect = 3) that never come: it has no leader, ever, so
	// every read without ?stale and every write fails with no_leader.
	NoLeader bool
	// ACL enables ACLs (acl { enabled = true }) and bootstraps them: API
	// then carries the management token, also in ManagementToken.
	ACL bool
	// Logger receives the agent's log; nil discards it.
	Logger *slog.Logger
	// Configure, when set, changes the dev config before the agent starts
	// (telemetry, enable_debug, log level).
	Configure func(*agent.Config)
}

// Agent is a running in-process agent.
type Agent struct {
	// Agent is the agent itself (command/agent), as `orch agent -dev` wires it.
	Agent *agent.Agent
	// URL is the HTTP API's base URL, http://127.0.0.1:port.
	URL string
	// API is a client of the HTTP API at URL.
	API *api.Client
	// NodeID is the client node's ID; empty without Options.Client.
	NodeID string
	// ManagementToken is the bootstrap token's secret with Options.ACL.
	ManagementToken string

	stopOnce sync.Once
	stopErr  error
}

var agentSeq atomic.Int64

// Start starts an agent with opts on 127.0.0.1 with free ports and a temporary
// data directory, waits until it is ready (a leader, unless opts.NoLeader; the
// node registered and ready, with opts.Client) and stops it when the test and
// its subtests end, pass or fail.
func Start(t testing.TB, opts Options) *Agent {
	t.Helper()
	a, err := New(t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := a.Stop(); err != nil {
			t.Errorf("agenttest: stopping the agent: %v", err)
		}
	})
	return a
}

// New is Start for callers without a testing.TB at hand (a TestMain): dataDir
// must exist and outlive the agent, and the caller must call Stop.
func New(dataDir string, opts Options) (*Agent, error) {
	cfg := agent.DevConfig()
	cfg.DataDir = dataDir
	cfg.NodeName = opts.NodeName
	if cfg.NodeName == "" {
		cfg.NodeName = fmt.Sprintf("agenttest-%d", agentSeq.Add(1))
	}
	cfg.Client.Enabled = opts.Client
	// The test binary cannot be started as `orch supervisor`.
	cfg.Client.EmbeddedSupervisor = true
	cfg.ACL.Enabled = opts.ACL
	if opts.NoLeader {
		cfg.Server.BootstrapExpect = 3
	}
	if opts.Configure != nil {
		opts.Configure(cfg)
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	// A free port can be taken by someone else between the probe and the
	// agent's listen: try again with other ports.
	var ag *agent.Agent
	var err error
	for range 3 {
		if cfg.Ports, err = freePorts(); err != nil {
			return nil, err
		}
		if ag, err = agent.New(cfg, logger); err == nil {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("agenttest: starting the agent: %w", err)
	}
	a := &Agent{Agent: ag, URL: "http://" + ag.HTTPAddr()}
	if a.API, err = api.NewClient(&api.Config{Address: a.URL}); err != nil {
		return nil, errors.Join(err, a.Stop())
	}
	if opts.ACL && !opts.NoLeader {
		if err := a.bootstrapACL(); err != nil {
			return nil, errors.Join(err, a.Stop())
		}
	}
	if err := a.waitReady(opts, cfg.NodeName); err != nil {
		return nil, errors.Join(err, a.Stop())
	}
	return a, nil
}

// Stop shuts the agent down (its tasks are stopped with it) and removes
// nothing else; it is safe to call more than once.
func (a *Agent) Stop() error {
	a.stopOnce.Do(func() { a.stopErr = a.Agent.Shutdown() })
	return a.stopErr
}

// bootstrapACL waits for a leader, bootstraps the ACLs and gives API the
// management token.
func (a *Agent) bootstrapACL() error {
	var tok *structs.ACLToken
	err := WaitFor(readyTimeout, func() (bool, string) {
		var err error
		if tok, err = a.API.ACL().Bootstrap(); err != nil {
			return false, fmt.Sprintf("ACL bootstrap failing: %v", err)
		}
		return true, ""
	})
	if err != nil {
		return err
	}
	a.ManagementToken = tok.SecretID
	a.API, err = api.NewClient(&api.Config{Address: a.URL, SecretID: tok.SecretID})
	return err
}

// waitReady polls the HTTP API until the agent is as ready as opts asks.
func (a *Agent) waitReady(opts Options, nodeName string) error {
	return WaitFor(readyTimeout, func() (bool, string) {
		leader, err := a.API.Status().Leader()
		if err != nil {
			return false, fmt.Sprintf("no answer to /v1/status/leader: %v", err)
		}
		if opts.NoLeader {
			return true, ""
		}
		if leader == "" {
			return false, "no leader elected"
		}
		if !opts.Client {
			return true, ""
		}
		nodes, _, err := a.API.Nodes().List(nil)
		if err != nil {
			return false, fmt.Sprintf("listing nodes: %v", err)
		}
		for _, n := range nodes {
			if n.Name == nodeName && n.Status == structs.NodeStatusReady {
				a.NodeID = n.ID
				return true, ""
			}
		}
		return false, fmt.Sprintf("node %q not registered and ready", nodeName)
	})
}

// WaitFor polls cond until it holds or timeout passes; the error then says
// what cond last reported missing.
func WaitFor(timeout time.Duration, cond func() (ok bool, missing string)) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, missing := cond()
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("agenttest: still %s after %v", missing, timeout)
		}
		time.Sleep(10 * time.Millisecond) // poll interval, bounded by the deadline
	}
}

// freePorts picks an HTTP, RPC and gossip port free on 127.0.0.1.
func freePorts() (agent.Ports, error) {
	p, err := freeport.Three()
	if err != nil {
		return agent.Ports{}, fmt.Errorf("agenttest: %w", err)
	}
	return agent.Ports{HTTP: p[0], RPC: p[1], Serf: p[2]}, nil
}
