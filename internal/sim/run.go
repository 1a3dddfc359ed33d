package sim

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/orch-io/orch/client"
	"github.com/orch-io/orch/structs"
)

// Result is what a run measured.
type Result struct {
	Config  Config
	Samples []Sample
	Figures []Figure
	// Violations are the invariants Check found broken (empty when it
	// was not asked for, or all hold).
	Violations []string
	// Checked reports that the invariants were checked.
	Checked bool
}

// Figure is one measured number.
type Figure struct {
	Name  string
	Value float64
	Unit  string
	Note  string // what it measures, for the summary table
}

// Logf receives progress lines.
type Logf func(format string, args ...any)

// Run runs the simulation cfg describes: it starts the servers, registers
// the nodes, submits the jobs, waits until every allocation runs (and, as
// asked, kills the leader, loses nodes, holds a steady state), checks the
// invariants and stops everything it started, whatever happened.
func Run(ctx context.Context, cfg Config, logf Logf) (res *Result, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	r := &run{cfg: &cfg, logf: logf, res: &Result{Config: cfg}}

	if r.c, err = startCluster(&cfg); err != nil {
		return nil, err
	}
	defer r.c.stop()
	defer func() {
		if err != nil && ctx.Err() == nil {
			r.c.dumpStacks()
			logf("the run failed: each server wrote its goroutines' stacks to its log in %s", cfg.WorkDir)
		}
	}()
	if r.admin, err = client.NewRPCClient(r.c.rpcAddrs(0), nil); err != nil {
		return nil, err
	}
	defer r.admin.Close()
	leader, err := r.c.waitLeader(ctx, r.admin)
	if err != nil {
		return nil, err
	}
	logf("cluster of %d server(s) up, leader %s (logs in %s)", cfg.Servers, leader.name, cfg.WorkDir)

	if r.f, err = newFleet(ctx, &cfg, r.c); err != nil {
		return nil, err
	}
	defer r.f.close()
	r.start = time.Now()
	r.smp = &sampler{c: r.c, f: r.f, rpc: r.admin, start: r.start, interval: cfg.SampleInterval}
	sctx, stopSampling := context.WithCancel(ctx)
	var bg sync.WaitGroup
	defer bg.Wait()
	defer stopSampling()
	bg.Add(1)
	go func() { defer bg.Done(); r.smp.run(sctx) }()

	if err := r.scenario(ctx, sctx, &bg); err != nil {
		return r.res, fmt.Errorf("%w (last RPC error of a node: %v)", err, r.f.lastError())
	}
	stopSampling()
	bg.Wait()
	r.smp.take(ctx) // the final point
	r.res.Samples = r.smp.samples()
	r.res.Figures = append(r.res.Figures, Figure{"leader_rss_peak", float64(r.smp.peakRSS()) / (1 << 20), "MiB", "leader resident memory, peak"})
	if cfg.Check {
		r.res.Violations, err = check(ctx, r.admin, &cfg, r.f)
		if err != nil {
			return r.res, err
		}
		r.res.Checked = true
	}
	if cfg.OutDir != "" {
		if err := os.MkdirAll(cfg.OutDir, 0o755); err != nil {
			return r.res, err
		}
		if err := writeCSV(filepath.Join(cfg.OutDir, "sim.csv"), r.res.Samples); err != nil {
			return r.res, err
		}
		if err := plotSeries(filepath.Join(cfg.OutDir, "sim.png"), &cfg, r.res.Samples); err != nil {
			return r.res, err
		}
	}
	return r.res, nil
}

// run is the state of one Run.
type run struct {
	cfg   *Config
	logf  Logf
	res   *Result
	c     *cluster
	admin *client.RPCClient
	f     *fleet
	smp   *sampler
	start time.Time
}

func (r *run) figure(name string, value float64, unit, note string) {
	r.res.Figures = append(r.res.Figures, Figure{name, value, unit, note})
	r.logf("%s = %s %s", name, formatValue(value), unit)
}

// scenario is the sequence of phases; sctx ends with sampling.
func (r *run) scenario(ctx, sctx context.Context, bg *sync.WaitGroup) error {
	cfg := r.cfg
	t := time.Now()
	if err := r.f.registerAll(); err != nil {
		return err
	}
	r.figure("register_seconds", time.Since(t).Seconds(), "s", fmt.Sprintf("%d nodes registered (64 at a time)", cfg.Nodes))
	downs := &nodeDownWatcher{rpc: r.admin, f: r.f}
	downs.mu.falseDown = map[string]bool{}
	bg.Add(1)
	go func() { defer bg.Done(); downs.run(sctx) }()

	// Submit every job at once, 8 calls in flight; the clock runs from the
	// first submit.
	submitted := time.Now()
	killDone := make(chan error, 1)
	if cfg.LeaderKill {
		go func() { killDone <- r.killLeaderAtHalf(ctx) }()
	}
	if cfg.Profile > 0 {
		bg.Add(1)
		go func() { defer bg.Done(); r.profileServers(ctx, "profile", "cpu.pprof", cfg.Profile) }()
		bg.Add(1)
		go func() { defer bg.Done(); r.profileSelf(ctx) }()
	}
	before, cpuBefore := r.scrapeLeader(ctx), r.readCPU()
	if err := r.submitJobs(ctx); err != nil {
		return err
	}
	r.figure("submit_seconds", time.Since(submitted).Seconds(), "s", fmt.Sprintf("%d jobs registered", cfg.Jobs))
	placed, err := r.waitFor(ctx, "every allocation placed", func() bool { return r.f.placed.Load() >= int64(cfg.Allocs()) })
	if err != nil {
		return err
	}
	running, err := r.waitFor(ctx, "every allocation running", func() bool { return r.f.running.Load() >= int64(cfg.Allocs()) })
	if err != nil {
		return err
	}
	total := running.Sub(submitted).Seconds()
	r.figure("submit_to_all_placed", placed.Sub(submitted).Seconds(), "s", "first submit → every allocation handed to its node")
	r.figure("submit_to_all_running", total, "s", "first submit → every allocation reported running")
	r.figure("placement_rate", float64(cfg.Allocs())/total, "allocs/s", "allocations running per second, end to end")
	after := r.scrapeLeader(ctx)
	r.applierSplit(before, after, total)
	r.cpuSplit(cpuBefore, r.readCPU(), steadyLeader(before, after), total)
	if cfg.LeaderKill {
		if err := <-killDone; err != nil {
			return err
		}
	}
	if cfg.Profile > 0 {
		r.profileServers(ctx, "heap", "heap.pprof", 0)
	}
	used := len(r.f.runningByNode())
	r.figure("nodes_used", float64(used), "nodes", "nodes running at least one allocation")

	if cfg.Churn > 0 {
		if err := r.churn(ctx); err != nil {
			return err
		}
	}
	if cfg.NodeLoss {
		if err := r.loseNodes(ctx); err != nil {
			return err
		}
	}
	if cfg.Steady > 0 {
		if err := r.steady(ctx); err != nil {
			return err
		}
	}
	r.figure("heartbeat_ttl", time.Duration(r.f.ttl.Load()).Seconds(), "s", "the TTL the leader handed out last")
	r.figure("false_node_downs", float64(downs.falseDowns()), "nodes", "nodes marked down that were not killed, whole run")
	r.figure("rpc_errors", float64(r.f.rpcErrors.Load()), "calls", "failed calls of the simulated nodes (retried)")
	if err := r.f.lastError(); err != nil {
		r.logf("last RPC error of a node: %v", err)
	}
	r.figure("allocs_fetched", float64(r.f.allocsFetched.Load()), "allocs", "allocations the nodes fetched (new or changed by the servers only)")
	return nil
}

// waitFor polls cond until it holds and returns when it first did.
func (r *run) waitFor(ctx context.Context, what string, cond func() bool) (time.Time, error) {
	for {
		if cond() {
			return time.Now(), nil
		}
		select {
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("waiting for %s: %w (placed %d, running %d of %d)",
				what, ctx.Err(), r.f.placed.Load(), r.f.running.Load(), r.cfg.Allocs())
		case <-time.After(20 * time.Millisecond): // poll interval
		}
	}
}

// simJob is job i of the run: one group of count allocations, each asking
// 100 MHz, 128 MB and 10 MB of disk.
func simJob(i, count int) *structs.Job {
	id := fmt.Sprintf("sim-%04d", i)
	return &structs.Job{
		Region: structs.DefaultRegion, Namespace: structs.DefaultNamespace,
		ID: id, Name: id, Type: structs.JobTypeService, Priority: structs.DefaultJobPriority,
		Datacenters: []string{"dc1", "dc2", "dc3"},
		TaskGroups: []*structs.TaskGroup{{
			Name:  "app",
			Count: count,
			Tasks: []*structs.Task{{
				Name:      "app",
				Driver:    "raw_exec",
				Config:    map[string]any{"command": "/bin/true"},
				Resources: &structs.Resources{CPU: jobCPU, MemoryMB: jobMemoryMB},
			}},
			EphemeralDisk: &structs.EphemeralDisk{SizeMB: jobDiskMB},
		}},
	}
}

const (
	jobCPU      = 100
	jobMemoryMB = 128
	jobDiskMB   = 10
)

// submitJobs registers every job, 8 at a time.
func (r *run) submitJobs(ctx context.Context) error {
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for i := range r.cfg.Jobs {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return ctx.Err()
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			err := r.registerJob(ctx, simJob(i, r.cfg.Count))
			if err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// callRetried makes a write with one request ID, retried up to 20 times
// (each within 30s) across a failover: applied at most once.
func (r *run) callRetried(ctx context.Context, method string, req interface{ SetRequestID(string) }, reply any) error {
	req.SetRequestID(structs.GenerateUUID())
	var err error
	for attempt := 0; attempt < 20; attempt++ {
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err = r.admin.RPC(cctx, method, req, reply)
		cancel()
		if err == nil || ctx.Err() != nil {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(250 * time.Millisecond): // retry pause across a failover
		}
	}
	return err
}

// killLeaderAtHalf SIGKILLs the leader once half the allocations are placed
// and measures until the first allocation placed after it (scheduling
// resumed under the new leader).
func (r *run) killLeaderAtHalf(ctx context.Context) error {
	if _, err := r.waitFor(ctx, "half the allocations placed", func() bool { return r.f.placed.Load() >= int64(r.cfg.Allocs()/2) }); err != nil {
		return err
	}
	victim := r.c.leader(ctx, r.admin)
	if victim == nil {
		return errors.New("leader kill: no leader known")
	}
	if r.f.placed.Load() >= int64(r.cfg.Allocs()) {
		r.logf("leader kill: every allocation was placed before the kill; nothing to measure")
		return nil
	}
	// The victim's last Raft index: an allocation created after it comes
	// from a plan the new leader committed (entries the victim appended
	// but did not commit have lower indexes).
	index, err := r.c.lastIndex(ctx, victim)
	if err != nil {
		return fmt.Errorf("leader kill: %w", err)
	}
	killed := time.Now()
	r.f.setMark(killed, index)
	victim.kill()
	r.logf("leader %s killed at %d placed", victim.name, r.f.placed.Load())
	newLeader, err := r.c.waitLeader(ctx, r.admin)
	if err != nil {
		return err
	}
	elected := time.Since(killed)
	if _, err := r.waitFor(ctx, "a placement after the leader kill", func() bool { return !r.f.firstPlacedAfterMark().IsZero() }); err != nil {
		return err
	}
	r.figure("leader_kill_to_new_leader", elected.Seconds(), "s", "leader SIGKILLed mid-run → a new leader answers ("+newLeader.name+")")
	r.figure("leader_kill_to_first_placement", r.f.firstPlacedAfterMark().Sub(killed).Seconds(), "s", "leader SIGKILLed mid-run → first allocation of the new leader's plans handed to a node")
	return nil
}

// nodeLossTrace is how long the execution traces of a node loss run (with
// -profile).
const nodeLossTrace = 10 * time.Second

// loseNodes kills NodeLossPercent of the nodes (those running allocations
// first) without a leave, and measures until their allocations run
// elsewhere: p50, p99 and all.
func (r *run) loseNodes(ctx context.Context) error {
	byNode := r.f.runningByNode()
	var candidates []*simNode
	for _, n := range r.f.nodes {
		if byNode[n] > 0 {
			candidates = append(candidates, n)
		}
	}
	k := int(math.Ceil(float64(len(r.f.nodes)) * r.cfg.NodeLossPercent / 100))
	k = min(k, len(candidates))
	victims := candidates[:k]
	if err := r.c.waitSettled(ctx, r.admin, 12*time.Second); err != nil {
		return err
	}
	addrs := r.c.rpcAddrs(0)
	for i, n := range victims {
		if err := n.isolate(ctx, addrs[i%len(addrs)]); err != nil {
			return fmt.Errorf("node loss: giving %s a connection of its own: %w", n.node.Name, err)
		}
	}
	if r.cfg.Profile > 0 {
		// What the servers do from the kill until the lost allocations
		// run elsewhere: an execution trace (go tool trace) and a CPU
		// profile of each.
		var traced sync.WaitGroup
		defer traced.Wait()
		traced.Go(func() { r.profileServers(ctx, "trace", "node-loss.trace", nodeLossTrace) })
		traced.Go(func() { r.profileServers(ctx, "profile", "node-loss.cpu.pprof", nodeLossTrace) })
	}
	killed := time.Now()
	r.f.setMark(killed, 0)
	lost := r.f.killNodes(victims, r.cfg.NodeLossMode)
	r.logf("node loss (%s): %d nodes killed without leaving, %d allocations lost", r.cfg.NodeLossMode, k, lost)
	if lost == 0 {
		return nil
	}
	if _, err := r.waitFor(ctx, "the lost allocations running elsewhere", func() bool { return r.f.running.Load() >= int64(r.cfg.Allocs()) }); err != nil {
		return err
	}
	at := func(times []time.Time, q float64) float64 {
		if len(times) == 0 {
			return 0
		}
		i := min(len(times)-1, max(0, int(math.Ceil(q*float64(lost)))-1))
		return times[i].Sub(killed).Seconds()
	}
	running := r.f.runningAfterMarkTimes()
	created, handed := r.f.placedAfterMarkTimes()
	r.figure("node_loss_p50", at(running, 0.50), "s", fmt.Sprintf("%d%% of nodes killed without leaving → half their allocations running elsewhere", int(r.cfg.NodeLossPercent)))
	r.figure("node_loss_p99", at(running, 0.99), "s", "… 99% of them")
	r.figure("node_loss_all", at(running, 1), "s", fmt.Sprintf("… all %d of them", lost))
	r.figure("node_loss_committed_p50", at(created, 0.50), "s", "… half their replacements committed by the servers (allocation CreateTime)")
	r.figure("node_loss_committed_p99", at(created, 0.99), "s", "… 99% of them")
	r.figure("node_loss_handed_p99", at(handed, 0.99), "s", "… 99% of them handed to their nodes")
	return nil
}

// steady holds the cluster idle for cfg.Steady and measures the leader's CPU
// and the heartbeat rate over it.
func (r *run) steady(ctx context.Context) error {
	leader, err := r.c.waitLeader(ctx, r.admin)
	if err != nil {
		return err
	}
	pid := leader.cmd.Process.Pid
	before, err := readProcStat(pid)
	if err != nil {
		return err
	}
	beats := r.f.heartbeats.Load()
	t := time.Now()
	r.logf("steady state for %s", r.cfg.Steady)
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(r.cfg.Steady): // the measured period itself
	}
	after, err := readProcStat(pid)
	if err != nil {
		return err
	}
	secs := time.Since(t).Seconds()
	r.figure("leader_cpu_steady", 100*(after.cpu-before.cpu).Seconds()/secs, "%core", fmt.Sprintf("leader CPU at steady state, %d nodes, no churn (sampler included)", r.cfg.Nodes))
	r.figure("heartbeats_per_second", float64(r.f.heartbeats.Load()-beats)/secs, "1/s", "heartbeats answered per second at steady state")
	r.figure("leader_rss_steady", float64(after.rssBytes)/(1<<20), "MiB", "leader resident memory at steady state")
	return nil
}

// formatValue prints a figure's value with the precision it deserves.
func formatValue(v float64) string {
	switch {
	case v == math.Trunc(v) && math.Abs(v) < 1e15:
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 100:
		return fmt.Sprintf("%.0f", v)
	default:
		return fmt.Sprintf("%.3g", v)
	}
}
