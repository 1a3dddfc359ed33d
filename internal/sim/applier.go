package sim

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// The leader's time split: what its plan applier and its FSM spent on the
// 100k, read from its metrics (/v1/metrics?format=prometheus, which the
// simulator turns on) at the first submit and once every allocation runs.
// Raft applies entries one at a time on each server, and a plan's commit
// waits for the leader's FSM to have applied it: fsm_busy is how much of
// the run that one goroutine was busy (wall time, waits for a processor
// included).

// leaderSeries are the counters of one scrape, by metric name and the value
// of its type label ("orch_fsm_apply_duration_seconds_sum/ApplyPlanResults").
type leaderSeries map[string]float64

// wanted are the metric families the split reads.
var wanted = []string{"orch_plan_verify_duration_seconds", "orch_plan_commit_duration_seconds",
	"orch_fsm_apply_duration_seconds", "orch_scheduler_eval_duration_seconds"}

// leaderScrape is one reading of the leader's metrics, or why there is none.
type leaderScrape struct {
	leader *server
	series leaderSeries
	err    error
}

// scrapeLeader reads the leader's metrics.
func (r *run) scrapeLeader(ctx context.Context) leaderScrape {
	s, series, err := r.readLeader(ctx)
	return leaderScrape{s, series, err}
}

// readLeader reads the metrics of the server that leads now.
func (r *run) readLeader(ctx context.Context) (*server, leaderSeries, error) {
	s := r.c.leader(ctx, r.admin)
	if s == nil {
		return nil, nil, fmt.Errorf("no leader to read metrics from")
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	url := fmt.Sprintf("http://127.0.0.1:%d/v1/metrics?format=prometheus", s.ports[0])
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("metrics of %s: %w", s.name, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("metrics of %s: %w", s.name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("metrics of %s: %s", s.name, resp.Status)
	}
	out := leaderSeries{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, typ, v, ok := parseSeries(sc.Text())
		if !ok {
			continue
		}
		for _, w := range wanted {
			if strings.HasPrefix(name, w) {
				out[name+"/"+typ] += v
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, nil, fmt.Errorf("metrics of %s: %w", s.name, err)
	}
	return s, out, nil
}

// parseSeries reads one sample line of the Prometheus text format: its
// metric name, the value of its type label ("" without one) and its value.
func parseSeries(line string) (name, typ string, v float64, ok bool) {
	if line == "" || line[0] == '#' {
		return "", "", 0, false
	}
	sp := strings.LastIndexByte(line, ' ')
	if sp < 0 {
		return "", "", 0, false
	}
	v, err := strconv.ParseFloat(line[sp+1:], 64)
	if err != nil {
		return "", "", 0, false
	}
	series := line[:sp]
	name = series
	if i := strings.IndexByte(series, '{'); i >= 0 {
		name = series[:i]
		if j := strings.Index(series, `type="`); j >= 0 {
			rest := series[j+len(`type="`):]
			if k := strings.IndexByte(rest, '"'); k >= 0 {
				typ = rest[:k]
			}
		}
	}
	return name, typ, v, true
}

// steadyLeader is the server that led at both scrapes; nil when either
// failed or the leader changed between them.
func steadyLeader(from, to leaderScrape) *server {
	if from.err != nil || to.err != nil || from.leader != to.leader {
		return nil
	}
	return to.leader
}

// applierSplit adds the figures of the leader's time between two scrapes,
// over wall seconds; it only logs why when either failed or the leader
// changed between them.
func (r *run) applierSplit(from, to leaderScrape, wall float64) {
	switch {
	case from.err != nil:
		r.logf("no split of the leader's time: %v", from.err)
		return
	case to.err != nil:
		r.logf("no split of the leader's time: %v", to.err)
		return
	case from.leader != to.leader:
		r.logf("no split of the leader's time: the leader changed (%s, then %s)", from.leader.name, to.leader.name)
		return
	}
	before, after := from.series, to.series
	d := func(key string) float64 { return after[key] - before[key] }
	mean := func(family, typ string) (float64, float64) {
		n := d(family + "_count/" + typ)
		if n <= 0 {
			return 0, 0
		}
		return d(family+"_sum/"+typ) / n * 1000, n
	}
	plans := d("orch_plan_verify_duration_seconds_count/")
	verify, _ := mean("orch_plan_verify_duration_seconds", "")
	commit, _ := mean("orch_plan_commit_duration_seconds", "")
	fsmPlan, _ := mean("orch_fsm_apply_duration_seconds", "ApplyPlanResults")
	fsmUpdate, updates := mean("orch_fsm_apply_duration_seconds", "AllocClientUpdate")
	evalMs, _ := mean("orch_scheduler_eval_duration_seconds", "service")
	var fsmBusy float64
	for k := range after {
		if strings.HasPrefix(k, "orch_fsm_apply_duration_seconds_sum/") {
			fsmBusy += d(k)
		}
	}
	r.figure("plans", plans, "plans", "plans the leader's applier checked (one Raft entry each)")
	r.figure("plan_verify_ms", verify, "ms", "mean check of a plan against the latest state")
	r.figure("plan_commit_ms", commit, "ms", "mean from a plan's entry sent to Raft to its commit applied by the leader")
	r.figure("fsm_plan_apply_ms", fsmPlan, "ms", "mean apply of a plan's entry by the leader's FSM")
	r.figure("fsm_client_update_apply_ms", fsmUpdate, "ms", "mean apply of an entry of client reports by the leader's FSM")
	if updates > 0 {
		r.figure("client_reports_per_entry", float64(r.cfg.Allocs())/updates, "reports", "running reports per Raft entry (batched by the leader)")
	}
	r.figure("eval_ms", evalMs, "ms", "mean time a worker took per evaluation (scheduling, plans, status)")
	r.figure("fsm_busy", fsmBusy/wall*100, "%", "share of the run the leader's FSM goroutine was applying entries (wall time)")
}

// cpuReading is the CPU time (user + system) each process of the run had
// used at one moment: every server, and the simulator itself. Between two
// readings it says how the machine's cores were shared while placing.
type cpuReading struct {
	servers map[*server]time.Duration // servers whose /proc could be read
	sim     time.Duration
}

// readCPU reads the CPU time of the servers and of this process.
func (r *run) readCPU() cpuReading {
	c := cpuReading{servers: map[*server]time.Duration{}}
	for _, s := range r.c.servers {
		if !s.alive() {
			continue
		}
		if st, err := readProcStat(s.cmd.Process.Pid); err == nil {
			c.servers[s] = st.cpu
		}
	}
	if st, err := readProcStat(os.Getpid()); err == nil {
		c.sim = st.cpu
	}
	return c
}

// cpuSplit adds the cores each part of the run used on average between two
// readings, over wall seconds (first submit → all running): the leader and
// the other servers together (all servers together when no one led at both
// ends), the simulator (its nodes and the harness).
func (r *run) cpuSplit(from, to cpuReading, leader *server, wall float64) {
	if wall <= 0 {
		return
	}
	var leaderCPU, others time.Duration
	for s, end := range to.servers {
		begin, ok := from.servers[s]
		if !ok {
			continue // restarted or unreadable at the start
		}
		if s == leader {
			leaderCPU = end - begin
		} else {
			others += end - begin
		}
	}
	cores := func(d time.Duration) float64 { return d.Seconds() / wall }
	if leader != nil {
		r.figure("cpu_leader", cores(leaderCPU), "cores", "mean cores the leader used, first submit → all running")
		r.figure("cpu_other_servers", cores(others), "cores", "mean cores the other servers used together")
	} else {
		r.figure("cpu_servers", cores(others), "cores", "mean cores the servers used together (the leader changed)")
	}
	r.figure("cpu_sim", cores(to.sim-from.sim), "cores", "mean cores the simulator (its nodes and the harness) used")
}
