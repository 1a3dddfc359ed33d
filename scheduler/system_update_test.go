package scheduler

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/orch-io/orch/structs"
)

// TestSystemRollingNeverExceedsMaxParallel is invariant 6 for system jobs:
// for random sequences of health reports, new versions and nodes joining,
// never more than max_parallel allocations of the group are out of service
// (placed by a deployment in place of another, not healthy yet), and once every allocation turns
// healthy the deployment of the latest version succeeds.
func TestSystemRollingNeverExceedsMaxParallel(t *testing.T) {
	for seed := range uint64(30) {
		rng := rand.New(rand.NewPCG(seed, 9))
		nodes, maxParallel := 1+rng.IntN(8), 1+rng.IntN(3)
		sc := &scenario{h: newHarness(t), jobs: map[string]*structs.Job{}, evaluated: map[string]int{}}
		h := sc.h
		for i := range nodes {
			h.upsertNodes(mockNode(fmt.Sprintf("n%d", i)).Build())
		}
		job := mockJob().Build()
		job.Type = structs.JobTypeSystem
		job.TaskGroups[0].Update = &structs.UpdateStrategy{MaxParallel: maxParallel, HealthCheck: structs.UpdateHealthCheckTaskStates,
			MinHealthyTime: structs.DefaultUpdateMinHealthyTime, HealthyDeadline: structs.DefaultUpdateHealthyDeadline}
		h.run(job)
		var trace []string
		fail := func(format string, a ...any) { t.Fatalf("seed %d: "+format, append([]any{seed}, a...)...) }
		check := func(event string) {
			trace = append(trace, event)
			// A node is out of service when its allocation is a deployment's,
			// not healthy, and one of those it replaced was in service (on
			// a node that joined, none was).
			snap := h.store.Snapshot()
			inService := func(a *structs.Allocation) bool { return a.DeploymentID == "" || a.DeploymentStatus.IsHealthy() }
			oos := 0
			for _, a := range h.live("job") {
				if inService(a) {
					continue
				}
				for p := snap.AllocByID(a.PreviousAllocation); p != nil; p = snap.AllocByID(p.PreviousAllocation) {
					if inService(p) {
						oos++
						break
					}
				}
			}
			// The first version places on every node at once: only later
			// versions are bounded.
			if d := h.store.Snapshot().LatestDeploymentByJobID("default", "job"); d != nil && d.JobVersion > 0 && oos > maxParallel {
				t.Fatalf("seed %d (%d nodes, max_parallel %d): %d out of service after:\n%s",
					seed, nodes, maxParallel, oos, strings.Join(trace, "\n"))
			}
		}
		sc.health("job", []string{"all"}, "healthy", fail)
		sc.watch("job", fail)
		for step := range 30 {
			switch k := rng.IntN(10); {
			case k < 6:
				verdict := "healthy"
				if rng.IntN(8) == 0 {
					verdict = "unhealthy"
				}
				check(fmt.Sprintf("%d: health %s: %s", step, verdict, sc.health("job", []string{"all"}, verdict, fail)))
			case k < 7:
				h.upsertNodes(mockNode(fmt.Sprintf("n%d", nodes)).Build())
				nodes++
				check(fmt.Sprintf("%d: node joins", step))
			default:
				cur := h.store.JobByID("default", "job").Copy()
				cur.TaskGroups[0].Tasks[0].Config["command"] = fmt.Sprintf("/bin/v%d", step)
				check(fmt.Sprintf("%d: version: %s", step, sc.evaluateJob(cur)))
			}
			check(fmt.Sprintf("%d: watch: %s", step, sc.watch("job", fail)))
		}
		// A last version, then every allocation turns healthy: it ends successful.
		cur := h.store.JobByID("default", "job").Copy()
		cur.TaskGroups[0].Tasks[0].Config["command"] = "/bin/last"
		check("last version: " + sc.evaluateJob(cur))
		for range 2*nodes + 2 {
			sc.health("job", []string{"all"}, "healthy", fail)
			check("watch: " + sc.watch("job", fail))
		}
		d := h.store.Snapshot().LatestDeploymentByJobID("default", "job")
		if d.Status != structs.DeploymentStatusSuccessful {
			t.Fatalf("seed %d: deployment %s: %s after:\n%s", seed, d.Status, d.StatusDescription, strings.Join(trace, "\n"))
		}
	}
}

// evaluateJob registers job and processes its evaluation.
func (sc *scenario) evaluateJob(job *structs.Job) string {
	sc.h.upsertJob(job)
	return sc.evaluate(job.ID, structs.EvalTriggerJobRegister)
}
