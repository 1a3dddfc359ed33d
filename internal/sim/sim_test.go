package sim

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/orch-io/orch/internal/testbin"
	"github.com/orch-io/orch/structs"
)

// orchBin is the binary the simulated cluster's servers run, built once by
// TestMain.
var orchBin string

func TestMain(m *testing.M) {
	wd, _ := os.Getwd()
	bin, remove, err := testbin.Build(filepath.Join(wd, "..", "..")) // tests run in internal/sim
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	orchBin = bin
	code := m.Run()
	remove()
	os.Exit(code)
}

// TestSmallSimulation runs 200 simulated nodes against a real server and
// places 5,000 allocations (10 jobs × 500), then kills 1% of the nodes
// without a leave (their agents killed): the invariants
// must hold at the end — no node over-committed, every allocation running
// exactly once on the node that reported it, every evaluation terminal —
// the lost allocations must run elsewhere, and the nodes must have fetched
// each allocation about once (their watch fetches only what changed).
//
// It takes about 20 s with or without -race. It used to take minutes under
// -race: each node re-read all its allocations with their jobs on every
// change, the race-instrumented simulator could not keep up, its
// heartbeats came late, nodes were marked down and the churn fed itself.
func TestSmallSimulation(t *testing.T) {
	cfg := DefaultConfig()
	cfg.OrchBin, cfg.WorkDir, cfg.OutDir = orchBin, t.TempDir(), t.TempDir()
	cfg.Servers, cfg.Nodes, cfg.Sessions, cfg.Jobs, cfg.Count = 1, 200, 4, 10, 500
	cfg.NodeLoss, cfg.Check = true, true
	// The TTL is an hour: a lost node (its agent killed, the connection
	// closed by its kernel) can only be found by its connection and
	// reconnect_grace.
	cfg.MinHeartbeatTTL, cfg.HeartbeatGrace, cfg.ReconnectGrace = time.Hour, time.Hour, time.Second
	cfg.Timeout = 4 * time.Minute // fail with the servers' log, before go test's own timeout
	var log bytes.Buffer
	res, err := Run(context.Background(), cfg, func(format string, args ...any) {
		fmt.Fprintf(&log, format+"\n", args...)
	})
	if res != nil {
		var sum bytes.Buffer
		WriteSummary(&sum, res)
		t.Log(sum.String())
	}
	if err != nil {
		t.Logf("progress:\n%s", log.String())
		for _, name := range []string{"s1.log"} {
			b, _ := os.ReadFile(filepath.Join(cfg.WorkDir, name))
			t.Logf("%s (tail):\n%s", name, tail(b, 8000))
		}
		t.Fatal(err)
	}
	if len(res.Violations) > 0 {
		t.Fatalf("invariants broken:\n%s", strings.Join(res.Violations, "\n"))
	}
	// Each allocation is fetched when placed (the lost ones' replacements
	// too) and again only if the servers change it; re-reading every
	// allocation on each change, as before, fetched over ten times more.
	if fetched := figureValue(res, "allocs_fetched"); fetched < float64(cfg.Allocs()) || fetched > 2*float64(cfg.Allocs()) {
		t.Errorf("the nodes fetched %.0f allocations, want about %d (each once, twice at most if the servers changed it)", fetched, cfg.Allocs())
	}
	// The leader's split, from its metrics: a plan at least per job, every
	// report in some entry, the FSM busy some of the time and never more.
	if plans := figureValue(res, "plans"); plans < float64(cfg.Jobs) {
		t.Errorf("plans = %.0f, want at least one per job (%d)", plans, cfg.Jobs)
	}
	if per := figureValue(res, "client_reports_per_entry"); per < 1 || per > float64(cfg.Allocs()) {
		t.Errorf("client_reports_per_entry = %.1f, want between 1 and %d", per, cfg.Allocs())
	}
	if busy := figureValue(res, "fsm_busy"); busy <= 0 || busy > 100 {
		t.Errorf("fsm_busy = %.1f%%, want more than 0 and at most 100", busy)
	}
	// The machine's cores, shared: each part used some, none more than all.
	for _, name := range []string{"cpu_leader", "cpu_sim"} {
		if cores := figureValue(res, name); cores <= 0 || cores > float64(runtime.NumCPU()) {
			t.Errorf("%s = %.2f cores, want more than 0 and at most %d", name, cores, runtime.NumCPU())
		}
	}
	if len(res.Samples) == 0 {
		t.Fatal("no sample in the time series")
	}
	if last := res.Samples[len(res.Samples)-1]; last.Running != int64(cfg.Allocs()) {
		t.Fatalf("last sample: %d running, want %d", last.Running, cfg.Allocs())
	}
	for _, f := range []string{"sim.csv", "sim.png"} {
		if st, err := os.Stat(filepath.Join(cfg.OutDir, f)); err != nil || st.Size() == 0 {
			t.Fatalf("%s not written: %v", f, err)
		}
	}
}

// TestChurnSimulation updates and stops jobs at a rate once everything runs
// (-churn): the cluster must settle again, every job with all its
// allocations running exactly once and the invariants holding.
func TestChurnSimulation(t *testing.T) {
	cfg := DefaultConfig()
	cfg.OrchBin, cfg.WorkDir, cfg.OutDir = orchBin, t.TempDir(), ""
	cfg.Servers, cfg.Nodes, cfg.Sessions, cfg.Jobs, cfg.Count = 1, 40, 2, 4, 50
	cfg.Churn, cfg.ChurnFor, cfg.Check = 4, 2*time.Second, true
	cfg.Timeout = 3 * time.Minute
	var log bytes.Buffer
	res, err := Run(context.Background(), cfg, func(format string, args ...any) {
		fmt.Fprintf(&log, format+"\n", args...)
	})
	if err != nil {
		t.Logf("progress:\n%s", log.String())
		b, _ := os.ReadFile(filepath.Join(cfg.WorkDir, "s1.log"))
		t.Logf("s1.log (tail):\n%s", tail(b, 8000))
		t.Fatal(err)
	}
	if len(res.Violations) > 0 {
		t.Fatalf("invariants broken after churn:\n%s", strings.Join(res.Violations, "\n"))
	}
	if n := figureValue(res, "churn_changes"); n < 2 {
		t.Errorf("churn_changes = %g, want at least an update and a stop", n)
	}
	if figureValue(res, "churn_settle_seconds") < 0 {
		t.Error("no churn_settle_seconds figure")
	}
}

// figureValue is the value of the named figure of res, -1 when missing.
func figureValue(res *Result, name string) float64 {
	for _, f := range res.Figures {
		if f.Name == name {
			return f.Value
		}
	}
	return -1
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// TestCheckStateFindsViolations: the invariant check reports an
// over-committed node, two allocations of one name running, an allocation
// the servers place elsewhere than where it was reported running, a job
// short of its count and an evaluation left pending.
func TestCheckStateFindsViolations(t *testing.T) {
	cfg := &Config{Jobs: 1, Count: 3}
	f := &fleet{ctx: context.Background()}
	small := newSimNode(f, 0, nil) // class small: 20,000 MHz
	other := newSimNode(f, 1, nil)
	job := simJob(0, 3).ID
	stub := func(id, node string, index int) *structs.AllocListStub {
		return &structs.AllocListStub{ID: id, NodeID: node, JobID: job, Name: structs.AllocName(job, "app", index),
			DesiredStatus: structs.AllocDesiredStatusRun, ClientStatus: structs.AllocClientStatusRunning}
	}
	obs := observed{
		nodes:     map[string]*simNode{small.node.ID: small, other.node.ID: other},
		runningOn: map[string]string{"a0": small.node.ID, "a1": small.node.ID, "a2": small.node.ID},
	}
	allocs := []*structs.AllocListStub{stub("a0", small.node.ID, 0), stub("a1", small.node.ID, 0), stub("a2", other.node.ID, 1)}
	// Fill the small node beyond its CPU with allocations still pending.
	for i := range small.class.cpuMHz/jobCPU + 1 {
		a := stub(fmt.Sprintf("p%d", i), small.node.ID, 100+i)
		a.ClientStatus = structs.AllocClientStatusPending
		allocs = append(allocs, a)
	}
	evals := []*structs.Evaluation{{ID: "e1", JobID: job, Status: structs.EvalStatusPending}}

	got := strings.Join(checkState(cfg, allocs, evals, obs), "\n")
	for _, want := range []string{
		"over-committed", "two allocations named", "allocation a2: running on node " + other.node.ID,
		"2 allocations running, want 3", "evaluation e1 of job " + job + " is pending",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("violations lack %q; got:\n%s", want, got)
		}
	}

	// And nothing is reported of a clean state.
	obs.runningOn = map[string]string{"a0": small.node.ID, "a1": small.node.ID, "a2": other.node.ID}
	clean := []*structs.AllocListStub{stub("a0", small.node.ID, 0), stub("a1", small.node.ID, 1), stub("a2", other.node.ID, 2)}
	evals[0].Status = structs.EvalStatusComplete
	if v := checkState(cfg, clean, evals, obs); len(v) > 0 {
		t.Fatalf("violations of a clean state: %v", v)
	}
}
