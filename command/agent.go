package command

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/orch-io/orch/client"
	"github.com/orch-io/orch/command/agent"
)

// agentCommand is `orch agent`: runs a server, a client, or both, until SIGINT
// or SIGTERM, then stops gracefully and exits 0. SIGHUP reloads the TLS
// certificates.
func agentCommand() *cli.Command {
	return &cli.Command{
		Name:      "agent",
		Usage:     "Run an orch agent (server, client, or both)",
		UsageText: "orch agent -dev\n   orch agent -config FILE [options]\n   orch agent -server -bootstrap-expect 3 -join HOST:PORT -data-dir DIR [options]\n   orch agent -client -join HOST:PORT -data-dir DIR [options]\n   orch agent -client -servers HOST:PORT -data-dir DIR [options]",
		Description: "Runs an agent until it receives SIGINT or SIGTERM, then stops it gracefully.\n" +
			"Flags override the config file.\n\nExample:\n   orch agent -dev -data-dir /tmp/orch",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "dev", Usage: "one server and one client in this process on 127.0.0.1, state in a temporary directory unless -data-dir is given"},
			&cli.StringFlag{Name: "config", Usage: "agent configuration `FILE` (HCL)"},
			&cli.BoolFlag{Name: "server", Usage: "run a server"},
			&cli.BoolFlag{Name: "client", Usage: "run a client"},
			&cli.StringSliceFlag{Name: "join", Usage: "gossip `ADDR` (host:port) of an agent to join (servers and clients); repeat or separate with commas"},
			&cli.StringFlag{Name: "servers", Usage: "comma-separated RPC `ADDRS` (host:port) of the servers, for a client-only agent"},
			&cli.IntFlag{Name: "bootstrap-expect", Usage: "`N` servers to wait for before bootstrapping the cluster"},
			&cli.StringFlag{Name: "data-dir", Usage: "`DIR` for the agent's state"},
			&cli.StringFlag{Name: "bind", Usage: "`ADDR` to bind all listeners to"},
			&cli.StringFlag{Name: "dc", Usage: "`DATACENTER` of the agent"},
			&cli.StringFlag{Name: "region", Usage: "`REGION` of the agent"},
			&cli.StringFlag{Name: "node", Usage: "`NAME` of the agent (default: hostname)"},
			&cli.IntFlag{Name: "http-port", Usage: "HTTP API `PORT`"},
			&cli.IntFlag{Name: "rpc-port", Usage: "RPC and Raft `PORT`"},
			&cli.IntFlag{Name: "gossip-port", Usage: "gossip `PORT` (UDP and TCP)"},
			&cli.StringFlag{Name: "log-level", Usage: "`LEVEL`: debug, info, warn, error"},
			&cli.StringFlag{Name: "encrypt", Usage: "gossip encryption `KEY` (base64, 16/24/32 bytes; see operator gossip keyring -generate); servers and clients"},
		},
		Action: runAgent,
	}
}

func runAgent(c *cli.Context) error {
	if c.NArg() > 0 {
		return usageErrorf(c, "orch agent takes no arguments, got %q", c.Args().Slice())
	}
	cfg := agent.DefaultConfig()
	if c.Bool("dev") {
		cfg = agent.DevConfig()
	}
	if path := c.String("config"); path != "" {
		if err := cfg.ApplyFile(path); err != nil {
			return err
		}
	}
	applyAgentFlags(c, cfg)
	cfg.Version = Version
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("invalid agent configuration:\n%w", err)
	}
	logger, err := newLogger(cfg.LogLevel)
	if err != nil {
		return err
	}

	if percent, ok := serverGCPercent(cfg.Server.Enabled, os.Getenv); ok {
		debug.SetGCPercent(percent)
		limit := serverMemoryLimit(os.Getenv, os.ReadFile)
		if limit > 0 {
			debug.SetMemoryLimit(limit)
		}
		logger.Info("server agent: garbage collection target raised (GOGC unset; set it to choose another)",
			"gogc", percent, "soft_memory_limit_mib", limit>>20)
	}

	// Listen for signals before starting, so none is lost in between.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)

	a, err := agent.New(cfg, logger)
	if err != nil {
		return fmt.Errorf("orch agent: %w", err)
	}
	fmt.Fprintf(c.App.Writer, "==> orch agent started: HTTP API at %s\n", a.HTTPURL())
	if cfg.DevMode && cfg.DataDir == "" {
		fmt.Fprintf(c.App.Writer, "==> data dir: %s (temporary: removed, with the tasks, when the agent stops)\n", a.DataDir())
	} else {
		fmt.Fprintf(c.App.Writer, "==> data dir: %s\n", a.DataDir())
	}
	sig := <-sigs
	for sig == syscall.SIGHUP {
		logger.Info("caught SIGHUP, reloading")
		if err := a.Reload(); err != nil {
			logger.Error("reload failed; going on with the previous certificates", "error", err)
		}
		sig = <-sigs
	}
	logger.Info("caught signal, shutting down gracefully", "signal", sig.String())
	if err := a.Shutdown(); err != nil {
		return fmt.Errorf("orch agent: shutdown: %w", err)
	}
	logger.Info("agent stopped")
	return nil
}

// applyAgentFlags lets the flags that were given override the config.
func applyAgentFlags(c *cli.Context, cfg *agent.Config) {
	str := map[string]*string{"data-dir": &cfg.DataDir, "bind": &cfg.BindAddr, "dc": &cfg.Datacenter,
		"region": &cfg.Region, "node": &cfg.NodeName, "log-level": &cfg.LogLevel, "encrypt": &cfg.Server.Encrypt}
	for name, field := range str {
		if c.IsSet(name) {
			*field = c.String(name)
		}
	}
	bools := map[string]*bool{"server": &cfg.Server.Enabled, "client": &cfg.Client.Enabled}
	for name, field := range bools {
		if c.IsSet(name) {
			*field = c.Bool(name)
		}
	}
	if c.IsSet("join") {
		var addrs []string
		for _, v := range c.StringSlice("join") {
			for _, a := range strings.Split(v, ",") {
				if a = strings.TrimSpace(a); a != "" {
					addrs = append(addrs, a)
				}
			}
		}
		cfg.ServerJoin.RetryJoin = addrs
	}
	if c.IsSet("servers") {
		cfg.Client.Servers = strings.Split(c.String("servers"), ",")
	}
	ints := map[string]*int{"bootstrap-expect": &cfg.Server.BootstrapExpect, "http-port": &cfg.Ports.HTTP, "rpc-port": &cfg.Ports.RPC, "gossip-port": &cfg.Ports.Serf}
	for name, field := range ints {
		if c.IsSet(name) {
			*field = c.Int(name)
		}
	}
}

// newLogger returns the agent's structured logger, writing text to stderr.
func newLogger(level string) (*slog.Logger, error) {
	var l slog.Level
	if strings.EqualFold(level, "trace") {
		l = slog.LevelDebug - 4
	} else if err := l.UnmarshalText([]byte(strings.ToUpper(level))); err != nil {
		return nil, fmt.Errorf("log_level = %q: must be one of trace, debug, info, warn, error", level)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l})), nil
}

// defaultServerGCPercent is a server agent's GOGC when the environment sets
// none. A server allocates fast while it places work (every allocation is
// decoded, indexed and copied by each server) over a large live state, and
// at Go's default of 100 collection took about a quarter of its CPU: the 100k
// simulation (make sim, 3 servers on two cores) ran in 53-55 s at 100 and
// 41 s at 200, for about 40% more peak memory (1.25 -> 1.7 GiB on the leader);
// 400 was no faster. Clients keep Go's default: their memory is the tasks'.
const defaultServerGCPercent = 200

// serverGCPercent returns the GOGC a server agent runs with, and whether to
// set it: only for a server, and only when the GOGC variable is unset (an
// operator's choice, GOGC=off included, stands).
func serverGCPercent(server bool, getenv func(string) string) (int, bool) {
	if !server || getenv("GOGC") != "" {
		return 0, false
	}
	return defaultServerGCPercent, true
}

// serverMemoryLimit is the soft memory limit (bytes) a server agent sets with
// its raised GC target, unless GOMEMLIMIT is set: three quarters of the
// memory it may use (its cgroup's limit, else the machine's), so that the
// raised target never takes a large state's heap past what the host holds;
// below it the collector works as GOGC says. 0 when unknown.
func serverMemoryLimit(getenv func(string) string, readFile func(string) ([]byte, error)) int64 {
	if getenv("GOMEMLIMIT") != "" {
		return 0
	}
	var mem int64
	consider := func(n int64) {
		if n > 0 && (mem == 0 || n < mem) {
			mem = n
		}
	}
	// cgroup v2, then v1 ("max" or a huge number: no limit).
	for _, path := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		if b, err := readFile(path); err == nil {
			if n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil && n < 1<<60 {
				consider(n)
			}
		}
	}
	if b, err := readFile("/proc/meminfo"); err == nil {
		if total, err := client.ParseMemTotal(bytes.NewReader(b)); err == nil && total < 1<<62 {
			consider(int64(total))
		}
	}
	return mem / 4 * 3
}
