package scheduler

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/orch-io/orch/structs"
)

// rollout simulates a job's allocations through reconciler runs and
// deployment events, with no scheduler around it: each reconcile result is
// applied as if the plan committed whole. Health and promotion are set by the
// test, as the clients and the deployment watcher would.
type rollout struct {
	t      *testing.T
	job    *structs.Job
	allocs []*structs.Allocation
	deps   []*structs.Deployment // oldest first
	ids    int
	now    time.Time
	// tainted are the nodes lost since the last evaluation (of rolloutNodes,
	// where the allocations are placed in turn); lostRepl the allocations
	// placed to replace an allocation of a lost node.
	tainted  map[string]bool
	lostRepl map[string]bool
}

// rolloutNodes is how many nodes a rollout's allocations are spread over.
const rolloutNodes = 4

func newRollout(t *testing.T, count, maxParallel, canary int) *rollout {
	u := structs.DefaultUpdateStrategy()
	u.MaxParallel, u.Canary = maxParallel, canary
	job := &structs.Job{ID: "web", Namespace: "default", Type: structs.JobTypeService, CreateIndex: 1,
		TaskGroups: []*structs.TaskGroup{{Name: "web", Count: count, Update: u,
			Tasks: []*structs.Task{{Name: "t", Driver: "raw_exec", Config: map[string]any{"command": "v0"}}}}}}
	return &rollout{t: t, job: job, now: time.Unix(1_000_000, 0), tainted: map[string]bool{}, lostRepl: map[string]bool{}}
}

func (r *rollout) latest() *structs.Deployment {
	if len(r.deps) == 0 {
		return nil
	}
	return r.deps[len(r.deps)-1]
}

// newVersion registers a destructive change of the job.
func (r *rollout) newVersion() {
	j := r.job.Copy()
	j.Version++
	j.JobModifyIndex = j.Version + 1
	j.TaskGroups[0].Tasks[0].Config["command"] = fmt.Sprintf("v%d", j.Version)
	r.job = j
}

// eval runs the reconciler and applies its result.
func (r *rollout) eval() *reconcileResult {
	r.ids++
	// The names whose allocation is out of service because of a node loss:
	// on a lost node, or replacing one and not healthy yet. Whatever
	// replaces them is too.
	lostNames := map[string]bool{}
	for _, a := range r.allocs {
		if !a.TerminalStatus() && (r.tainted[a.NodeID] || r.lostRepl[a.ID] && !a.DeploymentStatus.IsHealthy()) {
			lostNames[a.Name] = true
		}
	}
	res := reconcile(reconcileInput{Job: r.job, Allocs: r.allocs, Deployment: r.latest(), TaintedNodes: r.tainted,
		DeploymentID: fmt.Sprintf("d%d", r.ids), Now: r.now})
	for _, u := range res.DeploymentUpdates {
		for _, d := range r.deps {
			if d.ID == u.DeploymentID {
				d.Status, d.StatusDescription = u.Status, u.StatusDescription
			}
		}
	}
	if res.Deployment != nil {
		r.deps = append(r.deps, res.Deployment.Copy())
	}
	for _, st := range res.Stop {
		r.replace(st.Alloc, func(a *structs.Allocation) {
			a.DesiredStatus, a.DesiredDescription = structs.AllocDesiredStatusStop, st.Description
			if st.Description == allocLost {
				a.ClientStatus = structs.AllocClientStatusLost
			}
		})
	}
	for _, a := range res.InPlace {
		r.replace(a, func(a *structs.Allocation) { a.Job = r.job })
	}
	for _, p := range res.Place {
		r.ids++
		node := fmt.Sprintf("n%d", r.ids%rolloutNodes)
		for i := 0; r.tainted[node] && i < rolloutNodes; i++ {
			node = fmt.Sprintf("n%d", (r.ids+i)%rolloutNodes)
		}
		if lostNames[p.Name] && !p.Canary {
			delete(lostNames, p.Name)
			r.lostRepl[fmt.Sprintf("a%d", r.ids)] = true
		}
		a := &structs.Allocation{ID: fmt.Sprintf("a%d", r.ids), Name: p.Name, JobID: r.job.ID, Job: r.job, NodeID: node,
			TaskGroup: p.TaskGroup.Name, DesiredStatus: structs.AllocDesiredStatusRun,
			ClientStatus: structs.AllocClientStatusRunning, DeploymentID: p.DeploymentID, DeploymentStatus: canaryStatus(p.Canary)}
		r.allocs = append(r.allocs, a)
		if p.StopPrevious != "" {
			r.replace(p.Previous, func(a *structs.Allocation) { a.DesiredStatus = structs.AllocDesiredStatusStop })
		}
	}
	clear(r.tainted) // the lost nodes come back, empty
	return res
}

// loseNode loses a node that runs live allocations (false when none does):
// the next evaluation sees it tainted.
func (r *rollout) loseNode(rng *rand.Rand) bool {
	var nodes []string
	for _, a := range r.allocs {
		if !a.TerminalStatus() && !slices.Contains(nodes, a.NodeID) {
			nodes = append(nodes, a.NodeID)
		}
	}
	if len(nodes) == 0 {
		return false
	}
	r.tainted[nodes[rng.IntN(len(nodes))]] = true
	return true
}

// clientStops has the clients stop what the servers stopped.
func (r *rollout) clientStops() {
	for i, a := range r.allocs {
		if a.ServerTerminal() && !a.ClientTerminal() {
			c := a.Copy()
			c.ClientStatus = structs.AllocClientStatusComplete
			r.allocs[i] = c
		}
	}
}

func (r *rollout) replace(old *structs.Allocation, change func(*structs.Allocation)) {
	for i, a := range r.allocs {
		if a.ID == old.ID {
			c := a.Copy()
			change(c)
			r.allocs[i] = c
			return
		}
	}
	r.t.Fatalf("the reconciler named an unknown allocation %s", old.ID)
}

// setHealth gives a live allocation of a deployment, with no health yet, a health.
func (r *rollout) setHealth(a *structs.Allocation, healthy bool) {
	r.replace(a, func(a *structs.Allocation) {
		ds := a.DeploymentStatus.Copy()
		if ds == nil {
			ds = &structs.AllocDeploymentStatus{}
		}
		ds.Healthy = &healthy
		a.DeploymentStatus = ds
	})
}

// awaitingHealth returns the live allocations of deployments with no health yet.
func (r *rollout) awaitingHealth() []*structs.Allocation {
	var out []*structs.Allocation
	for _, a := range r.allocs {
		if !a.TerminalStatus() && a.DeploymentID != "" && (a.DeploymentStatus == nil || a.DeploymentStatus.Healthy == nil) {
			out = append(out, a)
		}
	}
	return out
}

// canariesHealthy reports whether every canary of d is healthy.
func (r *rollout) canariesHealthy(d *structs.Deployment) bool {
	n := 0
	for _, a := range r.allocs {
		if a.DeploymentID == d.ID && a.DeploymentStatus.IsCanary() {
			if !a.DeploymentStatus.IsHealthy() {
				return false
			}
			n++
		}
	}
	return n >= d.TaskGroups["web"].DesiredCanaries
}

// counts returns, for the group: live allocations, live out of service (a
// deployment's, not healthy, and not a canary waiting for promotion), and
// live allocations running the current version and healthy (or placed
// outside deployments).
func (r *rollout) counts() (live, outOfService, current int) {
	live, outOfService, current, _ = r.countsWithLost()
	return live, outOfService, current
}

// countsWithLost is counts, and how many of the out of service allocations
// replace allocations of a lost node (a node loss, not the deployment, took
// them out of service).
func (r *rollout) countsWithLost() (live, outOfService, current, lostOutOfService int) {
	d := r.latest()
	for _, a := range r.allocs {
		if a.TerminalStatus() {
			continue
		}
		live++
		pendingCanary := d != nil && a.DeploymentID == d.ID && a.DeploymentStatus.IsCanary() && !d.TaskGroups["web"].Promoted
		if a.DeploymentID != "" && !a.DeploymentStatus.IsHealthy() && !pendingCanary {
			outOfService++
			if r.lostRepl[a.ID] {
				lostOutOfService++
			}
		}
		if a.Job.Version == r.job.Version && (a.DeploymentID == "" || a.DeploymentStatus.IsHealthy()) && !pendingCanary {
			current++
		}
	}
	return live, outOfService, current, lostOutOfService
}

// TestRollingNeverExceedsMaxParallel is the property of DESIGN invariant 6:
// for random sequences of health reports (mostly healthy, some not),
// promotions of healthy canaries, deployments failing, node losses and new
// versions, a job that starts fully in service never has more than
// max_parallel allocations out of service because of its deployments (the
// replacements of a lost node's allocations are out of service because of
// the loss: they are not limited, but limit the deployment's own updates),
// nor more than count + canary live.
func TestRollingNeverExceedsMaxParallel(t *testing.T) {
	for seed := range uint64(300) {
		rng := rand.New(rand.NewPCG(seed, 8))
		count, maxParallel := 1+rng.IntN(10), 1+rng.IntN(4)
		canary := 0
		if rng.IntN(2) == 0 {
			canary = rng.IntN(count + 1)
		}
		r := newRollout(t, count, maxParallel, canary)
		r.eval() // the first version: everything at once
		for _, a := range r.awaitingHealth() {
			r.setHealth(a, true)
		}
		var trace []string
		check := func(event string) {
			trace = append(trace, event)
			live, oos, _, lost := r.countsWithLost()
			if oos-lost > maxParallel || live > count+canary {
				t.Fatalf("seed %d (count %d, max_parallel %d, canary %d): %d out of service (%d of them replacing lost ones), %d live after:\n%s",
					seed, count, maxParallel, canary, oos, lost, live, strings.Join(trace, "\n"))
			}
		}
		for step := range 40 {
			switch k := rng.IntN(11); {
			case k < 6:
				if waiting := r.awaitingHealth(); len(waiting) > 0 {
					a := waiting[rng.IntN(len(waiting))]
					healthy := rng.IntN(10) > 0
					r.setHealth(a, healthy)
					check(fmt.Sprintf("%d: %s healthy=%v", step, a.Name, healthy))
				}
			case k < 7:
				if d := r.latest(); d != nil && d.Active() && d.RequiresPromotion() && r.canariesHealthy(d) {
					d.TaskGroups["web"].Promoted = true
					check(fmt.Sprintf("%d: promote %s", step, d.ID))
				}
			case k < 8:
				if d := r.latest(); d != nil && d.Active() && rng.IntN(3) == 0 {
					d.Status = structs.DeploymentStatusFailed
					check(fmt.Sprintf("%d: fail %s", step, d.ID))
				}
			case k < 9:
				r.clientStops()
				check(fmt.Sprintf("%d: clients stop", step))
			case k < 10:
				r.newVersion()
				check(fmt.Sprintf("%d: version %d", step, r.job.Version))
			default:
				if r.loseNode(rng) {
					check(fmt.Sprintf("%d: nodes lost %v", step, r.tainted))
				}
			}
			res := r.eval()
			check(fmt.Sprintf("%d: eval: %d placed, %d stopped, %d ignored, deployment %v; allocs %s", step, len(res.Place), len(res.Stop), len(res.Ignore), res.Deployment != nil, r.describe()))
		}
	}
}

// describe lists the live allocations: name, version, deployment, health.
func (r *rollout) describe() string {
	var b strings.Builder
	for _, a := range r.allocs {
		if a.TerminalStatus() {
			continue
		}
		h := "?"
		if a.DeploymentStatus.IsHealthy() {
			h = "+"
		} else if a.DeploymentStatus.IsUnhealthy() {
			h = "-"
		}
		if a.DeploymentStatus.IsCanary() {
			h += "c"
		}
		fmt.Fprintf(&b, " %s/v%d/%s%s", strings.TrimPrefix(a.Name, "web.web"), a.Job.Version, a.DeploymentID, h)
	}
	return b.String()
}

// TestRollingScenario: count 10, max_parallel 3, every allocation healthy in
// turn: the update goes in batches of 3, 3, 3, 1, and ends with every
// allocation on the new version.
func TestRollingScenario(t *testing.T) {
	r := newRollout(t, 10, 3, 0)
	first := r.eval()
	if len(first.Place) != 10 || first.Deployment == nil {
		t.Fatalf("first run: %d placed, deployment %v; want 10 at once under a deployment", len(first.Place), first.Deployment)
	}
	for _, a := range r.awaitingHealth() {
		r.setHealth(a, true)
	}
	r.latest().Status = structs.DeploymentStatusSuccessful

	r.newVersion()
	var batches []int
	for range 10 {
		res := r.eval()
		if len(res.Place) == 0 {
			break
		}
		batches = append(batches, len(res.Place))
		if d := r.latest(); d.JobVersion != r.job.Version || res.DeploymentUpdates != nil {
			t.Fatalf("deployment %+v, updates %v", d, res.DeploymentUpdates)
		}
		for _, a := range r.awaitingHealth() {
			r.setHealth(a, true)
		}
	}
	if got := fmt.Sprint(batches); got != "[3 3 3 1]" {
		t.Fatalf("batches %s, want [3 3 3 1]", got)
	}
	if live, oos, current := r.counts(); live != 10 || oos != 0 || current != 10 {
		t.Fatalf("after the rollout: %d live, %d out of service, %d current; want 10, 0, 10", live, oos, current)
	}
}

// TestCanaryScenario: canary 2 of 5: two canaries beside the five old
// allocations, nothing else until promotion; after it, the canaries take
// over two names and the rest rolls 2 at a time.
func TestCanaryScenario(t *testing.T) {
	r := newRollout(t, 5, 2, 2)
	r.eval()
	for _, a := range r.awaitingHealth() {
		r.setHealth(a, true)
	}
	r.newVersion()
	res := r.eval()
	if len(res.Place) != 2 || !res.Place[0].Canary || len(res.Stop) != 0 || res.Deployment.TaskGroups["web"].DesiredCanaries != 2 {
		t.Fatalf("canary phase: %d placed (canary %v), %d stopped, deployment %+v", len(res.Place), res.Place[0].Canary, len(res.Stop), res.Deployment)
	}
	if res.Deployment.StatusDescription != structs.DeploymentDescRunningNeedsPromotion {
		t.Errorf("description %q", res.Deployment.StatusDescription)
	}
	if live, _, _ := r.counts(); live != 7 {
		t.Fatalf("%d live, want 5 old + 2 canaries", live)
	}
	if again := r.eval(); len(again.Place)+len(again.Stop) != 0 {
		t.Fatalf("before promotion the reconciler changed %d, %d", len(again.Place), len(again.Stop))
	}
	for _, a := range r.awaitingHealth() {
		r.setHealth(a, true)
	}
	r.latest().TaskGroups["web"].Promoted = true
	res = r.eval()
	if len(res.Stop) != 2 || len(res.Place) != 2 {
		t.Fatalf("after promotion: %d stopped (the replaced), %d placed; want 2 and 2", len(res.Stop), len(res.Place))
	}
	for range 5 {
		for _, a := range r.awaitingHealth() {
			r.setHealth(a, true)
		}
		r.eval()
	}
	if live, oos, current := r.counts(); live != 5 || oos != 0 || current != 5 {
		t.Fatalf("after the rollout: %d live, %d out of service, %d current; want 5, 0, 5", live, oos, current)
	}
}

// TestBlueGreenScenario: canary = count places the full new set beside the
// old; promotion stops the old set, max_parallel at a time.
func TestBlueGreenScenario(t *testing.T) {
	r := newRollout(t, 3, 1, 3)
	r.eval()
	for _, a := range r.awaitingHealth() {
		r.setHealth(a, true)
	}
	r.newVersion()
	if res := r.eval(); len(res.Place) != 3 || len(res.Stop) != 0 {
		t.Fatalf("green set: %d placed, %d stopped", len(res.Place), len(res.Stop))
	}
	for _, a := range r.awaitingHealth() {
		r.setHealth(a, true)
	}
	r.latest().TaskGroups["web"].Promoted = true
	// The blue set stops at the pace of max_parallel (1): one more only once
	// the client stopped the previous one.
	for i := range 3 {
		if res := r.eval(); len(res.Stop) != 1 || len(res.Place) != 0 {
			t.Fatalf("promotion, round %d: %d stopped, %d placed; want 1 blue stopped", i, len(res.Stop), len(res.Place))
		}
		if res := r.eval(); len(res.Stop) != 0 {
			t.Fatalf("promotion, round %d: %d stopped before the client stopped the previous one", i, len(res.Stop))
		}
		r.clientStops()
	}
	if live, oos, current := r.counts(); live != 3 || oos != 0 || current != 3 {
		t.Fatalf("after promotion: %d live, %d out of service, %d current", live, oos, current)
	}
}

// TestNewVersionCancelsRunningDeployment: a version registered during a
// deployment cancels it; a stopped job cancels its own.
func TestNewVersionCancelsRunningDeployment(t *testing.T) {
	r := newRollout(t, 4, 1, 0)
	r.eval()
	first := r.latest()
	r.newVersion()
	res := r.eval()
	if len(res.DeploymentUpdates) != 1 || res.DeploymentUpdates[0].DeploymentID != first.ID ||
		res.DeploymentUpdates[0].StatusDescription != structs.DeploymentDescNewerJob {
		t.Fatalf("updates %+v, want %s cancelled as superseded", res.DeploymentUpdates, first.ID)
	}
	// The first version's allocations never became healthy: replacing them
	// takes nothing more out of service, so all four are replaced at once.
	if len(res.Place) != 4 {
		t.Fatalf("%d placed, want the 4 unhealthy ones replaced", len(res.Place))
	}
	r.job.Stop = true
	res = r.eval()
	if len(res.DeploymentUpdates) != 1 || res.DeploymentUpdates[0].StatusDescription != structs.DeploymentDescStoppedJob {
		t.Fatalf("stopping the job: updates %+v", res.DeploymentUpdates)
	}
}
