package server

import (
	"fmt"
	"testing"
	"time"

	"github.com/orch-io/orch/server/state"
	"github.com/orch-io/orch/structs"
)

// BenchmarkDeploymentWatcherPass measures one pass of the deployment
// watcher over 1,000 running deployments of 5 allocations each (3 healthy):
// the leader's CPU per state change that wakes it. At rest (nothing
// changes) the watcher sleeps on its watch and costs nothing.
func BenchmarkDeploymentWatcherPass(b *testing.B) {
	st := state.NewStateStore()
	now := time.Now()
	index := uint64(1)
	for i := range 1000 {
		job := deploymentJob(5, 2, 0, false)
		job.ID = fmt.Sprintf("job-%04d", i)
		job.Canonicalize()
		if err := st.UpsertJob(index, job); err != nil {
			b.Fatal(err)
		}
		index++
		job = st.JobByID("default", job.ID)
		d := structs.NewDeployment(fmt.Sprintf("dep-%04d", i), job, now)
		var allocs []*structs.Allocation
		for k := range 5 {
			a := &structs.Allocation{ID: fmt.Sprintf("alloc-%04d-%d", i, k), JobID: job.ID, Job: job, TaskGroup: "web",
				Name: structs.AllocName(job.ID, "web", k), NodeID: "n1", DeploymentID: d.ID,
				DesiredStatus: structs.AllocDesiredStatusRun, ClientStatus: structs.AllocClientStatusRunning}
			if k < 3 {
				h := true
				a.DeploymentStatus = &structs.AllocDeploymentStatus{Healthy: &h, Timestamp: now}
			}
			allocs = append(allocs, a)
		}
		w := st.Begin(index)
		if err := w.UpsertDeployment(d); err != nil {
			b.Fatal(err)
		}
		if err := w.UpsertPlanResults(job, allocs); err != nil {
			b.Fatal(err)
		}
		if err := w.Commit(); err != nil {
			b.Fatal(err)
		}
		index++
	}
	s := &Server{state: st, logger: testLogger()}
	evaluated := map[string]int{}
	snap := st.Snapshot()
	entry, _, _ := s.decideDeployments(snap, evaluated, now) // the first pass asks for an evaluation each
	if len(entry.Evals) != 1000 {
		b.Fatalf("first pass: %d evaluations, want 1000", len(entry.Evals))
	}
	b.ResetTimer()
	for range b.N {
		entry, _, _ := s.decideDeployments(st.Snapshot(), evaluated, now)
		if len(entry.Evals)+len(entry.StatusUpdates) != 0 {
			b.Fatal("steady state decided something")
		}
	}
	perPass := b.Elapsed() / time.Duration(b.N)
	b.ReportMetric(float64(perPass.Microseconds())/1000, "ms/pass")
	if b.N > 1 {
		fmt.Printf("FIGURE name=deployment_watcher_pass_1000 value=%.2f unit=ms\n", float64(perPass.Microseconds())/1000)
	}
}
