package agenttest

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
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
	// Logger receives the agent's log; nil discards it.
	Logger *slog.Logger
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
	if opts.NoLeader {
		cfg.Server.BootstrapExpect = 3
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

// freePorts picks an HTTP, RPC and gossip port free for TCP (and, for the
// gossip port, UDP) on 127.0.0.1.
func freePorts() (agent.Ports, error) {
	var got []int
	var held []net.Listener
	defer func() {
		for _, l := range held {
			l.Close()
		}
	}()
	for attempts := 0; len(got) < 3; attempts++ {
		if attempts == 20 {
			return agent.Ports{}, errors.New("agenttest: no free ports on 127.0.0.1")
		}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return agent.Ports{}, fmt.Errorf("agenttest: probing for a free port: %w", err)
		}
		held = append(held, l)
		u, err := net.ListenPacket("udp", l.Addr().String())
		if err != nil {
			continue // the UDP side is taken: memberlist needs both
		}
		u.Close()
		got = append(got, l.Addr().(*net.TCPAddr).Port)
	}
	return agent.Ports{HTTP: got[0], RPC: got[1], Serf: got[2]}, nil
}
