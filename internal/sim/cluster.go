package sim

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/orch-io/orch/client"
	"github.com/orch-io/orch/internal/freeport"
	"github.com/orch-io/orch/structs"
)

// server is one `orch agent -server` process of the simulated cluster.
type server struct {
	name    string
	dataDir string
	logPath string
	ports   [3]int // http, rpc, gossip
	// pprofPort serves Go's profiles (Config.Profile), 0 when not asked.
	pprofPort int
	cmd       *exec.Cmd
	exited    chan struct{}
}

func (s *server) rpcAddr() string    { return fmt.Sprintf("127.0.0.1:%d", s.ports[1]) }
func (s *server) gossipAddr() string { return fmt.Sprintf("127.0.0.1:%d", s.ports[2]) }

// alive reports whether the process has not exited.
func (s *server) alive() bool {
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// cluster is the servers of one run. stop ends every process, whatever
// happened before.
type cluster struct {
	servers []*server
}

// startCluster starts cfg.Servers servers on free loopback ports, all
// bootstrapping together (bootstrap_expect) on their own data dirs under
// cfg.WorkDir. On error every process already started is stopped.
func startCluster(cfg *Config) (*cluster, error) {
	c := &cluster{}
	if err := os.MkdirAll(cfg.WorkDir, 0o755); err != nil {
		return nil, err
	}
	confPath := filepath.Join(cfg.WorkDir, "server.hcl")
	conf := "server {\n"
	if cfg.MaxHeartbeatsPerSecond > 0 {
		conf += fmt.Sprintf("  max_heartbeats_per_second = %g\n", cfg.MaxHeartbeatsPerSecond)
	}
	if cfg.NumSchedulers > 0 {
		conf += fmt.Sprintf("  num_schedulers = %d\n", cfg.NumSchedulers)
	}
	if cfg.RaftMultiplier > 0 {
		conf += fmt.Sprintf("  raft_multiplier = %d\n", cfg.RaftMultiplier)
	}
	if cfg.MinHeartbeatTTL > 0 {
		conf += fmt.Sprintf("  min_heartbeat_ttl = %q\n", cfg.MinHeartbeatTTL.String())
	}
	if cfg.HeartbeatGrace > 0 {
		conf += fmt.Sprintf("  heartbeat_grace = %q\n", cfg.HeartbeatGrace.String())
	}
	if cfg.ReconnectGrace > 0 {
		conf += fmt.Sprintf("  reconnect_grace = %q\n", cfg.ReconnectGrace.String())
	}
	conf += "}\n"
	// The servers' metrics at /v1/metrics?format=prometheus: what the
	// simulator's summary reads of the plan applier and the workers.
	conf += "telemetry {\n  prometheus_metrics = true\n}\n"
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	for i := range cfg.Servers {
		name := fmt.Sprintf("s%d", i+1)
		s := &server{name: name, dataDir: filepath.Join(cfg.WorkDir, name)}
		s.logPath = s.dataDir + ".log"
		c.servers = append(c.servers, s)
	}
	for i, s := range c.servers {
		join := "" // the first server: itself
		if i > 0 {
			join = c.servers[0].gossipAddr()
		}
		if err := s.startListening(cfg, confPath, len(c.servers), join); err != nil {
			c.stop()
			return nil, err
		}
	}
	return c, nil
}

// startListening starts the server on free ports and waits until its RPC
// port answers. The ports were free when picked, but a process may take one
// before the server binds it (the servers already running dial out from
// ephemeral ports): a server that exits because a port is taken starts
// again on others.
func (s *server) startListening(cfg *Config, confPath string, expect int, join string) error {
	for attempt := 1; ; attempt++ {
		ports, err := freeport.Three()
		if err != nil {
			return err
		}
		s.ports, s.exited = ports, make(chan struct{})
		if cfg.Profile > 0 {
			more, err := freeport.Three()
			if err != nil {
				return err
			}
			s.pprofPort = more[0]
		}
		to := join
		if to == "" {
			to = s.gossipAddr()
		}
		if err := s.start(cfg.OrchBin, confPath, expect, to); err != nil {
			return err
		}
		err = s.waitListening(30 * time.Second)
		if err == nil {
			return nil
		}
		s.kill()
		log, _ := os.ReadFile(s.logPath)
		if attempt < 5 && strings.Contains(string(log), "address already in use") {
			continue
		}
		return fmt.Errorf("server %s: %w; its log:\n%s", s.name, err, log)
	}
}

// waitListening waits until the server's RPC port accepts a connection, or
// fails when the server exits or timeout passes first.
func (s *server) waitListening(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		conn, err := net.DialTimeout("tcp", s.rpcAddr(), time.Second)
		if err == nil {
			conn.Close()
			return nil
		}
		select {
		case <-s.exited:
			return errors.New("exited at start")
		case <-time.After(50 * time.Millisecond): // poll interval
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("RPC port %d not listening after %s", s.ports[1], timeout)
		}
	}
}

// start runs the server's process; its output goes to its log file.
func (s *server) start(bin, confPath string, expect int, join string) error {
	if err := os.MkdirAll(s.dataDir, 0o755); err != nil {
		return err
	}
	logf, err := os.Create(s.logPath)
	if err != nil {
		return err
	}
	s.cmd = exec.Command(bin, "agent", "-server", "-config", confPath,
		"-bootstrap-expect", strconv.Itoa(expect), "-bind", "127.0.0.1", "-node", s.name,
		"-data-dir", s.dataDir, "-join", join, "-log-level", "warn",
		"-http-port", strconv.Itoa(s.ports[0]), "-rpc-port", strconv.Itoa(s.ports[1]), "-gossip-port", strconv.Itoa(s.ports[2]))
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	// A simulator that dies (SIGKILL, a crash) takes its servers with it:
	// left running, they would load the machine under the next run.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if s.pprofPort != 0 {
		s.cmd.Env = append(os.Environ(), fmt.Sprintf("ORCH_PPROF_ADDR=127.0.0.1:%d", s.pprofPort))
	}
	if err := s.cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("starting server %s: %w", s.name, err)
	}
	go func() {
		_ = s.cmd.Wait()
		logf.Close()
		close(s.exited)
	}()
	return nil
}

// kill SIGKILLs the server and waits for it to exit.
func (s *server) kill() {
	if s.alive() {
		_ = s.cmd.Process.Kill()
	}
	<-s.exited
}

// dumpStacks makes every live server write its goroutines' stacks to its
// log and exit (Go's SIGQUIT), so that a failed run leaves what each server
// was doing.
func (c *cluster) dumpStacks() {
	for _, s := range c.servers {
		if s.cmd != nil && s.alive() {
			_ = s.cmd.Process.Signal(syscall.SIGQUIT)
		}
	}
}

// stop ends every server: SIGTERM, then SIGKILL after 30s.
func (c *cluster) stop() {
	for _, s := range c.servers {
		if s.cmd != nil && s.alive() {
			_ = s.cmd.Process.Signal(syscall.SIGTERM)
		}
	}
	for _, s := range c.servers {
		if s.cmd == nil {
			continue
		}
		select {
		case <-s.exited:
		case <-time.After(30 * time.Second):
			s.kill()
		}
	}
}

// rpcAddrs are the servers' RPC addresses, rotated by k so that sessions
// spread over the servers.
func (c *cluster) rpcAddrs(k int) []string {
	addrs := make([]string, len(c.servers))
	for i := range c.servers {
		addrs[i] = c.servers[(i+k)%len(c.servers)].rpcAddr()
	}
	return addrs
}

// byRPCAddr returns the server with that RPC address, nil if none.
func (c *cluster) byRPCAddr(addr string) *server {
	for _, s := range c.servers {
		if s.rpcAddr() == addr {
			return s
		}
	}
	return nil
}

// leader asks the servers still running who leads; nil while none does.
func (c *cluster) leader(ctx context.Context, rpc *client.RPCClient) *server {
	var addr string
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := rpc.RPC(cctx, "Status.Leader", &structs.GenericRequest{}, &addr); err != nil || addr == "" {
		return nil
	}
	if s := c.byRPCAddr(addr); s != nil && s.alive() {
		return s
	}
	return nil
}

// waitLeader waits until a running server leads and every running server
// follows it.
func (c *cluster) waitLeader(ctx context.Context, rpc *client.RPCClient) (*server, error) {
	for {
		if s := c.leader(ctx, rpc); s != nil {
			return s, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for a leader: %w (server logs in %s)", ctx.Err(), filepath.Dir(c.servers[0].logPath))
		case <-time.After(100 * time.Millisecond): // poll interval
		}
	}
}

// waitSettled waits until the same server has led for settle: the servers
// do not act on lost client connections for 10 s after a leader change
// (server/session_liveness.go), and a fault injected before would measure
// the TTL instead.
func (c *cluster) waitSettled(ctx context.Context, rpc *client.RPCClient, settle time.Duration) error {
	var leader *server
	since := time.Now()
	for {
		s, err := c.waitLeader(ctx, rpc)
		if err != nil {
			return err
		}
		if s != leader {
			leader, since = s, time.Now()
		}
		if time.Since(since) >= settle {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for a settled leader: %w", ctx.Err())
		case <-time.After(200 * time.Millisecond): // poll interval
		}
	}
}

// procStat is what /proc tells of a process: resident memory and CPU time.
type procStat struct {
	rssBytes int64
	cpu      time.Duration // user + system
}

// readProcStat reads /proc/<pid>/stat (utime, stime in clock ticks of
// 1/100 s, rss in pages).
func readProcStat(pid int) (procStat, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, err
	}
	// The command name (field 2) is in parentheses and may hold spaces.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return procStat{}, errors.New("sim: /proc/<pid>/stat: no command name")
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); utime is field 14, stime 15, rss 24.
	if len(f) < 22 {
		return procStat{}, errors.New("sim: /proc/<pid>/stat: too few fields")
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	rss, _ := strconv.ParseInt(f[21], 10, 64)
	const clockTick = 10 * time.Millisecond // USER_HZ is 100 on Linux
	return procStat{rssBytes: rss * int64(os.Getpagesize()), cpu: time.Duration(utime+stime) * clockTick}, nil
}

// lastIndex asks s itself (a connection of its own, not forwarded) for the
// last index of its Raft log.
func (c *cluster) lastIndex(ctx context.Context, s *server) (uint64, error) {
	rpc, err := client.NewRPCClient([]string{s.rpcAddr()}, nil)
	if err != nil {
		return 0, err
	}
	defer rpc.Close()
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var stats structs.RaftStatsResponse
	if err := rpc.RPC(cctx, "Status.RaftStats", &structs.GenericRequest{}, &stats); err != nil {
		return 0, fmt.Errorf("Status.RaftStats of %s: %w", s.name, err)
	}
	return stats.LastIndex, nil
}
