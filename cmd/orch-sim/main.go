// Command orch-sim runs orch's cluster-scale simulation (internal/sim): real
// `orch agent -server` processes on loopback and thousands of simulated
// client nodes in this process, and prints the figures.
//
//	orch-sim -orch bin/orch -nodes 5000 -jobs 100 -count 1000 -out docs/
//
// It is a command of its own, not an `orch` subcommand, so that the shipped
// binary carries neither the simulator nor its plotting library.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/orch-io/orch/internal/sim"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "orch-sim:", err)
		os.Exit(1)
	}
}

func run() error {
	cfg := sim.DefaultConfig()
	fs := flag.NewFlagSet("orch-sim", flag.ContinueOnError)
	fs.StringVar(&cfg.OrchBin, "orch", "bin/orch", "`PATH` of the orch binary the servers run")
	fs.StringVar(&cfg.OutDir, "out", ".", "`DIR` for sim.csv and sim.png (\"\" for none)")
	work := fs.String("work-dir", "", "`DIR` for the servers' data and logs (default: a temporary directory, removed after a clean run)")
	fs.IntVar(&cfg.Servers, "servers", cfg.Servers, "real servers: 1 or 3")
	fs.IntVar(&cfg.Nodes, "nodes", cfg.Nodes, "simulated client nodes")
	fs.IntVar(&cfg.Sessions, "sessions", cfg.Sessions, "yamux sessions the nodes share")
	fs.IntVar(&cfg.Jobs, "jobs", cfg.Jobs, "service jobs")
	fs.IntVar(&cfg.Count, "count", cfg.Count, "allocations per job")
	c1m := fs.Bool("c1m", false, "the C1M case: -jobs 1000 -count 1000, invariants not checked")
	fs.Float64Var(&cfg.MaxHeartbeatsPerSecond, "max-heartbeats-per-second", 0, "the servers' max_heartbeats_per_second (0: their default)")
	fs.IntVar(&cfg.RaftMultiplier, "raft-multiplier", 0, "the servers' raft_multiplier (0: their default, 1)")
	fs.IntVar(&cfg.NumSchedulers, "num-schedulers", 0, "the servers' num_schedulers (0: their default, one per core)")
	fs.DurationVar(&cfg.MinHeartbeatTTL, "min-heartbeat-ttl", 0, "the servers' min_heartbeat_ttl (0: their default)")
	fs.DurationVar(&cfg.HeartbeatGrace, "heartbeat-grace", 0, "the servers' heartbeat_grace (0: their default)")
	fs.DurationVar(&cfg.ReconnectGrace, "reconnect-grace", 0, "the servers' reconnect_grace (0: off, their default)")
	fs.BoolVar(&cfg.LeaderKill, "leader-kill", false, "SIGKILL the leader once half the allocations are placed (3 servers)")
	fs.BoolVar(&cfg.NodeLoss, "node-loss", false, "once all run, kill -node-loss-percent of the nodes without leaving")
	fs.Float64Var(&cfg.NodeLossPercent, "node-loss-percent", cfg.NodeLossPercent, "percent of nodes -node-loss kills")
	fs.StringVar(&cfg.NodeLossMode, "node-loss-mode", cfg.NodeLossMode, "how -node-loss kills: exit (the agent's process dies: its kernel closes the connection) or crash (the host falls silent: no FIN, no answer)")
	fs.Float64Var(&cfg.Churn, "churn", 0, "once all run, update or stop this many jobs a second (in turn) for -churn-for, then measure until settled")
	fs.DurationVar(&cfg.ChurnFor, "churn-for", cfg.ChurnFor, "how long -churn lasts")
	fs.DurationVar(&cfg.Steady, "steady", 0, "hold a steady state this long at the end; measures leader CPU and false node-downs")
	fs.DurationVar(&cfg.Profile, "profile", 0, "capture this long a CPU profile of every server from the first submit, and a heap profile once all run, into the work dir (orch built with -tags pprof)")
	fs.BoolVar(&cfg.Check, "check", true, "check the invariants at the end")
	fs.DurationVar(&cfg.SampleInterval, "sample", cfg.SampleInterval, "time series step")
	fs.DurationVar(&cfg.Timeout, "timeout", cfg.Timeout, "bound on the whole run")
	if err := fs.Parse(os.Args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("no arguments expected, got %q", fs.Args())
	}
	if *c1m {
		cfg.Jobs, cfg.Count, cfg.Check = 1000, 1000, false
	}
	bin, err := filepath.Abs(cfg.OrchBin)
	if err != nil {
		return err
	}
	cfg.OrchBin = bin
	cfg.WorkDir = *work
	if cfg.WorkDir == "" {
		if cfg.WorkDir, err = os.MkdirTemp("", "orch-sim-"); err != nil {
			return err
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go hardExit()
	start := time.Now()
	logf := func(format string, args ...any) {
		fmt.Printf("[%6.1fs] %s\n", time.Since(start).Seconds(), fmt.Sprintf(format, args...))
	}
	res, err := sim.Run(ctx, cfg, logf)
	if res != nil {
		sim.WriteSummary(os.Stdout, res)
	}
	if err != nil {
		return fmt.Errorf("%w (server logs in %s)", err, cfg.WorkDir)
	}
	if len(res.Violations) > 0 {
		return fmt.Errorf("%d invariant(s) broken (server logs in %s)", len(res.Violations), cfg.WorkDir)
	}
	if *work == "" {
		os.RemoveAll(cfg.WorkDir)
	}
	return nil
}

// hardExit ends the process when a run interrupted by a signal has not
// stopped 30s later, or at a second signal: a run whose simulated nodes are
// all retrying against servers that stopped answering can take long to
// unwind. Its servers die with it (they are started with Pdeathsig).
func hardExit() {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	<-sigs
	select {
	case <-sigs:
		fmt.Fprintln(os.Stderr, "orch-sim: second signal: exiting now")
	case <-time.After(30 * time.Second):
		fmt.Fprintln(os.Stderr, "orch-sim: not stopped 30s after the signal: exiting now")
	}
	os.Exit(130)
}
