package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/orch-io/orch/client"
	"github.com/orch-io/orch/server"
	"github.com/orch-io/orch/structs"
)

// Agent is one orch agent process: a server, a client, or both, and the HTTP API.
type Agent struct {
	cfg    *Config
	logger *slog.Logger

	server *server.Server
	client *client.Client
	http   *HTTPServer

	// tmpDataDir is removed on shutdown: dev mode without -data-dir.
	tmpDataDir string
}

// New starts an agent from a validated config: the server first (the client
// registers with it), then the client, then the HTTP API. On error everything
// started so far is stopped again.
func New(cfg *Config, logger *slog.Logger) (a *Agent, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if !cfg.Server.Enabled {
		// TODO(#3): client-only agents find the servers through gossip.
		return nil, errors.New("agent: a client-only agent is not supported yet: enable the server too (server { enabled = true }) or use -dev")
	}
	a = &Agent{cfg: cfg, logger: logger}
	defer func() {
		if err != nil {
			a.Shutdown()
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
	logger.Info("starting agent", "data_dir", dataDir, "bind", cfg.BindAddr, "dev", cfg.DevMode,
		"server", cfg.Server.Enabled, "client", cfg.Client.Enabled)

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
	sc.Logger = logger // the server names its components itself
	if a.server, err = server.NewServer(sc); err != nil {
		return nil, err
	}
	httpAddr := net.JoinHostPort(cfg.BindAddr, strconv.Itoa(cfg.Ports.HTTP))
	if cfg.Client.Enabled {
		a.client, err = client.NewClient(client.Config{
			DataDir:    dataDir,
			NodeName:   cfg.NodeName,
			Datacenter: cfg.Datacenter,
			Region:     cfg.Region,
			NodePool:   cfg.Client.NodePool,
			HTTPAddr:   httpAddr,
			Servers:    a.server, // in process: the same endpoints the network RPC reaches
			Logger:     logger.With("component", "client"),
		})
		if err != nil {
			return nil, err
		}
	}
	if a.http, err = NewHTTPServer(httpAddr, backend{a}, logger); err != nil {
		return nil, err
	}
	logger.Info("agent started", "http", a.http.Addr(), "rpc", a.server.RPCAddr())
	return a, nil
}

// HTTPAddr is the address the HTTP API listens on.
func (a *Agent) HTTPAddr() string { return a.http.Addr() }

// Shutdown stops the agent gracefully: the HTTP API, then the client (which
// stops its tasks cleanly), then the server. It returns the first error.
func (a *Agent) Shutdown() error {
	var errs []error
	if a.http != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		errs = append(errs, a.http.Shutdown(ctx))
		cancel()
	}
	if a.client != nil {
		errs = append(errs, a.client.Shutdown())
	}
	if a.server != nil {
		errs = append(errs, a.server.Shutdown())
	}
	if a.tmpDataDir != "" {
		errs = append(errs, os.RemoveAll(a.tmpDataDir))
	}
	return errors.Join(errs...)
}

// backend is what the HTTP API sees of the agent.
type backend struct{ a *Agent }

func (b backend) RPC(method string, args, reply any) error {
	return b.a.server.RPC(method, args, reply)
}

func (b backend) Members() *structs.AgentMembersResponse { return b.a.server.Members() }

func (b backend) Health() *structs.AgentHealthResponse {
	h := &structs.AgentHealthResponse{Server: b.a.server.Health()}
	if c := b.a.client; c != nil {
		h.Client = &structs.AgentHealth{Ok: true, Message: "ok"}
		if !c.Registered() {
			h.Client = &structs.AgentHealth{Message: "the node has not registered with the servers yet"}
		}
	}
	return h
}
