package scheduler

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/orch-io/orch/server/state"
	"github.com/orch-io/orch/structs"
)

// The real state store's snapshot is what the server hands the scheduler.
var _ State = (*state.Snapshot)(nil)

// testNow is the time every test scheduler runs at.
var testNow = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

// harness is an in-memory server for the scheduler: a real state store, and a
// Planner that applies plans to it at increasing Raft indexes, the way the
// plan applier and the FSM would, recording every plan and evaluation.
type harness struct {
	t     testing.TB
	store *state.StateStore
	index uint64
	seed  uint64

	plans   []*structs.Plan
	results []*structs.PlanResult
	updated []*structs.Evaluation // UpdateEval calls
	created []*structs.Evaluation // CreateEval calls

	// reject, when set, is asked for each submitted plan which nodes the
	// applier refuses; their part of the plan is not committed and the result
	// asks for a refresh.
	reject func(plan *structs.Plan) map[string]bool
	// noCommit makes SubmitPlan accept everything and commit nothing, as
	// `job plan` does.
	noCommit bool
	// now is the time the schedulers run at; testNow unless a test moves it.
	now time.Time
}

var _ Planner = (*harness)(nil)

func newHarness(t testing.TB) *harness {
	return &harness{t: t, store: state.NewStateStore(), seed: 1, now: testNow}
}

func (h *harness) nextIndex() uint64 {
	h.index++
	return h.index
}

// upsertNodes registers nodes as the server does: with their computed class.
func (h *harness) upsertNodes(nodes ...*structs.Node) {
	h.t.Helper()
	for _, n := range nodes {
		n = n.Copy()
		n.ComputeClass()
		must(h.t, h.store.UpsertNode(h.nextIndex(), n))
	}
}

func (h *harness) upsertJob(job *structs.Job) *structs.Job {
	h.t.Helper()
	must(h.t, h.store.UpsertJob(h.nextIndex(), job))
	return h.store.JobByID("default", job.ID)
}

func (h *harness) setNodeStatus(nodeID string, status structs.NodeStatus) {
	h.t.Helper()
	must(h.t, h.store.UpdateNodeStatus(h.nextIndex(), nodeID, status, 0))
}

// setClientStatus records what a client reports of an allocation.
func (h *harness) setClientStatus(allocID string, status structs.AllocClientStatus) {
	h.t.Helper()
	a := h.store.AllocByID(allocID).Copy()
	a.ClientStatus = status
	must(h.t, h.store.UpdateAllocsFromClient(h.nextIndex(), []*structs.Allocation{a}))
}

// newEval builds (and stores) a pending evaluation for job.
func (h *harness) newEval(job *structs.Job, trigger string) *structs.Evaluation {
	h.t.Helper()
	e := &structs.Evaluation{
		ID: fmt.Sprintf("eval-%d", h.index+1), Namespace: structs.DefaultNamespace, Priority: job.Priority,
		Type: job.Type, TriggeredBy: trigger, JobID: job.ID, JobModifyIndex: job.JobModifyIndex,
		Status: structs.EvalStatusPending,
	}
	must(h.t, h.store.UpsertEvals(h.nextIndex(), []*structs.Evaluation{e.Copy()}))
	return e
}

// process runs a scheduler of jobType on a fresh snapshot.
func (h *harness) process(jobType structs.JobType, eval *structs.Evaluation) {
	h.t.Helper()
	if err := h.tryProcess(jobType, eval); err != nil {
		h.t.Fatalf("Process: %v", err)
	}
}

func (h *harness) tryProcess(jobType structs.JobType, eval *structs.Evaluation) error {
	s, err := New(jobType, Config{
		State: h.store.Snapshot(), Planner: h, Now: h.now, Rand: evalRand(h.seed, eval.ID),
	})
	if err != nil {
		h.t.Fatalf("New: %v", err)
	}
	return s.Process(eval)
}

// evalRand is a random source seeded from seed and the evaluation: a fresh
// sequence for every evaluation (IDs are drawn from it), the same one every
// time the same evaluation is processed with the same seed.
func evalRand(seed uint64, evalID string) *rand.Rand {
	f := fnv.New64a()
	f.Write([]byte(evalID))
	return rand.New(rand.NewPCG(seed, f.Sum64()))
}

// run registers job (again) and processes a register evaluation for it.
func (h *harness) run(job *structs.Job) *structs.Job {
	h.t.Helper()
	stored := h.upsertJob(job)
	h.process(stored.Type, h.newEval(stored, structs.EvalTriggerJobRegister))
	return stored
}

// SubmitPlan implements Planner: it commits the plan (less the nodes reject
// names) to the store at the next index and checks that no node it touched is
// over-committed.
func (h *harness) SubmitPlan(plan *structs.Plan) (*structs.PlanResult, State, error) {
	h.plans = append(h.plans, plan)
	var rejected map[string]bool
	if h.reject != nil {
		rejected = h.reject(plan)
	}
	result := &structs.PlanResult{NodeUpdate: map[string][]*structs.Allocation{}, NodeAllocation: map[string][]*structs.Allocation{}}
	h.results = append(h.results, result)
	var commit []*structs.Allocation
	take := func(into map[string][]*structs.Allocation, from map[string][]*structs.Allocation) {
		for node, allocs := range from {
			if rejected[node] {
				continue
			}
			into[node] = allocs
			for _, a := range allocs {
				commit = append(commit, a.Copy())
			}
		}
	}
	take(result.NodeUpdate, plan.NodeUpdate)
	if len(plan.NodePreemptions) > 0 {
		result.NodePreemptions = map[string][]*structs.Allocation{}
		take(result.NodePreemptions, plan.NodePreemptions)
	}
	take(result.NodeAllocation, plan.NodeAllocation)
	if h.noCommit {
		return result, nil, nil
	}
	result.AllocIndex = h.nextIndex()
	if len(commit) > 0 || plan.Deployment != nil || len(plan.DeploymentUpdates) > 0 {
		// As the FSM applies a plan: its deployment, its allocations, then
		// the deployments it cancels, in one transaction.
		w := h.store.Begin(result.AllocIndex)
		if plan.Deployment != nil {
			must(h.t, w.UpsertDeployment(plan.Deployment))
		}
		must(h.t, w.UpsertPlanResults(plan.Job, commit))
		for _, u := range plan.DeploymentUpdates {
			must(h.t, w.UpdateDeploymentStatus(u, 0))
		}
		must(h.t, w.Commit())
	}
	h.checkNotOverCommitted()
	if len(rejected) > 0 {
		result.RefreshIndex = result.AllocIndex
		return result, h.store.Snapshot(), nil
	}
	return result, nil, nil
}

// setSchedulerConfig stores the cluster's scheduler configuration.
func (h *harness) setSchedulerConfig(cfg *structs.SchedulerConfiguration) {
	h.t.Helper()
	if _, err := h.store.UpsertSchedulerConfig(h.nextIndex(), cfg, false); err != nil {
		h.t.Fatal(err)
	}
}

// UpdateEval implements Planner.
func (h *harness) UpdateEval(eval *structs.Evaluation) error {
	h.updated = append(h.updated, eval)
	return h.store.UpsertEvals(h.nextIndex(), []*structs.Evaluation{eval.Copy()})
}

// CreateEval implements Planner.
func (h *harness) CreateEval(eval *structs.Evaluation) error {
	h.created = append(h.created, eval)
	return h.store.UpsertEvals(h.nextIndex(), []*structs.Evaluation{eval.Copy()})
}

// checkNotOverCommitted checks invariant 2 on every node: committed allocations fit.
func (h *harness) checkNotOverCommitted() {
	h.t.Helper()
	snap := h.store.Snapshot()
	for _, n := range snap.Nodes("") {
		if fit, dim, used := structs.AllocsFit(n, snap.AllocsByNode(n.ID)); !fit {
			h.t.Errorf("node %s over-committed in %s: uses %+v of %+v", n.Name, dim, used, n.Comparable())
		}
	}
}

// lastPlan returns the last plan submitted.
func (h *harness) lastPlan() *structs.Plan {
	h.t.Helper()
	if len(h.plans) == 0 {
		h.t.Fatal("no plan was submitted")
	}
	return h.plans[len(h.plans)-1]
}

// lastEval returns the last evaluation update.
func (h *harness) lastEval() *structs.Evaluation {
	h.t.Helper()
	if len(h.updated) == 0 {
		h.t.Fatal("no evaluation was updated")
	}
	return h.updated[len(h.updated)-1]
}

// running returns the job's allocations that are not terminal, by name.
func (h *harness) running(jobID string) map[string]*structs.Allocation {
	out := map[string]*structs.Allocation{}
	for _, a := range h.store.Snapshot().AllocsByJob("default", jobID) {
		if !a.TerminalStatus() {
			if prev, dup := out[a.Name]; dup {
				h.t.Errorf("two live allocations named %s: %s and %s", a.Name, prev.ID, a.ID)
			}
			out[a.Name] = a
		}
	}
	return out
}

// live returns the job's allocations that are not terminal; a system job's
// share their name, one per node.
func (h *harness) live(jobID string) []*structs.Allocation {
	var out []*structs.Allocation
	for _, a := range h.store.Snapshot().AllocsByJob("default", jobID) {
		if !a.TerminalStatus() {
			out = append(out, a)
		}
	}
	return out
}

// liveAlloc finds a live allocation by "job.group[i]", or by
// "job.group[i]@node" among the same-named allocations of a system job.
func (h *harness) liveAlloc(ref string) *structs.Allocation {
	name, node, _ := strings.Cut(ref, "@")
	jobID := strings.SplitN(name, ".", 2)[0]
	for _, a := range h.live(jobID) {
		if a.Name == name && (node == "" || a.NodeName == node) {
			return a
		}
	}
	return nil
}

// perNode counts the job's live allocations per node name.
func (h *harness) perNode(jobID string) map[string]int {
	out := map[string]int{}
	for _, a := range h.running(jobID) {
		out[a.NodeName]++
	}
	return out
}

func planAllocs(m map[string][]*structs.Allocation) []*structs.Allocation {
	var out []*structs.Allocation
	for _, allocs := range m {
		out = append(out, allocs...)
	}
	return out
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
